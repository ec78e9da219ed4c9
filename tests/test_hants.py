"""HANTS: hand-worked fits, outlier rejection, masks, fallback, batched vs per-series loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agrifactory.backend import gpu_available
from agrifactory.errors import ConfigError
from agrifactory.timeseries.hants import (
    FLAG_NO_DATA,
    FLAG_OK,
    FLAG_REDUCED,
    HantsParams,
    coefficient_names,
    design_matrix,
    hants_fit,
)
from agrifactory.timeseries.hants_reference import hants_fit_loop, hants_fit_series

T8 = np.arange(46) * 8.0  # the 8-day grid of one year, in days
COEF = np.array([0.45, -0.2, 0.1, 0.05, -0.03, 0.01, 0.02])  # mean, cos1, sin1, ..., sin3


def harmonic(t: np.ndarray, coef: np.ndarray = COEF, period: float = 365.0) -> np.ndarray:
    return design_matrix(t, (coef.size - 1) // 2, period) @ coef


def exact(**kw) -> HantsParams:
    """No ridge, so an exact harmonic is reproduced exactly."""
    return HantsParams(delta=0.0, **kw)


def assert_same_fit(a, b, atol=1e-9):
    np.testing.assert_allclose(a.coefficients, b.coefficients, atol=atol)
    np.testing.assert_array_equal(a.outliers, b.outliers)
    np.testing.assert_allclose(a.rmse, b.rmse, atol=atol)
    for name in ("n_valid", "n_outliers", "n_freq_used", "flag"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_hand_worked_fit_on_four_samples():
    # t = 0..3 with P = 4: cos column (1, 0, -1, 0), sin column (0, 1, 0, -1).
    t = np.arange(4.0)
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = HantsParams(base_period=4, n_freq=1, delta=0.0, dod=0, reject="none", valid_range=None)
    r = hants_fit(y, t, params=p)
    np.testing.assert_allclose(r.coefficients, [2.5, -1.0, -1.0], atol=1e-12)
    np.testing.assert_allclose(r.amplitude, [math.sqrt(2)])
    np.testing.assert_allclose(r.phase, [225.0])
    # The ridge damps the harmonic terms, A = diag(4, 2 + d, 2 + d), never the mean.
    r = hants_fit(y, t, params=HantsParams(**{**p.__dict__, "delta": 0.5}))
    np.testing.assert_allclose(r.coefficients, [2.5, -2 / 2.5, -2 / 2.5], atol=1e-12)


def test_amplitude_and_phase_reconstruct_the_curve():
    r = hants_fit(harmonic(T8)[:, None], T8, params=exact())
    t = np.linspace(0, 365, 50)
    amp, phase = r.amplitude[:, 0], np.radians(r.phase[:, 0])
    k = np.arange(1, 4)[:, None]
    by_polar = r.mean[0] + (amp[:, None] * np.cos(2 * np.pi * k * t / 365 - phase[:, None])).sum(0)
    np.testing.assert_allclose(by_polar, r.reconstruct(t, dtype=np.float64)[:, 0], atol=1e-12)


def test_pure_harmonic_is_recovered_exactly_on_an_irregular_axis():
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 365, 30))
    r = hants_fit(harmonic(t)[:, None], t, params=exact())
    np.testing.assert_allclose(r.coefficients[:, 0], COEF, atol=1e-12)
    assert int(r.n_outliers[0]) == 0 and r.rmse[0] < 1e-12 and int(r.flag[0]) == FLAG_OK
    daily = np.arange(365.0)
    np.testing.assert_allclose(r.reconstruct(daily, np.float64)[:, 0], harmonic(daily), atol=1e-12)


@pytest.mark.parametrize("rejection", ["worst", "all", "half_max"])
def test_planted_cloud_dips_are_rejected_and_the_fit_is_unchanged(rejection):
    y = harmonic(T8)
    dips = [3, 10, 11, 25, 40]
    y[dips] -= [0.3, 0.2, 0.35, 0.15, 0.25]
    p = exact(fit_error_tolerance=0.01, rejection=rejection)
    r = hants_fit(y[:, None], T8, params=p)
    rejected = set(np.nonzero(r.outliers[:, 0])[0].tolist())
    if rejection == "all":
        # The first fit is pulled down by the dips, so some clean samples near them
        # also lie beyond the tolerance and go in the same round.
        assert rejected > set(dips)
    else:
        assert rejected == set(dips)
    np.testing.assert_allclose(r.coefficients[:, 0], COEF, atol=1e-10)
    assert r.rmse[0] < 1e-10


def test_low_rejection_keeps_high_spikes_and_high_rejection_drops_them():
    y = harmonic(T8)
    y[[5, 30]] += 0.3
    low = hants_fit(y[:, None], T8, params=exact(fit_error_tolerance=0.01, reject="low"))
    high = hants_fit(y[:, None], T8, params=exact(fit_error_tolerance=0.01, reject="high"))
    assert not low.outliers[[5, 30], 0].any()
    assert np.nonzero(high.outliers[:, 0])[0].tolist() == [5, 30]
    np.testing.assert_allclose(high.coefficients[:, 0], COEF, atol=1e-10)
    assert not np.allclose(low.coefficients[:, 0], COEF, atol=1e-3)


def test_worst_mode_drops_one_sample_per_round_and_all_mode_stops_at_the_tolerance():
    # Noise of 0.03 with a tolerance of 0.02: "all" drops the samples beyond it at once,
    # "worst" keeps refitting; both end with no kept sample further below than 0.02.
    rng = np.random.default_rng(0)
    y = harmonic(T8)[:, None] + 0.03 * rng.standard_normal((46, 200))
    for mode in ("worst", "all", "half_max"):
        p = HantsParams(fit_error_tolerance=0.02, rejection=mode)
        r = hants_fit(y, T8, params=p)
        fit = r.reconstruct(T8, np.float64)
        kept = ~r.outliers
        at_limit = r.n_valid - r.n_outliers == p.min_samples
        below = np.where(kept, fit - y, -np.inf).max(axis=0)
        assert np.all((below <= 0.02 + 1e-12) | at_limit), mode
    worst = hants_fit(y, T8, params=HantsParams(fit_error_tolerance=0.02, rejection="worst"))
    every = hants_fit(y, T8, params=HantsParams(fit_error_tolerance=0.02, rejection="all"))
    assert worst.n_outliers.sum() < every.n_outliers.sum()


@pytest.mark.parametrize("rejection", ["worst", "all", "half_max"])
def test_first_round_rejects_what_each_mode_says(rejection):
    y = harmonic(T8)
    y[[4, 20]] -= [0.3, 0.1]
    first = hants_fit(y[:, None], T8, params=exact(reject="none"))
    err = first.reconstruct(T8, np.float64)[:, 0] - y  # > 0: below the fit
    expected = {
        "worst": [int(np.argmax(err))],
        "all": np.nonzero(err > 0.01)[0].tolist(),
        "half_max": np.nonzero(err > 0.5 * err.max())[0].tolist(),
    }[rejection]
    p = exact(fit_error_tolerance=0.01, rejection=rejection, max_iter=1)
    r = hants_fit(y[:, None], T8, params=p)
    assert np.nonzero(r.outliers[:, 0])[0].tolist() == expected
    assert 4 in expected and (rejection != "worst" or expected == [4])


def test_equal_worst_errors_drop_the_first_sample_per_round():
    # The same cloudy acquisition twice (same day, same value): an exact tie.
    t = np.sort(np.concatenate([T8, [80.0]]))
    y = harmonic(t)
    y[[10, 11]] -= 0.3  # t[10] == t[11] == 80
    y = np.stack([y, y + 0.001], axis=1)
    p = exact(fit_error_tolerance=0.01, max_iter=1)
    r = hants_fit(y, t, params=p)
    assert np.nonzero(r.outliers[:, 0])[0].tolist() == [10]
    assert_same_fit(r, hants_fit_loop(y, t, params=p))
    full = hants_fit(y, t, params=exact(fit_error_tolerance=0.01))
    assert np.nonzero(full.outliers[:, 0])[0].tolist() == [10, 11]


def test_rejection_never_goes_below_the_minimum_number_of_samples():
    rng = np.random.default_rng(5)
    y = rng.uniform(0, 1, (46, 50))  # pure noise: rejection would go on and on
    p = HantsParams(fit_error_tolerance=0.0, dod=2)
    r = hants_fit(y, T8, params=p)
    np.testing.assert_array_equal(r.n_valid - r.n_outliers, p.min_samples)


def test_nan_counts_as_masked_and_out_of_range_is_ignored():
    rng = np.random.default_rng(1)
    y = harmonic(T8)[:, None] + 0.02 * rng.standard_normal((46, 20))
    holes = rng.random(y.shape) < 0.2
    with_nan = np.where(holes, np.nan, y)
    with_junk = np.where(holes, 7.5, y)  # outside valid_range (-1, 1)
    a = hants_fit(with_nan, T8)
    b = hants_fit(y, T8, mask=holes)
    c = hants_fit(with_junk, T8)
    assert_same_fit(a, b)
    assert_same_fit(a, c)
    open_range = HantsParams(valid_range=(-np.inf, np.inf))
    assert_same_fit(a, hants_fit(np.where(holes, np.inf, y), T8, params=open_range))
    np.testing.assert_array_equal(a.n_valid, (~holes).sum(axis=0))
    assert not np.isnan(a.reconstruct(T8)).any()


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    frac=st.floats(0.0, 0.6),
    reject=st.sampled_from(["low", "high", "none"]),
    rejection=st.sampled_from(["worst", "all", "half_max"]),
)
def test_masked_samples_have_no_effect(seed, frac, reject, rejection):
    """Fitting with a mask equals fitting the series with those samples removed."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 365, 40))
    y = harmonic(t) + 0.03 * rng.standard_normal(40) - 0.3 * (rng.random(40) < 0.15)
    masked = rng.random(40) < frac
    p = HantsParams(reject=reject, rejection=rejection, fit_error_tolerance=0.02)
    with_mask = hants_fit_series(y, t, mask=masked, params=p)
    junk = np.where(masked, rng.uniform(-1, 1, 40), y)  # masked values do not matter
    with_junk = hants_fit(junk[:, None], t, mask=masked[:, None], params=p)
    removed = hants_fit_series(y[~masked], t[~masked], params=p)
    np.testing.assert_allclose(with_mask.coefficients, removed.coefficients, atol=1e-9)
    np.testing.assert_allclose(with_junk.coefficients[:, 0], removed.coefficients, atol=1e-9)
    np.testing.assert_array_equal(with_mask.outliers[~masked], removed.outliers)
    assert not with_mask.outliers[masked].any()
    assert with_mask.flag == removed.flag


def test_too_few_samples_fall_back_to_fewer_frequencies_then_the_mean():
    p = HantsParams(n_freq=3, dod=1)  # the full model needs 7 + 1 samples
    y = harmonic(T8)
    stack = np.full((46, 4), np.nan)
    stack[:, 0] = y  # full series
    stack[[0, 9, 18, 27, 36], 1] = y[[0, 9, 18, 27, 36]]  # 5 samples: (5 - 1 - 1) // 2 = 1 freq.
    stack[[7, 30], 2] = [0.3, 0.5]  # 2 samples: the mean only
    # column 3: no valid sample at all
    r = hants_fit(stack, T8, params=p)
    assert r.flag.tolist() == [FLAG_OK, FLAG_REDUCED, FLAG_REDUCED, FLAG_NO_DATA]
    assert r.n_freq_used.tolist() == [3, 1, 0, 0]
    assert r.n_valid.tolist() == [46, 5, 2, 0]
    np.testing.assert_allclose(r.coefficients[:, 2], [0.4, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(r.coefficients[:, 3], [p.fill_value, 0, 0, 0, 0, 0, 0])
    assert r.coefficients[3:, 1].tolist() == [0, 0, 0, 0]
    assert np.isnan(r.rmse[3]) and np.isfinite(r.rmse[:3]).all()
    rec = r.reconstruct(np.arange(365.0))
    assert np.isfinite(rec).all()
    np.testing.assert_allclose(rec[:, 3], p.fill_value)
    names, qa = r.qa_bands()[1], r.qa_bands()[0]
    assert names == ["rmse", "n_outliers", "n_valid", "n_freq_used", "flag"]
    assert qa.shape == (5, 4) and qa.dtype == np.float32


def test_singular_system_drops_a_frequency():
    # Samples every 10 days with P = 20 sit at phases 0 and 180 degrees only: the sine
    # column of the first harmonic is zero, so with delta = 0 the system is singular.
    t = np.arange(0.0, 200.0, 10.0)
    y = 0.5 + 0.2 * np.cos(2 * np.pi * t / 20)
    p = HantsParams(base_period=20, n_freq=1, delta=0.0, reject="none")
    for r in (hants_fit(y[:, None], t, params=p), hants_fit_loop(y[:, None], t, params=p)):
        assert r.flag.tolist() == [FLAG_REDUCED] and r.n_freq_used.tolist() == [0]
        np.testing.assert_allclose(r.coefficients[:, 0], [0.5, 0, 0], atol=1e-12)
    # A small ridge makes it solvable again; the cosine term is found.
    r = hants_fit(y[:, None], t, params=HantsParams(**{**p.__dict__, "delta": 1e-6}))
    assert r.flag.tolist() == [FLAG_OK]
    np.testing.assert_allclose(r.coefficients[:2, 0], [0.5, 0.2], atol=1e-6)


def _messy_stack(rng: np.random.Generator, n: int, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    phase = rng.uniform(0, 2 * np.pi, n)
    y = (
        0.4
        + 0.25 * np.cos(2 * np.pi * t[:, None] / 365 - phase)
        + 0.02 * rng.standard_normal((t.size, n))
    )
    cloud = rng.random(y.shape) < 0.25
    y[cloud] -= rng.uniform(0.1, 0.4, cloud.sum())
    y[rng.random(y.shape) < 0.03] += 0.3
    mask = cloud & (rng.random(y.shape) < 0.8)
    mask[:, : n // 5] = False  # clear pixels: the shared projection
    mask[:, n // 5 : n // 4] = rng.random((t.size, n // 4 - n // 5)) < 0.85  # short series
    y[rng.random(y.shape) < 0.02] = np.nan
    return y, mask


@pytest.mark.parametrize("reject", ["low", "high", "none"])
@pytest.mark.parametrize("rejection", ["worst", "all", "half_max"])
def test_batched_equals_per_series_loop(reject, rejection):
    rng = np.random.default_rng(11)
    y, mask = _messy_stack(rng, 240, T8)
    p = HantsParams(reject=reject, rejection=rejection)
    a = hants_fit(y.reshape(46, 12, 20), T8, mask=mask.reshape(46, 12, 20), params=p)
    b = hants_fit_loop(y.reshape(46, 12, 20), T8, mask=mask.reshape(46, 12, 20), params=p)
    assert_same_fit(a, b)
    assert set(np.unique(a.flag).tolist()) >= {FLAG_OK, FLAG_REDUCED}


def test_chunking_and_float32_input_do_not_change_the_result():
    rng = np.random.default_rng(2)
    y, mask = _messy_stack(rng, 300, T8)
    a = hants_fit(y, T8, mask=mask)
    assert_same_fit(a, hants_fit(y, T8, mask=mask, chunk_size=7))
    b = hants_fit(y.astype(np.float32), T8, mask=mask)
    np.testing.assert_allclose(b.coefficients, a.coefficients, atol=1e-5)


def test_irregular_daily_axis_and_other_params_match_the_loop():
    rng = np.random.default_rng(4)
    t = np.sort(rng.choice(np.arange(365.0), 70, replace=False))
    t[10] = t[9]  # a repeated day is fine
    y, mask = _messy_stack(rng, 60, t)
    p = HantsParams(n_freq=4, fit_error_tolerance=0.03, dod=3, delta=0.1, valid_range=(0, 0.9))
    assert_same_fit(hants_fit(y, t, mask=mask, params=p), hants_fit_loop(y, t, mask=mask, params=p))


def test_names_and_bad_parameters():
    assert coefficient_names(2) == ["harm_mean", "harm_cos1", "harm_sin1", "harm_cos2", "harm_sin2"]
    for bad in (
        {"base_period": 0},
        {"n_freq": -1},
        {"reject": "low-ish"},
        {"rejection": "some"},
        {"dod": -1},
        {"delta": -0.1},
        {"valid_range": (1, -1)},
        {"fit_error_tolerance": -0.01},
    ):
        with pytest.raises(ConfigError, match=f"hants.{next(iter(bad))}"):
            HantsParams.build(bad, "hants")
        with pytest.raises(ValidationError):
            HantsParams(**bad)
    with pytest.raises(ValueError, match="t has shape"):
        hants_fit(np.zeros((46, 2)), T8[:40])


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA device")
def test_cupy_matches_numpy():
    import cupy

    rng = np.random.default_rng(8)
    y, mask = _messy_stack(rng, 5000, T8)
    for mode in ("worst", "all", "half_max"):
        p = HantsParams(rejection=mode)
        a = hants_fit(y, T8, mask=mask, params=p)
        g = hants_fit(cupy.asarray(y), T8, mask=cupy.asarray(mask), params=p)
        assert isinstance(g.coefficients, cupy.ndarray)
        np.testing.assert_allclose(g.coefficients.get(), a.coefficients, atol=1e-9)
        np.testing.assert_array_equal(g.outliers.get(), a.outliers)
        np.testing.assert_array_equal(g.flag.get(), a.flag)
        np.testing.assert_allclose(g.reconstruct(T8).get(), a.reconstruct(T8), atol=1e-6)
