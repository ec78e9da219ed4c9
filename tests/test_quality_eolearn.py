"""Real data: scene scores on 68 Sentinel-2 dates of the eo-learn patch against its cloud mask.

The scores use NDVI and IS_DATA only; CLM is the truth. Figures measured on
2026-11-21 (docs/quality.md): rule-based score Spearman -0.846 with the CLM cloudy
share; 98.4 % of (clear, cloudy) date pairs ordered correctly; with a tiny learned
scorer (seed 1, about 3 s on one thread) -0.882.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import torch

from agrifactory.errors import InputError
from agrifactory.quality.agreement import rank_agreement
from agrifactory.quality.config import ScorerSettings
from agrifactory.quality.eopatch import check_eopatch, disagreement_quicklook, read_eopatch
from agrifactory.quality.scorer import extract_patches, scene_scorer, train_scorer

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def patch(shared_data):
    return read_eopatch(shared_data / "eolearn_patch")


@pytest.fixture(scope="module")
def rule(patch):
    return check_eopatch(patch)


def test_patch_is_read(patch):
    assert len(patch.dates) == 68
    assert patch.ndvi.shape == (68, 101, 100) and patch.clm.shape == patch.ndvi.shape
    assert patch.dates[0] == dt.date(2015, 7, 11)


def test_score_ranks_cloudy_dates_below_clear_ones(rule):
    t = rule.table
    # Pinned: measured -0.8462 (Spearman of score with CLM's cloudy share, 68 dates).
    assert rule.spearman == pytest.approx(-0.8462, abs=0.01)
    assert rule.spearman < -0.8
    clear = t.cloud_fraction == 0
    cloudy = t.cloud_fraction >= 0.9
    assert clear.sum() == 29 and cloudy.sum() == 21
    ordered = np.mean([a > b for a in t.score[clear] for b in t.score[cloudy]])
    assert ordered > 0.97  # measured 0.984
    assert t.score[clear].mean() > 0.55 > 0.2 > t.score[cloudy].mean()  # 0.590 vs 0.144


def test_most_disagreeing_dates(rule, tmp_path, patch):
    worst = rule.disagreements
    # 2016-02-06: sharp winter date with patchy low-NDVI blobs that CLM calls 10 % cloudy;
    # 2016-06-15: CLM calls 92 % cloudy, the NDVI keeps field texture over part of it;
    # 2017-07-20: clear summer date, scored low because summer NDVI has less contrast
    # than the bare winter fields that set the sharpness reference.
    assert [str(d) for d in worst.date[:3]] == ["2016-02-06", "2016-06-15", "2017-07-20"]
    assert worst.rank_gap.iloc[0] > 0 > worst.rank_gap.iloc[2]
    png = disagreement_quicklook(patch, [("rules", rule)], tmp_path / "worst.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_a_tiny_learned_scorer_agrees_too(patch, rule, one_thread):
    # Training patches from the 12 best dates by the rule-based score: no CLM involved.
    top = np.argsort(-rule.table.score.to_numpy(), kind="stable")[:12]
    chunks = [extract_patches(patch.ndvi[i], patch.is_data[i], 32, stride=8) for i in top]
    groups = np.repeat(np.arange(12), [len(c) for c in chunks])
    cfg = ScorerSettings(width=8, epochs=3, samples_per_epoch=768, batch_size=32)
    model, _ = train_scorer(np.concatenate(chunks), cfg, groups=groups, seed=1)
    combined = check_eopatch(patch, scorer=scene_scorer(model))
    learned = rank_agreement(combined.table.learned_score, combined.table.cloud_fraction)
    assert learned < -0.75  # measured -0.861
    assert combined.spearman < rule.spearman  # measured -0.882


def test_missing_eopatch_file_is_named(tmp_path):
    (tmp_path / "timestamps.json").write_text('["2020-01-01T10:00:00"]')
    with pytest.raises(InputError, match="NDVI.npy: file not found"):
        read_eopatch(tmp_path)
