"""Temporal augmentation: shape preserved, identity at zero strength, and exact shifts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from agrifactory.classify.augment import (
    augment_batch,
    magnitude_warp,
    mixup,
    resample_time,
    time_scale,
    time_shift,
)

batches = arrays(
    np.float32,
    st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(2, 20)),
    elements=st.floats(-1, 1, width=32),
)
FUNCS = [time_shift, time_scale, magnitude_warp]


@settings(max_examples=40, deadline=None)
@given(batches, st.integers(0, 2**32 - 1))
def test_zero_strength_is_identity(x, seed):
    for func in FUNCS:
        out = func(x, np.random.default_rng(seed), 0.0)
        np.testing.assert_array_equal(out, x)
    out = augment_batch(x, np.random.default_rng(seed), p=1.0)
    np.testing.assert_array_equal(out, x)


@settings(max_examples=40, deadline=None)
@given(batches, st.integers(0, 2**32 - 1), st.floats(0.01, 3.0))
def test_shape_and_dtype_preserved(x, seed, strength):
    for func in FUNCS:
        out = func(x, np.random.default_rng(seed), strength)
        assert out.shape == x.shape and out.dtype == x.dtype
        assert np.all(np.isfinite(out))
    out = augment_batch(
        x, np.random.default_rng(seed), shift=strength, scale=0.2, magnitude=0.1, p=1.0
    )
    assert out.shape == x.shape and out.dtype == x.dtype


@settings(max_examples=30, deadline=None)
@given(batches, st.integers(0, 2**32 - 1), st.floats(0.1, 0.5))
def test_time_warps_stay_within_the_series_range(x, seed, strength):
    """Linear resampling with held edges never leaves [min, max] of each series."""
    for func in (time_shift, time_scale):
        out = func(x, np.random.default_rng(seed), strength * x.shape[-1])
        assert np.all(out >= x.min(axis=-1, keepdims=True) - 1e-6)
        assert np.all(out <= x.max(axis=-1, keepdims=True) + 1e-6)


def test_resample_by_whole_steps_shifts_and_holds_edges():
    x = np.arange(6, dtype=float)[None, None, :]
    out = resample_time(x, np.arange(6)[None, :] - 2)  # delay the season by 2 steps
    np.testing.assert_array_equal(out[0, 0], [0, 0, 0, 1, 2, 3])
    out = resample_time(x, np.arange(6)[None, :] + 0.5)
    np.testing.assert_allclose(out[0, 0], [0.5, 1.5, 2.5, 3.5, 4.5, 5])


def test_time_scale_keeps_the_centre():
    x = np.linspace(0, 1, 9)[None, None, :]
    out = time_scale(x, np.random.default_rng(0), 0.3)
    assert out[0, 0, 4] == pytest.approx(x[0, 0, 4])
    assert not np.allclose(out, x)


def test_magnitude_warp_is_smooth_and_per_channel():
    x = np.ones((2, 2, 46))
    out = magnitude_warp(x, np.random.default_rng(0), 0.2)
    assert not np.allclose(out[0, 0], out[0, 1])
    assert np.max(np.abs(np.diff(out, axis=-1))) < 0.1  # slowly varying curve
    assert abs(out.mean() - 1) < 0.3


def test_augment_batch_probability_zero_changes_nothing():
    x = np.random.default_rng(1).normal(size=(8, 1, 12))
    out = augment_batch(x, np.random.default_rng(2), shift=2, scale=0.2, magnitude=0.2, p=0.0)
    np.testing.assert_array_equal(out, x)


def test_mixup_off_is_identity():
    x = np.arange(12, dtype=np.float32).reshape(3, 1, 4)
    out, perm, lam = mixup(x, np.random.default_rng(0), 0.0)
    assert out is x and lam == 1.0
    np.testing.assert_array_equal(perm, [0, 1, 2])


def test_mixup_mixes_each_series_with_its_partner():
    # series i is constant i: the mixed series i must be lam * i + (1 - lam) * perm[i]
    x = np.repeat(np.arange(5, dtype=np.float32)[:, None, None], 6, axis=2)
    out, perm, lam = mixup(x, np.random.default_rng(4), 0.4)
    rng = np.random.default_rng(4)
    assert lam == rng.beta(0.4, 0.4)
    np.testing.assert_array_equal(perm, rng.permutation(5))
    assert out.dtype == np.float32 and out.shape == x.shape
    expected = lam * np.arange(5) + (1 - lam) * perm
    np.testing.assert_allclose(out[:, 0, :], np.repeat(expected[:, None], 6, axis=1), rtol=1e-6)
