"""ESTARFM on tiny images whose results were worked out by hand; bad input."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from pydantic import ValidationError

from agrifactory.errors import ConfigError, DataError, GridError
from agrifactory.fusion import (
    QA_INVALID,
    QA_OUT_OF_RANGE,
    QA_TEMPORAL,
    QA_WEIGHTED,
    EstarfmParams,
    coarse_cell_labels,
    fuse,
    predict,
    prepare,
)
from agrifactory.fusion.metrics import SCATTER_BINS, agreement, scatter_counts, scatter_table
from agrifactory.fusion.reference import fuse_reference

numba.set_num_threads(1)


def both(*images, params):
    """Fast and reference results; they must agree before a value is checked."""
    fast, qa = fuse(*images, params)
    ref, ref_qa = fuse_reference(*images, params)
    np.testing.assert_array_equal(qa, ref_qa.reshape(qa.shape))
    np.testing.assert_allclose(fast, ref.reshape(fast.shape), rtol=1e-6)
    return fast, qa


def test_single_pixel_takes_the_temporal_fallback():
    # One pixel: the window holds only the centre (n = 1 <= 5), so step 5 applies.
    # Window means are the pixel itself: d1 = 130 - 110 = 20, d2 = 130 - 190 = -60.
    # T1 = (1/20) / (1/20 + 1/60) = 3/4, T2 = 1/4.
    # F0 = 3/4 * (100 + 20) + 1/4 * (200 - 60) = 90 + 35 = 125.
    img = lambda v: np.array([[v]], dtype=np.float64)  # noqa: E731
    pred, qa = both(img(100), img(110), img(200), img(190), img(130), params=EstarfmParams())
    assert pred[0, 0] == pytest.approx(125.0, abs=1e-4)
    assert qa[0, 0] == QA_TEMPORAL


def _pairs():
    # C1 rises by 10 along the rows; F = C at both dates; C2 = C1 + 300; C0 is 1100 in
    # the first row and 1200 in the second.
    c1 = np.array([[1000, 1010, 1020, 1030], [1040, 1050, 1060, 1070]], dtype=np.float64)
    c2 = c1 + 300
    c0 = np.array([[1100.0] * 4, [1200.0] * 4])
    return c1.copy(), c1, c2.copy(), c2, c0


# w = 3 makes every window the whole 2 x 4 image. classes = 0.5 makes the threshold
# 4 * std(F, ddof=1) = 4 * sqrt(600) = 98 > 70, the largest difference: all 8 pixels
# are similar. F = C gives R = 1 for all, so CD = 1e-7 and W = 1/8 each.
HAND = EstarfmParams(half_window=3, classes=0.5, background=None)


def test_weighted_prediction_by_hand():
    # Coarse change between the base dates: |1035 - 1335| = 300 >= 0.02 * 10000, and the
    # 16 stacked points lie on F = C: V = 1 (perfect, significant fit).
    # sum W*C0 = 1150, sum W*C1 = 1035, sum W*C2 = 1335, so
    # F01 = F1 + (1150 - 1035) = F1 + 115 and F02 = F2 + (1150 - 1335) = F1 + 300 - 185;
    # both equal F1 + 115, so F0 = F1 + 115 whatever T1, T2.
    f1, c1, f2, c2, c0 = _pairs()
    pred, qa = both(f1, c1, f2, c2, c0, params=HAND)
    np.testing.assert_allclose(pred, f1 + 115, rtol=1e-7)
    assert (qa == QA_WEIGHTED).all()


def test_out_of_range_fallback_by_hand():
    # Same images, valid range (0, 1150): predictions 1155 ... 1185 are >= 1150 and fall
    # back to T1 * sum W*F1 + T2 * sum W*F2 with d1 = |1150 - 1035| = 115 and
    # d2 = |1150 - 1335| = 185, so T1 = 185/300, T2 = 115/300 and the fallback is
    # (185 * 1035 + 115 * 1335) / 300 = 345000 / 300 = 1150. (V = 1 still: the change of
    # 300 exceeds 0.02 * 1150 = 23.)
    f1, c1, f2, c2, c0 = _pairs()
    params = EstarfmParams(half_window=3, classes=0.5, background=None, valid_range=(0, 1150))
    pred, qa = both(f1, c1, f2, c2, c0, params=params)
    np.testing.assert_allclose(pred[0], f1[0] + 115, rtol=1e-7)
    np.testing.assert_allclose(pred[1], 1150.0, rtol=1e-7)
    assert (qa[0] == QA_WEIGHTED).all() and (qa[1] == QA_OUT_OF_RANGE).all()


@pytest.mark.parametrize("where", ["fine1", "coarse0_background"])
def test_masked_pixel_is_never_used(where):
    # Pixel (1, 3) is masked: the other 7 remain similar (threshold 4 * std of
    # 1000..1060 = 86 > 60), n = 7 > 5, W = 1/7 each, V = 1 (change 300).
    # sum W*C0 = (4 * 1100 + 3 * 1200) / 7 = 8000/7, sum W*C1 = 7210/7 = 1030, so
    # F0 = F1 + 8000/7 - 1030 = F1 + 790/7 (both pairs again give the same value).
    f1, c1, f2, c2, c0 = _pairs()
    params = HAND
    if where == "fine1":
        f1[1, 3] = np.nan
    else:
        c0[1, 3] = -9999.0
        params = EstarfmParams(half_window=3, classes=0.5, background=-9999.0)
    pred, qa = both(f1, c1, f2, c2, c0, params=params)
    keep = np.ones((2, 4), dtype=bool)
    keep[1, 3] = False
    np.testing.assert_allclose(pred[keep], c1[keep] + 790 / 7, rtol=1e-7)
    assert np.isnan(pred[1, 3]) and qa[1, 3] == QA_INVALID
    assert (qa[keep] == QA_WEIGHTED).all()
    # Whatever the masked pixel holds in the other images, nothing changes.
    for img in (c1, f2, c2) if where == "fine1" else (f1, c1, f2, c2):
        img[1, 3] = 1e6
    again, _ = fuse(f1, c1, f2, c2, c0, params)
    np.testing.assert_array_equal(again, pred)


def test_prepare_predict_equals_fuse_by_hand():
    f1, c1, f2, c2, c0 = _pairs()
    model = prepare(f1, c1, f2, c2, HAND, coarse_cells=coarse_cell_labels(c1, c2, c0))
    pred, qa = predict(model, c0)
    np.testing.assert_allclose(pred, f1 + 115, rtol=1e-7)
    assert (qa == QA_WEIGHTED).all()


def test_zero_variance_fine_image_falls_back_to_temporal():
    # A constant fine image gives a threshold of 0: only the centre is similar (n = 1),
    # so every pixel takes the documented temporal fallback, F0 = F + mean coarse change.
    f1, c1, f2, c2, c0 = _pairs()
    f1[:] = 500.0
    pred, qa = both(f1, c1, f2, c2, c0, params=HAND)
    assert (qa == QA_TEMPORAL).all()
    assert np.isfinite(pred).all()


def test_shape_mismatch_names_the_image():
    f1, c1, f2, c2, c0 = _pairs()
    with pytest.raises(GridError, match="coarse2"):
        fuse(f1, c1, f2, c2[:, :3], c0, HAND)
    with pytest.raises(GridError, match="coarse0"):
        fuse(f1, c1, f2, c2, np.stack([c0, c0]), HAND)


def test_all_masked_base_is_an_error():
    f1, c1, f2, c2, c0 = _pairs()
    f2[:] = np.nan
    with pytest.raises(DataError, match="no pixel is valid in all four base images"):
        fuse(f1, c1, f2, c2, c0, HAND)


def test_missing_target_gives_invalid_qa_not_an_error():
    f1, c1, f2, c2, c0 = _pairs()
    model = prepare(f1, c1, f2, c2, HAND)
    pred, qa = predict(model, np.full_like(c0, np.nan))
    assert np.isnan(pred).all() and (qa == QA_INVALID).all()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"half_window": 0},
        {"classes": 0},
        {"valid_range": (1.0, 1.0)},
        {"layout": "tiles"},
        {"background": float("nan")},
        {"significance": 1.5},
        {"significance": 1.0},
        {"min_candidates": -1},
    ],
)
def test_bad_params_are_config_errors(kwargs):
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        EstarfmParams.build(kwargs, "")
    with pytest.raises(ValidationError):
        EstarfmParams(**kwargs)


def test_ndvi_params():
    p = EstarfmParams.ndvi()
    assert p.valid_range == (-1.0, 1.0) and p.background is None
    assert p.coarse_change_threshold == pytest.approx(0.02)


def test_agreement_by_hand():
    # prediction - truth = [1, -1, 2] (the NaN pair is left out): bias 2/3,
    # MAD 4/3, RMSE sqrt(6/3); the values rise together: r = corr([2,3,6],[1,4,4]).
    pred = np.array([2.0, 3.0, 6.0, np.nan])
    truth = np.array([1.0, 4.0, 4.0, 5.0])
    m = agreement(pred, truth)
    assert m["n"] == 3
    assert m["bias"] == pytest.approx(2 / 3) and m["mad"] == pytest.approx(4 / 3)
    assert m["rmse"] == pytest.approx(np.sqrt(2.0))
    # dx = [-5/3, -2/3, 7/3], dy = [-2, 1, 1]: sum dx dy = 10/3 - 2/3 + 7/3 = 5,
    # |dx|^2 = 78/9 = 26/3, |dy|^2 = 6, so r = 5 / sqrt(52).
    assert m["r"] == pytest.approx(5 / np.sqrt(52))
    assert np.isnan(agreement(np.array([1.0]), np.array([np.nan]))["r"])


def test_held_out_scatter_bins_by_hand():
    # Bins of 0.02 from -0.2: 0.005 -> (0.205 / 0.02 = 10.25) bin 10, 0.015 -> 10,
    # 0.011 -> 10, 0.031 -> 11, 0.51 -> 35, 0.49 -> 34; beyond the range to the edge
    # bins (1.3 and 1.0 -> 59, -0.5 and -0.19 -> 0); the NaN observation is left out.
    observed = np.array([0.005, 0.011, 0.51, np.nan, 1.3, -0.5, 0.012])
    fused = np.array([0.015, 0.031, 0.49, 0.2, 1.0, -0.19, 0.016])
    counts = scatter_counts(observed, fused)
    assert counts.shape == (SCATTER_BINS, SCATTER_BINS) == (60, 60)
    expected = {(10, 10): 2, (10, 11): 1, (35, 34): 1, (59, 59): 1, (0, 0): 1}
    assert {tuple(map(int, ij)): int(counts[tuple(ij)]) for ij in np.argwhere(counts)} == expected
    table = scatter_table({1: counts, 4: np.zeros_like(counts)}, {1: "weighted", 4: "single"})
    assert table.columns.tolist() == ["flag", "flag_name", "observed", "fused", "n"]
    rows = set(table.itertuples(index=False, name=None))
    assert rows == {(1, "weighted", 0.0, 0.0, 2), (1, "weighted", 0.0, 0.02, 1),
                    (1, "weighted", 0.5, 0.48, 1), (1, "weighted", 0.98, 0.98, 1),
                    (1, "weighted", -0.2, -0.2, 1)}  # fmt: skip
