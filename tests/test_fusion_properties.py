"""ESTARFM identities as property tests, and the fast back end against the reference."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agrifactory.fusion import (
    QA_INVALID,
    QA_WEIGHTED,
    EstarfmParams,
    coarse_cell_labels,
    fuse,
    predict,
    prepare,
)
from agrifactory.fusion.estarfm import float32_thresholds
from agrifactory.fusion.reference import fuse_reference

numba.set_num_threads(1)

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def blocky(a: np.ndarray, cell: int) -> np.ndarray:
    """Nearest-resampled look: every ``cell`` x ``cell`` block takes its corner value."""
    rows, cols = a.shape[-2:]
    out = np.repeat(np.repeat(a[..., ::cell, ::cell], cell, -2), cell, -1)
    return out[..., :rows, :cols].copy()


def scene(seed: int, nb: int, rows: int, cols: int, cell: int = 3):
    """Fine images with structure and noise, coarse images blocky versions of them."""
    rng = np.random.default_rng(seed)
    land = rng.integers(0, 3, (rows, cols))
    base = np.stack([np.choose(land, [800.0, 2500.0, 4000.0]) + 300 * b for b in range(nb)])
    f1 = base + rng.normal(0, 150, base.shape)
    f2 = 1.2 * base + 400 + rng.normal(0, 150, base.shape)
    c1 = blocky(f1, cell) + rng.normal(0, 30, base.shape)
    c2 = blocky(f2, cell) + rng.normal(0, 30, base.shape)
    c0 = blocky(1.1 * base + 250, cell) + rng.normal(0, 30, base.shape)
    return f1, c1, f2, c2, c0


@SETTINGS
@given(
    seed=st.integers(0, 10**6),
    nb=st.sampled_from([1, 3]),
    layout=st.sampled_from(["reference", "halo"]),
    classes=st.sampled_from([1.0, 2.0, 4.0]),
    masked=st.integers(0, 12),
)
def test_fast_equals_reference(seed, nb, layout, classes, masked):
    f1, c1, f2, c2, c0 = scene(seed, nb, 13, 11)
    rng = np.random.default_rng(seed + 1)
    for img in (f1, c2, c0):  # scattered NaN and background pixels
        idx = rng.integers(0, 11, (masked, 2))
        img[:, idx[:, 0], idx[:, 1]] = np.nan
    c1[:, 0, rng.integers(0, 11)] = -9999.0
    params = EstarfmParams(half_window=3, classes=classes, block_size=6, layout=layout)
    fast, qa = fuse(f1, c1, f2, c2, c0, params)
    ref, ref_qa = fuse_reference(f1, c1, f2, c2, c0, params)
    np.testing.assert_array_equal(qa, ref_qa)
    np.testing.assert_allclose(fast, ref, rtol=1e-5, atol=1e-6)
    assert np.isnan(fast[qa == QA_INVALID]).all()


@SETTINGS
@given(seed=st.integers(0, 10**6), nb=st.sampled_from([1, 2]), which=st.sampled_from([1, 2]))
def test_target_equal_to_a_base_date_returns_that_fine_image(seed, nb, which):
    f1, c1, f2, c2, _ = scene(seed, nb, 10, 10)
    c2 = c1 + 500.0 + np.random.default_rng(seed).normal(0, 20, c1.shape)
    target, expected = (c1, f1) if which == 1 else (c2, f2)
    pred, qa = fuse(
        f1, c1, f2, c2, target.copy(), EstarfmParams(half_window=3, valid_range=(-1e5, 1e5))
    )
    assert (qa != QA_INVALID).all()
    np.testing.assert_allclose(pred, expected, rtol=1e-6)


@SETTINGS
@given(
    seed=st.integers(0, 10**6),
    nb=st.sampled_from([1, 2]),
    v=st.floats(0.2, 4.5),
    delta=st.floats(-300, 300),
    change=st.floats(50, 500),
)
def test_uniform_coarse_change_shifts_by_v_times_the_change(seed, nb, v, delta, change):
    # Fine = a + v * coarse at both dates and C2 = C1 + change: the fit gives V = v
    # exactly, and with C0 = C1 + delta both pairs predict F1 + v * delta.
    rng = np.random.default_rng(seed)
    c1 = rng.uniform(1000, 3000, (nb, 11, 11))
    c2, c0 = c1 + change, c1 + delta
    f1, f2 = 200 + v * c1, 200 + v * c2
    params = EstarfmParams(
        half_window=3, classes=1.0, valid_range=(-1e6, 1e6), min_coarse_change=1.0
    )
    pred, qa = fuse(f1, c1, f2, c2, c0, params)
    weighted = qa == QA_WEIGHTED
    assert weighted.sum() > weighted.size // 2
    np.testing.assert_allclose(pred[weighted], (f1 + v * delta)[weighted], rtol=1e-6)


@SETTINGS
@given(seed=st.integers(0, 10**6), nb=st.sampled_from([1, 3]))
def test_values_under_the_mask_never_matter(seed, nb):
    f1, c1, f2, c2, c0 = scene(seed, nb, 12, 12)
    rng = np.random.default_rng(seed)
    mask = rng.random((12, 12)) < 0.15
    params = EstarfmParams(
        half_window=3, classes=2.0, background=-9999.0, block_size=7, layout="reference"
    )
    results = []
    k = int(rng.integers(0, 4))  # the masked pixels are missing in one base image...
    for garbage in (-9999.0, np.nan):
        images = [a.copy() for a in (f1, c1, f2, c2, c0)]
        images[k][:, mask] = garbage
        for j in range(5):  # ...and hold nonsense in the others
            if j != k:
                images[j][:, mask] = rng.uniform(-1e4, 1e4, (nb, int(mask.sum())))
        results.append(fuse(*images, params))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert (results[0][1][:, mask] == QA_INVALID).all()


@SETTINGS
@given(
    seed=st.integers(0, 10**6),
    nb=st.sampled_from([1, 2]),
    layout=st.sampled_from(["reference", "halo"]),
    labels=st.sampled_from(["cells", "wrong", "none", "tiny_capacity"]),
)
def test_prepare_predict_equals_fuse(seed, nb, layout, labels):
    f1, c1, f2, c2, c0 = scene(seed, nb, 14, 13, cell=4)
    rng = np.random.default_rng(seed)
    c0[:, 4:8, 0:4] = np.nan  # a missing coarse cell inside many windows
    f1[:, rng.integers(0, 14), rng.integers(0, 13)] = np.nan
    capacity = 2 if labels == "tiny_capacity" else 128
    params = EstarfmParams(
        half_window=3, classes=2.0, block_size=7, layout=layout, cell_capacity=capacity
    )
    cells = {
        "cells": coarse_cell_labels(c1, c2, c0),
        "tiny_capacity": coarse_cell_labels(c1, c2, c0),
        "wrong": np.zeros((14, 13), dtype=np.int32),  # one "cell": detected, computed exactly
        "none": None,
    }[labels]
    model = prepare(f1, c1, f2, c2, params, coarse_cells=cells)
    for target in (c0, blocky(c2 - 100, 4)):
        pred, qa = predict(model, target)
        ref, ref_qa = fuse(f1, c1, f2, c2, target, params)
        np.testing.assert_array_equal(qa, ref_qa)
        np.testing.assert_allclose(pred, ref, rtol=1e-5, atol=1e-6)


def test_ndvi_single_band_equals_reference():
    rng = np.random.default_rng(7)
    ndvi = np.clip(rng.normal(0.5, 0.2, (12, 12)), -0.2, 0.95)
    f1, f2 = ndvi, np.clip(ndvi + 0.1 + rng.normal(0, 0.02, ndvi.shape), -1, 0.99)
    c1, c2 = blocky(f1, 4) + 0.01, blocky(f2, 4) - 0.01
    c0 = blocky(np.clip(ndvi + 0.05, -1, 0.99), 4)
    c0[0:4, 0:4] = np.nan
    params = EstarfmParams.ndvi(half_window=4, block_size=6, layout="reference")
    fast, qa = fuse(f1, c1, f2, c2, c0, params)
    ref, ref_qa = fuse_reference(f1, c1, f2, c2, c0, params)
    np.testing.assert_array_equal(qa, ref_qa[0])
    np.testing.assert_allclose(fast, ref[0], rtol=1e-5, atol=1e-7)
    assert fast.dtype == np.float32 and fast.shape == (12, 12)
    assert np.isnan(fast[0:4, 0:4]).all()


@pytest.mark.parametrize("layout", ["reference", "halo"])
def test_halo_layout_has_no_seams_but_reference_does(layout):
    # Cutting the image into two overlapping pieces and keeping each piece's interior
    # reproduces the whole-image result in the halo layout, as long as the pieces carry a
    # margin of max(w, block_size / 2) = 3 pixels (5 here). The reference layout depends
    # on where the block borders fall, which moves with the piece's origin.
    f1, c1, f2, c2, c0 = scene(3, 1, 16, 24)
    params = EstarfmParams(half_window=3, classes=2.0, block_size=6, layout=layout)
    whole, _ = fuse(f1, c1, f2, c2, c0, params)
    margin = 5
    left = fuse(*(a[:, :, : 12 + margin] for a in (f1, c1, f2, c2, c0)), params)[0][:, :, :12]
    right = fuse(*(a[:, :, 12 - margin :] for a in (f1, c1, f2, c2, c0)), params)[0][:, :, margin:]
    stitched = np.concatenate([left, right], axis=2)
    if layout == "halo":
        np.testing.assert_allclose(stitched, whole, rtol=1e-6)
    else:
        assert not np.allclose(stitched, whole, rtol=1e-6)


@SETTINGS
@given(
    seed=st.integers(0, 10**6),
    scale=st.sampled_from([1e-3, 1.0, 1e4]),
    nudge=st.sampled_from([-1, 0, 1]),
)
def test_float32_bounds_decide_like_float64(seed, scale, nudge):
    # The kernels' pre-test: below the narrowed float32 bound in a plane means
    # |x - c| < th in float64, at or above the widened one means it does not. Put
    # the threshold exactly on (or one float64 step beside) observed differences,
    # where rounding matters most.
    rng = np.random.default_rng(seed)
    fv = rng.normal(0.5 * scale, scale, (4, 6, 30))
    fv[1] = np.round(rng.normal(3000, 1500, fv[1].shape))  # integers (reflectance x 10000)
    fv[2] += 1000 * scale  # differences far below the values: float32 rounding is coarse
    c = fv[:, 2, 3]
    diff = np.abs(fv - c[:, None, None])
    edge = np.sort(diff.reshape(4, -1), axis=1)[:, rng.integers(1, 180)]
    th = np.broadcast_to(edge[:, None, None], fv.shape).copy()
    if nudge:
        th = np.nextafter(th, np.inf * nudge)
    valid = np.ones(fv.shape[1:], dtype=bool)
    lo, hi = float32_thresholds(fv, th, valid)
    d32 = np.abs(fv.astype(np.float32) - c.astype(np.float32)[:, None, None])
    similar = diff < th
    assert not (similar & ~(d32 < hi)).any()  # the widened bound keeps every similar pixel
    assert not ((d32 < lo) & ~similar).any()  # the narrowed one accepts only similar ones
    # Only pixels within the rounding band around the threshold are left to float64.
    big = np.abs(fv).max(axis=(1, 2))[:, None, None]
    left_open = (d32 < hi) & ~(d32 < lo)
    assert (
        np.abs(diff - th)[left_open] <= (20 * big * 2.0**-24 + 4 * th * 2.0**-24)[left_open]
    ).all()
