"""The learned scorer: degradations, a tiny training that beats chance, save/load, scene scoring."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _quality_scenes import clear_scenes, dates, landscape, reflectance

from agrifactory.errors import ConfigError, DataError, InputError
from agrifactory.quality.config import ScorerSettings
from agrifactory.quality.degrade import (
    KINDS,
    NDVI_PROFILE,
    REFLECTANCE_PROFILE,
    degrade,
    random_degradation,
)
from agrifactory.quality.masks import ndvi
from agrifactory.quality.scorer import (
    PatchScorer,
    extract_patches,
    load_scorer,
    save_scorer,
    scene_scorer,
    score_patches,
    score_scene,
    train_scorer,
    training_patches,
)
from agrifactory.quality.scores import SceneStack, score_stack


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def ndvi_image(seed: int, shape: tuple[int, int] = (64, 64)) -> np.ndarray:
    b, r, n = reflectance(landscape(shape, seed, n_fields=20))
    return ndvi(r, n)


def clear_patch_set(n_images: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping 32-px patches of ``n_images`` landscapes, with the image of each patch."""
    chunks = [extract_patches(ndvi_image(s), None, 32, stride=16) for s in range(n_images)]
    groups = np.repeat(np.arange(n_images), [len(c) for c in chunks])
    return np.concatenate(chunks), groups


# --- degradations -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_strength_zero_is_the_identity(kind):
    img = ndvi_image(1)
    out = degrade(img, kind, 0.0, np.random.default_rng(0))
    np.testing.assert_allclose(out, img, atol=1e-7)


@pytest.mark.parametrize("kind", KINDS)
def test_degradation_grows_with_strength(kind):
    img = ndvi_image(2)
    dist = [
        np.abs(degrade(img, kind, s, np.random.default_rng(3)) - img).mean()
        for s in (0.25, 0.5, 0.75, 1.0)
    ]
    assert np.all(np.diff(dist) > 0), dist


def test_cloud_coverage_follows_strength_and_nests():
    img = ndvi_image(4)
    covered = [
        np.abs(degrade(img, "cloud", s, np.random.default_rng(5)) - img) > 1e-6 for s in (0.3, 0.6)
    ]
    assert 0.25 < covered[0].mean() < 0.4 and 0.55 < covered[1].mean() < 0.7
    assert not (covered[0] & ~covered[1]).any()  # the thinner cloud lies inside the thicker


def test_degradations_are_seeded_and_profiled():
    img = ndvi_image(6)
    a = random_degradation(img, np.random.default_rng(7))
    b = random_degradation(img, np.random.default_rng(7))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:] == b[1:]
    refl = reflectance(landscape((32, 32)))
    assert degrade(refl, "haze", 0.5, np.random.default_rng(0), REFLECTANCE_PROFILE).shape == (
        3,
        32,
        32,
    )
    with pytest.raises(ValueError, match="3-channel"):
        degrade(img, "haze", 0.5, np.random.default_rng(0), REFLECTANCE_PROFILE)
    with pytest.raises(ValueError, match="unknown degradation"):
        degrade(img, "smoke", 0.5, np.random.default_rng(0), NDVI_PROFILE)


# --- training ---------------------------------------------------------------------------

TINY = ScorerSettings(width=8, epochs=3, samples_per_epoch=768, batch_size=32)


def test_tiny_training_beats_chance_on_held_out_patches():
    patches, groups = clear_patch_set()
    model, metrics = train_scorer(patches, TINY, groups=groups, seed=1)
    # Held-out patches come from landscapes never trained on; 0.5 AUC and 0 rank
    # correlation are chance.
    assert metrics["n_heldout_patches"] > 0 and metrics["n_train_patches"] > 0
    assert metrics["auc_clean_vs_degraded"] > 0.7
    assert metrics["spearman_vs_strength"] > 0.3
    assert metrics["train_loss"][-1] < metrics["train_loss"][0]
    # Clouds are learned first: clouded patches score below their clean selves.
    clean = patches[groups == groups.max()]
    cloudy = np.stack(
        [degrade(p, "cloud", 0.9, np.random.default_rng(k)) for k, p in enumerate(clean)]
    )
    assert score_patches(model, cloudy).mean() < score_patches(model, clean).mean()


def test_training_is_deterministic():
    patches, groups = clear_patch_set(6)
    cfg = ScorerSettings(width=4, epochs=1, samples_per_epoch=64, batch_size=32)
    m1, r1 = train_scorer(patches, cfg, groups=groups, seed=3)
    m2, r2 = train_scorer(patches, cfg, groups=groups, seed=3)
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert r1["train_loss"] == r2["train_loss"]


def test_scorer_settings_from_mapping():
    built = ScorerSettings.build({"width": 8, "epochs": 2}, "quality.scorer")
    assert built == ScorerSettings(width=8, epochs=2)
    with pytest.raises(ConfigError, match="quality.scorer.layers: unknown key"):
        ScorerSettings.build({"layers": 3}, "quality.scorer")
    with pytest.raises(ConfigError, match="quality.scorer.holdout_fraction = 1.0"):
        ScorerSettings.build({"holdout_fraction": 1.0}, "quality.scorer")
    # The seed is the workflow's top-level seed, not a key of this section.
    with pytest.raises(ConfigError, match="quality.scorer.seed: unknown key"):
        ScorerSettings.build({"seed": 3}, "quality.scorer")


def test_training_input_is_checked():
    with pytest.raises(DataError, match="at least 10"):
        train_scorer(np.zeros((5, 32, 32), np.float32))
    with pytest.raises(DataError, match="expected \\(N, 32, 32\\)"):
        train_scorer(np.zeros((20, 16, 16), np.float32))


# --- save, load, scene scoring ----------------------------------------------------------


def test_save_load_roundtrip(tmp_path):
    torch.manual_seed(0)
    model = PatchScorer(width=4, patch_size=16).eval()
    patches = np.random.default_rng(0).uniform(0, 0.8, (5, 16, 16)).astype(np.float32)
    path = save_scorer(model, tmp_path / "scorer.pt", {"auc": np.float64(0.9), "n": [1, 2]})
    loaded, metrics = load_scorer(path)
    assert loaded.patch_size == 16 and loaded.width == 4
    assert metrics == {"auc": 0.9, "n": [1, 2]}
    np.testing.assert_array_equal(score_patches(loaded, patches), score_patches(model, patches))


def test_corrupt_weights_name_the_file(tmp_path):
    bad = tmp_path / "scorer.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(InputError, match="scorer.pt: cannot be read as scorer weights"):
        load_scorer(bad)
    with pytest.raises(InputError, match="file not found"):
        load_scorer(tmp_path / "missing.pt")
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="not a quality-scorer weights file"):
        load_scorer(tmp_path / "other.pt")


def test_score_scene_patch_map():
    torch.manual_seed(0)
    model = PatchScorer(width=4, patch_size=16).eval()
    img = ndvi_image(8, (40, 50))  # 2 x 3 whole patches; the margins are not scored
    keep = np.ones(img.shape, bool)
    keep[:16, :16] = False  # first patch fully masked
    keep[16:18, 16:32] = False  # 32 of 256 pixels masked: 87.5 % < 90 % kept
    mean, grid = score_scene(model, img, keep)
    assert grid.shape == (2, 3)
    assert np.isnan(grid[0, 0]) and np.isnan(grid[1, 1])
    assert np.isfinite(grid).sum() == 4
    assert mean == pytest.approx(np.nanmean(grid))
    score, n = scene_scorer(model)(img, keep)
    assert (score, n) == (pytest.approx(mean), 4)
    assert np.isnan(score_scene(model, img, np.zeros(img.shape, bool))[0])


def test_training_patches_from_stacks():
    scenes = clear_scenes(3, shape=(64, 64))
    scenes[1, :, :40] = np.array([0.5, 0.5, 0.52])[:, None, None]  # mostly cloudy: not used
    stack = SceneStack(dates=dates(3), blue=scenes[:, 0], red=scenes[:, 1], nir=scenes[:, 2])
    patches, groups, used = training_patches([stack], min_clear_fraction=0.95, max_per_scene=3)
    assert used.date.tolist() == [dates(3)[0], dates(3)[2]]
    assert patches.shape == (6, 32, 32) and groups.tolist() == [0, 0, 0, 1, 1, 1]
    assert np.isfinite(patches).all()


def test_learned_scorer_in_score_stack():
    torch.manual_seed(0)
    model = PatchScorer(width=4, patch_size=32).eval()
    scenes = clear_scenes(2, shape=(64, 64))
    stack = SceneStack(dates=dates(2), blue=scenes[:, 0], red=scenes[:, 1], nir=scenes[:, 2])
    table = score_stack(stack, scorer=scene_scorer(model)).table
    assert (table.learned_patches == 4).all()
    assert table.learned_score.between(0, 1).all()
    np.testing.assert_allclose(table.learned_factor, table.learned_score)
