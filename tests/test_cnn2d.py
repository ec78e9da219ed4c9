"""The 2-D CNN on the (bands x months) image of the monthly composites
(agrifactory.classify.cnn2d): band parsing, inputs, augmentation along the month axis,
determinism, learning, save/load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agrifactory.classify.cnn2d import (
    augment_months,
    month_dropout,
    month_scale,
    month_shift,
    monthly_layout,
)
from agrifactory.classify.models import load_model, make_model
from agrifactory.errors import DataError

BANDS = ["red", "nir", "ndvi"]
NAMES = [f"monthly_{b}_{m:02d}" for b in BANDS for m in range(1, 13)]
FAST = {"epochs": 15, "batch_size": 16, "num_threads": 1}


def _one_cell_problem(n_per_class: int = 30, seed: int = 0) -> pd.DataFrame:
    """Noise everywhere; class 2 has a high NIR in June, class 1 a low one; 5 % NaN
    elsewhere (never in the June NIR cell)."""
    rng = np.random.default_rng(seed)
    y = np.repeat([1, 2], n_per_class)
    X = pd.DataFrame(rng.normal(0.3, 0.05, (len(y), len(NAMES))), columns=NAMES)
    gone = rng.random(X.shape) < 0.05
    gone[:, NAMES.index("monthly_nir_06")] = False
    X = X.mask(gone)
    X["monthly_nir_06"] = np.where(y == 2, 0.5, 0.2) + rng.normal(0, 0.02, len(y))
    return X.assign(label=y)


@pytest.fixture(scope="module")
def problem():
    return _one_cell_problem()


@pytest.fixture(scope="module")
def fitted(problem):
    return make_model("cnn2d", FAST).fit(problem[NAMES], problem["label"], seed=4)


def test_layout_of_band_major_and_shuffled_names():
    names = ["monthly_red_01", "monthly_red_02", "monthly_nir_01", "monthly_nir_02"]
    bands, months, order = monthly_layout(names)
    assert bands == ["red", "nir"] and months == [1, 2]
    np.testing.assert_array_equal(order, [[0, 1], [2, 3]])
    shuffled = ["monthly_nir_02", "monthly_red_01", "monthly_nir_01", "monthly_red_02"]
    bands, months, order = monthly_layout(shuffled)
    assert bands == ["nir", "red"] and months == [1, 2]
    np.testing.assert_array_equal(order, [[2, 0], [1, 3]])


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["monthly_red_01", "ndvi_med_01"], r"'monthly_<band>_<MM>' .*got \['ndvi_med_01'\]"),
        (["monthly_red_01", "monthly_red_13"], r"got \['monthly_red_13'\]"),
        (["monthly_red_1"], r"got \['monthly_red_1'\]"),
        (
            ["monthly_red_01", "monthly_red_02", "monthly_nir_01"],
            r"missing \['monthly_nir_02'\], duplicated \[\]",
        ),
        (["monthly_red_01", "monthly_red_01"], r"duplicated \['monthly_red_01'\]"),
    ],
)
def test_wrong_or_missing_band_names_are_named(names, message):
    with pytest.raises(DataError, match=message):
        monthly_layout(names)


def test_a_model_on_other_features_is_refused(problem):
    X = problem[NAMES].rename(columns={"monthly_nir_06": "ndvi_med_06"})
    with pytest.raises(DataError, match=r"got \['ndvi_med_06'\]"):
        make_model("cnn2d", FAST).fit(X, problem["label"])


def test_images_are_standardised_per_band_with_a_mask(fitted, problem):
    X = problem[NAMES].to_numpy(dtype=float)
    images = fitted.images(X)
    assert images.shape == (len(X), 2, 3, 12) and images.dtype == np.float32
    r, c = np.argwhere(np.isnan(X))[0]
    band, month = divmod(c, 12)
    assert images[r, 0, band, month] == 0 and images[r, 1, band, month] == 0
    nir_06 = X[:, NAMES.index("monthly_nir_06")]
    expected = (nir_06 - np.nanmean(X[:, 12:24])) / np.nanstd(X[:, 12:24])
    np.testing.assert_allclose(images[:, 0, 1, 5], expected, rtol=1e-5)
    assert (images[:, 1, 1, 5] == 1).all()


def test_learns_classes_that_differ_in_one_band_and_month(fitted, problem):
    assert (fitted.predict(problem[NAMES]) == problem["label"]).mean() == 1.0
    assert fitted.metrics["n_weights"] == fitted.n_weights()


def test_deterministic_for_a_seed(fitted, problem):
    again = make_model("cnn2d", FAST).fit(problem[NAMES], problem["label"], seed=4)
    np.testing.assert_array_equal(
        again.predict_proba(problem[NAMES]), fitted.predict_proba(problem[NAMES])
    )
    other = make_model("cnn2d", FAST).fit(problem[NAMES], problem["label"], seed=5)
    assert not np.array_equal(
        other.predict_proba(problem[NAMES]), fitted.predict_proba(problem[NAMES])
    )


def test_augmented_training_is_deterministic_and_still_learns(problem):
    params = {**FAST, "augment_shift": 1, "augment_dropout": 0.1, "augment_scale": 0.1}
    a = make_model("cnn2d", params).fit(problem[NAMES], problem["label"], seed=1)
    b = make_model("cnn2d", params).fit(problem[NAMES], problem["label"], seed=1)
    np.testing.assert_array_equal(a.predict_proba(problem[NAMES]), b.predict_proba(problem[NAMES]))
    assert (a.predict(problem[NAMES]) == problem["label"]).mean() >= 0.95


def test_save_and_load_give_identical_probabilities(fitted, problem, tmp_path):
    fitted.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.kind == "cnn2d" and loaded.bands_ == ["red", "nir", "ndvi"]
    np.testing.assert_array_equal(
        loaded.predict_proba(problem[NAMES]), fitted.predict_proba(problem[NAMES])
    )


def test_a_pixel_without_any_month_is_still_a_probability(fitted):
    p = fitted.predict_proba(np.full((1, len(NAMES)), np.nan))
    assert np.isfinite(p).all() and p.sum() == pytest.approx(1.0)


# --- augmentation: along the month axis only -----------------------------------------


def _ramp(n: int = 40) -> np.ndarray:
    """``(n, 2, 3, 12)``: value ``10 * band + month`` (1..12), mask 1."""
    value = 10.0 * np.arange(3)[:, None] + np.arange(1, 13)[None, :]
    x = np.stack([np.broadcast_to(value, (3, 12)), np.ones((3, 12))])
    return np.repeat(x[None], n, axis=0).astype(np.float32)


def _shifted(x: np.ndarray, s: int) -> np.ndarray:
    out = np.zeros_like(x)
    if s >= 0:
        out[..., s:] = x[..., : x.shape[-1] - s]
    else:
        out[..., :s] = x[..., -s:]
    return out


def test_month_shift_moves_every_band_by_the_same_whole_month():
    x = _ramp()
    out = month_shift(x, np.random.default_rng(0), 1)
    seen = set()
    for i in range(len(x)):
        s = [s for s in (-1, 0, 1) if np.array_equal(out[i], _shifted(x[i], s))]
        assert len(s) == 1
        seen.add(s[0])
    assert seen == {-1, 0, 1}
    # by hand: shifted by +1, January is missing and February holds January's values
    np.testing.assert_array_equal(_shifted(x[0], 1)[0, :, :2], [[0, 1], [0, 11], [0, 21]])


def test_month_dropout_drops_whole_months_of_every_band():
    x = _ramp()
    out = month_dropout(x, np.random.default_rng(0), 0.3)
    kept = (out == x).all(axis=(1, 2))
    dropped = (out == 0).all(axis=(1, 2))
    assert (kept ^ dropped).all()
    assert 0.2 < dropped.mean() < 0.4


def test_month_scale_resamples_every_band_at_the_same_months():
    x = _ramp()
    out = month_scale(x, np.random.default_rng(0), 0.2)
    month_of = out[:, 0] - 10.0 * np.arange(3)[None, :, None]  # back to 1..12 per band
    np.testing.assert_allclose(month_of[:, 1], month_of[:, 0], atol=1e-4)
    np.testing.assert_allclose(month_of[:, 2], month_of[:, 0], atol=1e-4)
    assert not np.allclose(month_of[:, 0], np.arange(1, 13))
    np.testing.assert_array_equal(out[:, 1], 1.0)  # the mask stays 1 between observed months


def test_augmentation_at_zero_strength_is_the_identity():
    x = _ramp()
    out = augment_months(x, np.random.default_rng(0), shift=0, dropout=0.0, scale=0.0, p=1.0)
    np.testing.assert_array_equal(out, x)
    assert out is not x
