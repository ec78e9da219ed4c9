"""Base-pair selection on a hand-made calendar (utilities worked out in the comments)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from agrifactory.errors import InputError
from agrifactory.quality.config import PairSettings
from agrifactory.quality.pairs import (
    PAIR_COLUMNS,
    nearest_clear_pairs,
    read_pairs_table,
    select_pairs,
    target_dates,
    write_pairs_table,
)

D = dt.date


def calendar() -> pd.DataFrame:
    """Six scenes of 2021: name, date, score, QA cloud cover, valid share."""
    rows = [
        ("A", D(2021, 3, 1), 0.90, 0.05, 1.0),
        ("B", D(2021, 3, 17), 0.40, 0.10, 1.0),
        ("C", D(2021, 3, 25), 0.00, np.nan, 0.0),  # fully filled
        ("D", D(2021, 4, 2), 0.85, 0.15, 1.0),
        ("E", D(2021, 4, 18), 0.20, 0.00, 1.0),  # QA says clear, score low (haze)
        ("F", D(2021, 5, 4), 0.70, 0.10, 1.0),
    ]
    return pd.DataFrame(rows, columns=["name", "date", "score", "qa_cloud_cover", "valid_fraction"])


def pick(table: pd.DataFrame, target: dt.date) -> tuple[object, object, str, str]:
    row = table.set_index("target_date").loc[target]
    return row.pair1_date, row.pair2_date, row.status, row.reason


def test_target_dates():
    t = target_dates(2021)
    assert len(t) == 46
    assert t[0] == D(2021, 1, 1) and t[1] == D(2021, 1, 9)
    assert t[-1] == D(2021, 12, 27)  # DOY 361
    assert target_dates(2020)[-1].timetuple().tm_yday == 361


def test_score_beats_a_slightly_nearer_scene():
    # Target 03-20, tau 32. Before: A u = 0.9 exp(-19/32) = 0.497, B u = 0.4 exp(-3/32) = 0.364;
    # C scores 0. After: D u = 0.85 exp(-13/32) = 0.566, F u = 0.7 exp(-45/32) = 0.172.
    table = select_pairs(calendar(), [D(2021, 3, 20)])
    assert list(table.columns) == PAIR_COLUMNS
    row = table.iloc[0]
    assert (row.pair1_date, row.pair2_date, row.status) == (D(2021, 3, 1), D(2021, 4, 2), "ok")
    assert (row.pair1_gap_days, row.pair2_gap_days) == (-19, 13)
    assert (row.pair1_score, row.pair2_score) == (0.90, 0.85)
    assert row.reason == "" and row.method == "quality"


def test_a_scene_on_the_target_can_lose_to_better_ones():
    # Target 03-17 is B's date. (A, D): 0.9 e^-0.5 * 0.85 e^-0.5 = 0.281 beats (A, B) = 0.218
    # and (B, D) = 0.4 * 0.516 = 0.206.
    p1, p2, status, _ = pick(select_pairs(calendar(), [D(2021, 3, 17)]), D(2021, 3, 17))
    assert (p1, p2, status) == (D(2021, 3, 1), D(2021, 4, 2), "ok")


def test_a_shorter_tau_prefers_nearer_scenes():
    # tau 4: A u = 0.9 exp(-19/4) = 0.0078 < B u = 0.4 exp(-3/4) = 0.189.
    table = select_pairs(calendar(), [D(2021, 3, 20)], config=PairSettings(tau_days=4))
    assert table.iloc[0].pair1_date == D(2021, 3, 17)


def test_low_scores_and_filled_scenes_are_never_chosen():
    # Target 04-10. After: E (score 0.2 < 0.3) is skipped for F.
    p1, p2, status, _ = pick(select_pairs(calendar(), [D(2021, 4, 10)]), D(2021, 4, 10))
    assert (p1, p2, status) == (D(2021, 4, 2), D(2021, 5, 4), "ok")
    # Even with min_quality 0 the fully filled C (score 0), nearest to 03-26, is not chosen.
    table = select_pairs(calendar(), [D(2021, 3, 26)], config=PairSettings(min_quality=0.0))
    assert D(2021, 3, 25) not in (table.iloc[0].pair1_date, table.iloc[0].pair2_date)


def test_missing_sides_and_their_reasons():
    targets = [D(2021, 6, 1), D(2021, 1, 1), D(2020, 10, 1)]
    table = select_pairs(calendar(), targets)
    p1, p2, status, reason = pick(table, D(2021, 6, 1))
    assert (p1, p2, status) == (D(2021, 5, 4), None, "missing_after")
    assert reason == "no scene on or after the target"
    p1, p2, status, reason = pick(table, D(2021, 1, 1))
    # After: A u = 0.9 exp(-59/32) is best; F is 123 days away (> 96).
    assert (p1, p2, status) == (None, D(2021, 3, 1), "missing_before")
    assert reason == "no scene on or before the target"
    _, _, status, reason = pick(table, D(2020, 10, 1))
    assert status == "missing_both"
    assert reason == (
        "no scene on or before the target; no scene within 96 days on or after "
        "the target (nearest 151 days away)"
    )
    assert np.isnan(table.iloc[2].pair1_score) and np.isnan(table.iloc[2].pair1_gap_days)


def test_all_below_min_quality():
    scores = pd.DataFrame({"date": [D(2021, 7, 1), D(2021, 7, 20)], "score": [0.1, 0.25]})
    _, _, status, reason = pick(select_pairs(scores, [D(2021, 7, 10)]), D(2021, 7, 10))
    assert status == "missing_both"
    assert reason == (
        "all 1 scene(s) on or before the target within 96 days have quality below 0.30 "
        "(best 0.10 on 2021-07-01); all 1 scene(s) on or after the target within 96 days "
        "have quality below 0.30 (best 0.25 on 2021-07-20)"
    )


def test_single_scene_on_the_target_is_not_both_pairs():
    scores = pd.DataFrame({"date": [D(2021, 8, 1)], "score": [0.8]})
    p1, p2, status, reason = pick(select_pairs(scores, [D(2021, 8, 1)]), D(2021, 8, 1))
    assert (p1, p2, status) == (D(2021, 8, 1), None, "missing_after")
    assert "already pair 1" in reason


def test_modis_availability():
    modis = [d for d in calendar().date if d != D(2021, 4, 2)]  # no MODIS on D's date
    p1, p2, _, _ = pick(select_pairs(calendar(), [D(2021, 3, 20)], modis), D(2021, 3, 20))
    assert (p1, p2) == (D(2021, 3, 1), D(2021, 5, 4))
    # MODIS one day after D is close enough with modis_max_offset_days = 1.
    cfg = PairSettings(modis_max_offset_days=1)
    p1, p2, _, _ = pick(
        select_pairs(calendar(), [D(2021, 3, 20)], modis + [D(2021, 4, 3)], cfg), D(2021, 3, 20)
    )
    assert p2 == D(2021, 4, 2)
    _, _, status, reason = pick(select_pairs(calendar(), [D(2021, 3, 20)], []), D(2021, 3, 20))
    assert status == "missing_both" and "has a MODIS date within 0 days" in reason


def test_nearest_clear_baseline():
    table = nearest_clear_pairs(calendar(), [D(2021, 3, 20), D(2021, 4, 10)])
    assert (table.method == "nearest_clear").all()
    # 03-20: nearest QA-clear before is B (03-17), after is D (04-02).
    assert (table.iloc[0].pair1_date, table.iloc[0].pair2_date) == (D(2021, 3, 17), D(2021, 4, 2))
    # 04-10: the baseline takes E (QA clear, but score 0.2) where the selector takes F.
    assert (table.iloc[1].pair1_date, table.iloc[1].pair2_date) == (D(2021, 4, 2), D(2021, 4, 18))
    strict = nearest_clear_pairs(
        calendar(), [D(2021, 3, 20)], config=PairSettings(clear_max_cloud=0.01)
    )
    # Only E (cover 0.00) passes a 0.01 threshold: it is after the target.
    assert strict.iloc[0].status == "missing_before"
    assert strict.iloc[0].pair2_date == D(2021, 4, 18)
    assert strict.iloc[0].reason == (
        "no scene on or before the target within 96 days has QA cloud cover <= 0.01 and "
        "valid share >= 0.50"
    )


def test_year_targets_and_table_roundtrip(tmp_path):
    table = select_pairs(calendar(), 2021)
    assert len(table) == 46
    assert set(table.status) <= {"ok", "missing_before", "missing_after", "missing_both"}
    for name in ("p.csv", "p.parquet"):
        write_pairs_table(table, tmp_path / name)
        back = read_pairs_table(tmp_path / name)
        assert back.target_date.tolist() == table.target_date.tolist()
        assert back.pair1_date.tolist() == table.pair1_date.tolist()
        assert back.pair2_date.tolist() == table.pair2_date.tolist()
        assert back.reason.tolist() == table.reason.tolist()


def test_bad_tables():
    with pytest.raises(InputError, match="lacks column"):
        select_pairs(pd.DataFrame({"date": []}), 2021)
    with pytest.raises(InputError, match="qa_cloud_cover"):
        nearest_clear_pairs(pd.DataFrame({"date": [], "score": []}), 2021)


def test_season_weight_ranks_but_does_not_rule_out_the_off_season():
    # Two January scenes of good quality but half season weight (score 0.25 < 0.3).
    scores = pd.DataFrame(
        {"date": [D(2021, 1, 5), D(2021, 1, 21)], "quality": [0.6, 0.5], "score": [0.3, 0.25]}
    )
    d1, d2, status, _ = pick(select_pairs(scores, [D(2021, 1, 9)]), D(2021, 1, 9))
    assert status == "ok" and (d1, d2) == (D(2021, 1, 5), D(2021, 1, 21))
