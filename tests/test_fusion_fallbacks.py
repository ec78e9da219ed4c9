"""The fusion stage's per-pixel fallbacks: single pair, temporal fill, regression fill.

The pieces are checked on hand-made arrays with values worked out by hand; the
cascade in ``fuse_tile`` on the synthetic tile-year of ``test_fusion_blocks``.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from test_fusion_blocks import GRID, LANDSAT, YEAR, _fuse, _pair_for, tile  # noqa: F401

from agrifactory.errors import ConfigError
from agrifactory.fusion import EstarfmParams, coarse_cell_labels, fuse, predict, prepare
from agrifactory.fusion.fill import (
    FillMethods,
    RegressionSums,
    fill_series,
    regression_at,
    temporal_at,
)
from agrifactory.fusion.params import (
    QA_INVALID,
    QA_NO_PAIR,
    QA_REGRESSION,
    QA_SINGLE_PAIR,
    QA_TEMPORAL_FILL,
    QA_WEIGHTED,
)
from agrifactory.fusion.rules import FillSettings, FusionSettings
from agrifactory.io.modis import composite_starts
from agrifactory.io.raster import read_stack

numba.set_num_threads(1)
NAN = np.nan


def _images(seed=3, shape=(30, 26)):
    rng = np.random.default_rng(seed)
    field = np.kron(rng.random((8, 7)), np.ones((4, 4)))[: shape[0], : shape[1]]
    fine = 0.2 + 0.5 * field + 0.01 * rng.standard_normal(shape)
    coarse = np.kron(rng.random((8, 7)), np.ones((4, 4)))[: shape[0], : shape[1]]
    coarse0 = (
        coarse + 0.1 + 0.05 * np.kron(rng.random((8, 7)), np.ones((4, 4)))[: shape[0], : shape[1]]
    )
    fine[3:9, 4:12] = NAN
    coarse0[20:24, 0:4] = NAN
    return fine, coarse, coarse0


@pytest.mark.parametrize("cells", [False, True])
def test_prepare_on_centres_gives_fuse_there(cells):
    """Only the listed centres are scanned; there the value is that of the whole image
    (with cells: ``prepare`` + ``predict`` bit for bit; ``fuse`` to float32 rounding)."""
    fine, coarse, coarse0 = _images()
    params = EstarfmParams.ndvi(half_window=3, block_size=12)
    whole, whole_qa = fuse(fine, coarse, fine, coarse, coarse0, params)
    centres = np.zeros(fine.shape, dtype=bool)
    centres[::3, 1::4] = True
    centres[20:24, 0:4] = True  # no target value there: stays invalid
    labels = coarse_cell_labels(np.stack([coarse, coarse0])) if cells else None
    model = prepare(fine, coarse, fine, coarse, params, coarse_cells=labels, centres=centres)
    pred, qa = predict(model, coarse0)
    assert int((model.n > 0).sum()) <= int(centres.sum())  # nothing scanned elsewhere
    if cells:
        full = predict(prepare(fine, coarse, fine, coarse, params, coarse_cells=labels), coarse0)
        np.testing.assert_array_equal(pred[centres], full[0][centres])
        np.testing.assert_array_equal(qa[centres], full[1][centres])
    np.testing.assert_allclose(pred[centres], whole[centres], rtol=0, atol=2e-7)
    np.testing.assert_array_equal(qa[centres], whole_qa[centres])
    assert np.isfinite(pred[centres]).sum() > 40
    assert (qa[20:24, 0:4] == QA_INVALID).all()


def test_temporal_fill_by_hand():
    """Interpolation between the nearest sources strictly before and after, within the gap."""
    days = np.array([0.0, 8, 16, 24, 32])
    values = np.array([[[0.2, 0.2]], [[NAN, 0.3]], [[NAN, NAN]], [[0.6, NAN]], [[NAN, NAN]]])
    source = np.isfinite(values)
    # Pixel 0: 0.2 at day 0, 0.6 at day 24; at day 16: 0.2 + 0.4 * 16 / 24.
    # Pixel 1: 0.3 at day 8, nothing after: no value.
    out = temporal_at(values, source, days, 16.0, max_gap=24)
    np.testing.assert_allclose(out, [[0.2 + 0.4 * 16 / 24, NAN]], rtol=0, atol=1e-15)
    # A gap of 16 days is allowed, 16 + 8 is not: day 0 is 16 days from day 16.
    assert np.isnan(temporal_at(values, source, days, 16.0, max_gap=8)).all()
    # A source at the date itself is not used (strictly before / after).
    at_24 = temporal_at(values, source, days, 24.0, max_gap=24)
    assert np.isnan(at_24).all()


def test_regression_line_by_hand():
    """Own least-squares line; too few points or flat coarse values: no line."""
    shape = (1, 3)
    sums = RegressionSums.zeros(shape)
    # Pixel 0: fine = 0.1 + 0.5 * coarse exactly, 3 points.
    # Pixel 1: only 2 points. Pixel 2: coarse always 0.5 (no slope).
    for x in (0.2, 0.4, 0.8):
        fine = np.array([[0.1 + 0.5 * x, 0.3 if x < 0.8 else NAN, x]])
        coarse = np.array([[x, x, 0.5]])
        sums.add(fine, coarse)
    a, b = sums.line(min_points=3)
    np.testing.assert_allclose([a[0, 0], b[0, 0]], [0.1, 0.5], rtol=0, atol=1e-14)
    assert np.isnan(b[0, 1:]).all() and np.isnan(a[0, 1:]).all()
    value = regression_at((a, b), np.array([[0.6, 0.6, 0.6]]), (-1.0, 1.0))
    np.testing.assert_allclose(value, [[0.4, NAN, NAN]], rtol=0, atol=1e-14)
    # Out of the open valid range: no value.
    assert np.isnan(regression_at((a, b), np.array([[2.0, 0, 0]]), (-1.0, 1.0))[0, 0])
    # Removing an observation (a held-out scene) leaves the other two.
    less = sums.without(np.array([[0.5, NAN, 0.8]]), np.array([[0.8, 0.8, 0.5]]))
    assert less.n.tolist() == [[2, 2, 2]] and sums.n.tolist() == [[3, 2, 3]]


def test_pooled_line_for_a_pixel_with_too_few_points():
    """A pixel without its own line takes the line of the square around it."""
    sums = RegressionSums.zeros((1, 3))
    # Pixels 0 and 2 lie on fine = 2 * coarse (2 points each); pixel 1 has none.
    for x in (0.1, 0.3):
        sums.add(np.array([[2 * x, NAN, 2 * x]]), np.array([[x, x, x]]))
    a, b = sums.coefficients(min_points=3, window=1)
    # Pixel 0 pools pixels 0-1 (2 points: too few); pixel 1 pools all (4 points).
    assert np.isnan(b[0, 0]) and np.isnan(b[0, 2])
    np.testing.assert_allclose([a[0, 1], b[0, 1]], [0.0, 2.0], rtol=0, atol=1e-14)
    own = sums.coefficients(min_points=2, window=1)
    np.testing.assert_allclose(own[1], [[2.0, 2.0, 2.0]], rtol=0, atol=1e-14)


def _series():
    days = np.array([0.0, 8, 16, 24])
    values = np.array([[[0.2, NAN, NAN]], [[NAN, NAN, NAN]], [[0.4, NAN, 0.5]], [[NAN] * 3]])
    flags = np.where(np.isfinite(values), QA_WEIGHTED, QA_INVALID).astype(np.uint8)
    flags[3] = QA_NO_PAIR
    # Line fine = 0.1 + 1.0 * coarse at pixels 0 and 1, none at pixel 2.
    line = (np.array([[0.1, 0.1, NAN]]), np.array([[1.0, 1.0, NAN]]))
    coarse = [np.array([[0.3, 0.2, 0.9]])] * 4
    return days, values, flags, line, coarse


@pytest.mark.parametrize("order", [["temporal", "regression"], ["regression", "temporal"]])
def test_fill_series_in_order(order):
    days, values, flags, line, coarse = _series()
    methods = FillMethods(order, 16, line, (-1.0, 1.0))
    fill_series(values, flags, days, methods, lambda t: coarse[t])
    # Pixel 0 at day 8: temporal 0.3 (midway 0.2 -> 0.4), regression 0.1 + 0.3 = 0.4.
    first = order[0]
    assert values[1, 0, 0] == pytest.approx(0.3 if first == "temporal" else 0.4, abs=1e-15)
    assert flags[1, 0, 0] == (QA_TEMPORAL_FILL if first == "temporal" else QA_REGRESSION)
    # Pixel 0 at day 24 (no pair): nothing after it, so regression in either order.
    assert values[3, 0, 0] == pytest.approx(0.4, abs=1e-15) and flags[3, 0, 0] == QA_REGRESSION
    # Pixel 1: regression only (no ESTARFM value at all): 0.1 + 0.2.
    np.testing.assert_allclose(values[:, 0, 1], 0.3, rtol=0, atol=1e-15)
    assert (flags[:, 0, 1] == QA_REGRESSION).all()
    # Pixel 2: one source, no line: nothing fills it, the flags stay as they were.
    assert np.isnan(values[[0, 1, 3], 0, 2]).all()
    assert flags[:, 0, 2].tolist() == [QA_INVALID, QA_INVALID, QA_WEIGHTED, QA_NO_PAIR]


def test_fill_settings():
    settings = FusionSettings.build({"fill": {"order": ["regression"], "max_gap_days": 16}}, "f")
    assert settings.fill.order == ["regression"] and settings.fill.max_gap_days == 16
    assert FusionSettings().fill == FillSettings()
    with pytest.raises(ConfigError, match="names a method twice"):
        FusionSettings.build({"fill": {"order": ["temporal", "temporal"]}}, "fusion")
    with pytest.raises(ConfigError, match="fusion.fill.order"):
        FusionSettings.build({"fill": {"order": ["spline"]}}, "fusion")


@pytest.fixture(scope="module")
def cascade(tile, tmp_path_factory):  # noqa: F811
    """The synthetic tile fused without and with the fallbacks."""
    root = tmp_path_factory.mktemp("fallbacks")
    params = EstarfmParams.ndvi(half_window=3, block_size=12)
    fill = FillSettings(min_points=3, window=2)
    before = _fuse(tile, root / "before", params, tile_block=24)
    after = _fuse(tile, root / "after", params, tile_block=24, fill=fill)
    return before, after, root


def test_estarfm_values_are_kept(cascade):
    """Every value ESTARFM gave with two pairs is unchanged; only empty pixels are filled."""
    (ndvi0, flags0, _, _), (ndvi, flags, _, _), _ = cascade
    kept = np.isfinite(ndvi0)
    np.testing.assert_array_equal(ndvi[kept], ndvi0[kept])
    np.testing.assert_array_equal(flags[kept], flags0[kept])
    assert set(np.unique(flags[~kept])) <= {QA_SINGLE_PAIR, QA_TEMPORAL_FILL, QA_REGRESSION,
                                            QA_INVALID, QA_NO_PAIR}  # fmt: skip


def test_flags_agree_with_values(cascade):
    """No NaN carries a value's flag, no value carries invalid or no_pair."""
    _, (ndvi, flags, table, _), _ = cascade
    empty = np.isin(flags, [QA_INVALID, QA_NO_PAIR])
    np.testing.assert_array_equal(np.isnan(ndvi), empty)
    for i, row in table.iterrows():
        assert row["unfilled_fraction"] == pytest.approx(empty[i].mean(), abs=1e-12)
        assert row["predicted_fraction"] == pytest.approx(1 - empty[i].mean(), abs=1e-12)
        for code, name in [
            (4, "single_pair_fallback"),
            (5, "temporal_fill"),
            (6, "regression_fill"),
        ]:
            assert row[f"{name}_fraction"] == pytest.approx((flags[i] == code).mean(), abs=1e-12)
    assert (flags == QA_SINGLE_PAIR).any() and (flags == QA_TEMPORAL_FILL).any()
    assert (flags == QA_REGRESSION).any()


def test_a_pixel_valid_in_one_base_gets_that_bases_single_pair_value(tile, cascade):  # noqa: F811
    """On a two-pair target, a pixel cloudy in the first base only is single-pair ESTARFM
    of the second base: the fused value equals that base's single-pair fusion there."""
    _, (ndvi, flags, _, _), _ = cascade
    params = EstarfmParams.ndvi(half_window=3, block_size=12)
    landsat, dates, _ = read_stack(tile["landsat"])
    mask, _, _ = read_stack(tile["mask"])
    landsat = np.where(mask != 0, NAN, landsat)
    modis, m_dates, _ = read_stack(tile["modis"])
    targets = composite_starts(YEAR)
    t = targets.index(next(d for d in targets if _pair_for(d) == (LANDSAT[2], LANDSAT[3])))
    f1, f2 = landsat[dates.index(LANDSAT[2])], landsat[dates.index(LANDSAT[3])]
    coarse = dict(zip(m_dates, modis, strict=True))
    from agrifactory.io.modis import composite_containing

    c2 = coarse[composite_containing(LANDSAT[3])]
    c0 = coarse[composite_containing(targets[t])]
    only2 = np.isnan(f1) & np.isfinite(f2) & np.isfinite(c2) & np.isfinite(c0)
    assert only2.sum() > 20
    assert (flags[t][only2] == QA_SINGLE_PAIR).all()
    # The whole tile is one 70 x 52 array here, and the blocks' halo (6 px) covers
    # the window and the threshold square: the single-pair value is the whole image's.
    expected, _ = fuse(f2, c2, f2, c2, c0, params)
    np.testing.assert_allclose(ndvi[t][only2], expected[only2], rtol=0, atol=2e-6)


def test_a_target_without_pair_is_filled(cascade):
    _, (ndvi, flags, table, _), _ = cascade
    t = [i for i, row in table.iterrows() if row["pair1_date"] == ""]
    assert len(t) == 1
    assert table.loc[t[0], "no_pair_fraction"] < 1
    assert np.isin(flags[t[0]], [QA_TEMPORAL_FILL, QA_REGRESSION, QA_NO_PAIR]).all()
    assert np.isfinite(ndvi[t[0]]).mean() > 0.9


def test_validation_per_flag_class(cascade):
    (_, _, _, validation0), (_, _, _, validation), root = cascade
    import pandas as pd

    v = pd.read_csv(root / "after" / "validation_flags.csv")
    assert list(v.columns) == ["heldout_date", "method", "flag", "flag_name", "coverage", "n",
                               "rmse", "bias", "baseline_rmse"]  # fmt: skip
    assert set(v["flag"]) == {1, 2, 3, 4, 5, 6} and (v["method"] == "quality").all()
    assert (v.groupby("heldout_date")["coverage"].sum() <= 1 + 1e-5).all()
    # The two-pair selector comparison is the same with and without the fallbacks.
    pd.testing.assert_frame_equal(validation, validation0)
    # The scatter holds every held-out pixel with a value, the table's n those of them
    # that also have a baseline.
    scatter = pd.read_csv(root / "after" / "validation_scatter.csv")
    per_flag = scatter.groupby("flag")["n"].sum()
    assert set(per_flag.index) <= {1, 2, 3, 4, 5, 6} and (per_flag > 0).all()
    assert (per_flag >= v.groupby("flag")["n"].sum().reindex(per_flag.index)).all()
    assert scatter["observed"].between(-0.2, 0.98).all()
    weighted = v[v["flag"] == QA_WEIGHTED]
    assert (weighted["n"] > 100).all()
    assert (weighted["rmse"] < weighted["baseline_rmse"]).all()
