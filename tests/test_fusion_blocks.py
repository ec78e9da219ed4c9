"""The fusion stage on a tile cut into blocks equals the whole-image computation.

A small synthetic tile-year (70 x 52 pixels, blocky MODIS, clouds, a quality mask,
one-sided and missing pairs, a block whose base images are all cloud) is fused by
``fuse_tile`` and, independently, by ``prepare``/``predict`` on the whole arrays
(what ``fuse_tile`` did before it worked in blocks).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import pytest
from _jobs import fake_job

from agrifactory.errors import ConfigError, DataError
from agrifactory.fusion import EstarfmParams, coarse_cell_labels, predict, prepare, rules
from agrifactory.fusion.metrics import agreement
from agrifactory.fusion.rules import FusionSettings, fuse_outputs
from agrifactory.fusion.tile import FLOAT_FORMAT, QA_NO_PAIR, _float_text, fuse_tile
from agrifactory.grid import PixelGrid
from agrifactory.io.modis import composite_containing, composite_starts
from agrifactory.io.pairs import PAIR_COLUMNS, write_pairs_table
from agrifactory.io.raster import read_raster, read_stack, write_grid_raster
from agrifactory.io.tables import write_table

numba.set_num_threads(1)

YEAR = 2021
GRID = PixelGrid(x_min=1_000_000.0, y_max=4_500_000.0, res=30.0, width=52, height=70)
LANDSAT = [dt.date(YEAR, m, d) for m, d in [(3, 10), (4, 27), (6, 14), (7, 16), (8, 17), (10, 4)]]
MISSING_MODIS = [dt.date(YEAR, 5, 9), dt.date(YEAR, 9, 14)]
# Held-out dates and their pairs per selector (None: the selector found none).
HELD_OUT = {
    dt.date(YEAR, 7, 16): {"quality": (LANDSAT[2], LANDSAT[4]), "nearest_clear": (LANDSAT[1], LANDSAT[4])},
    dt.date(YEAR, 8, 17): {"quality": (LANDSAT[3], LANDSAT[5]), "nearest_clear": None},
}  # fmt: skip


def _field(rng, shape, cell):
    """A parcel map: piecewise constant on ``cell`` x ``cell`` squares, jittered."""
    coarse = rng.random((shape[0] // cell + 1, shape[1] // cell + 1))
    return np.kron(coarse, np.ones((cell, cell)))[: shape[0], : shape[1]]


def _pairs_row(target, pair, method="quality"):
    if pair is None:
        p1 = p2 = None
        status = "missing_both"
    else:
        p1, p2 = pair
        status = "ok" if p1 and p2 else "missing_before" if p1 is None else "missing_after"
    return {
        "target_date": target,
        "target_doy": target.timetuple().tm_yday,
        "status": status,
        "pair1_date": p1,
        "pair1_score": 0.9 if p1 else None,
        "pair1_gap_days": -8.0 if p1 else None,
        "pair2_date": p2,
        "pair2_score": 0.8 if p2 else None,
        "pair2_gap_days": 8.0 if p2 else None,
        "reason": "" if status == "ok" else "no clear scene",
        "method": method,
    }


def _pair_for(target):
    if target == dt.date(YEAR, 11, 25):
        return None  # no pair at all
    before = [d for d in LANDSAT if d <= target]
    after = [d for d in LANDSAT if d > target]
    return (before[-1] if before else None, after[0] if after else None)


@pytest.fixture(scope="module")
def tile(tmp_path_factory):
    """Landsat, MODIS and quality-mask stacks and the two pairs tables on disk."""
    root = tmp_path_factory.mktemp("fusion_blocks")
    rng = np.random.default_rng(7)
    shape = GRID.shape
    base = 0.2 + 0.3 * _field(rng, shape, 5)
    amp = 0.4 * _field(rng, shape, 7)

    def truth(d):
        season = np.exp(-(((d.timetuple().tm_yday - 200) / 60.0) ** 2))
        return base + amp * season + 0.01 * rng.standard_normal(shape)

    landsat = np.stack([truth(d) for d in LANDSAT]).astype(np.float32)
    for k in range(len(LANDSAT)):  # a cloud per date
        r, c = rng.integers(0, 50), rng.integers(0, 35)
        landsat[k, r : r + 15, c : c + 12] = np.nan
    landsat[0, :40, :40] = np.nan  # no valid base pixel in the first block on 10 March
    mask = (rng.random(landsat.shape) < 0.03).astype(np.uint8)
    modis_dates = [d for d in composite_starts(YEAR) if d not in MISSING_MODIS]
    cells = np.kron(np.arange(18 * 13).reshape(18, 13), np.ones((4, 4)))[: shape[0], : shape[1]]
    modis = []
    for d in modis_dates:
        t = truth(d + dt.timedelta(days=4))
        means = pd.Series(t.ravel()).groupby(cells.ravel()).transform("mean").to_numpy()
        modis.append(means.reshape(shape) + 0.02)
    modis = np.stack(modis).astype(np.float32)
    modis[10, 8:16, 20:28] = np.nan  # missing MODIS cells on one date
    paths = {k: root / f"{k}.tif" for k in ("landsat", "modis", "mask")}
    names = [d.isoformat() for d in LANDSAT]
    write_grid_raster(paths["landsat"], landsat, GRID, nodata=np.nan, band_names=names)
    write_grid_raster(paths["mask"], mask, GRID, nodata=None, band_names=names)
    write_grid_raster(
        paths["modis"], modis, GRID, nodata=np.nan, band_names=[d.isoformat() for d in modis_dates]
    )
    rows = [_pairs_row(t, _pair_for(t)) for t in composite_starts(YEAR)]
    paths["pairs"] = write_pairs_table(pd.DataFrame(rows, columns=PAIR_COLUMNS), root / "pairs.csv")
    rows = [_pairs_row(d, p, m) for d, by in HELD_OUT.items() for m, p in by.items()]
    paths["validation_pairs"] = write_pairs_table(
        pd.DataFrame(rows, columns=PAIR_COLUMNS), root / "validation_pairs.csv"
    )
    return paths


def whole_image_reference(tile, params, stride=1):
    """Fused stacks, QA fractions and validation of the whole tile, without blocks
    (the validation on every ``stride``-th row and column from the tile's corner)."""
    landsat, l_dates, _ = read_stack(tile["landsat"])
    modis, m_dates, _ = read_stack(tile["modis"])
    flags, _, _ = read_stack(tile["mask"])
    landsat = np.where(flags != 0, np.nan, landsat)
    fine = dict(zip(l_dates, landsat, strict=True))
    by_date = dict(zip(m_dates, modis, strict=True))

    def coarse(d):
        return by_date.get(composite_containing(d), np.full(GRID.shape, np.nan, np.float32))

    cells = coarse_cell_labels(modis)
    models = {}

    def model(pair):
        if pair not in models:
            p1, p2 = pair
            models[pair] = prepare(fine[p1], coarse(p1), fine[p2], coarse(p2), params,
                                   coarse_cells=cells)  # fmt: skip
        return models[pair]

    ndvi, qa = [], []
    for t in composite_starts(YEAR):
        pair = _pair_for(t)
        if pair is None:
            ndvi.append(np.full(GRID.shape, np.nan, np.float32))
            qa.append(np.full(GRID.shape, QA_NO_PAIR, np.uint8))
            continue
        pair = (pair[0] or pair[1], pair[1] or pair[0])
        p, q = predict(model(pair), coarse(t))
        ndvi.append(p)
        qa.append(q)
    stats = {}
    lattice = np.zeros(GRID.shape, dtype=bool)
    lattice[::stride, ::stride] = True
    for d, by in HELD_OUT.items():
        truth = np.where(lattice, fine[d], np.nan)
        preds = {m: None if p is None else predict(model(p), coarse(d))[0] for m, p in by.items()}
        common = np.isfinite(truth)
        for pred in preds.values():
            if pred is not None:
                common &= np.isfinite(pred)
        for m, pred in preds.items():
            if pred is not None:
                cover = (np.isfinite(pred) & np.isfinite(truth)).sum() / np.isfinite(truth).sum()
                stats[(d, m)] = {
                    "coverage": cover,
                    **agreement(np.where(common, pred, np.nan), truth),
                }
    return np.stack(ndvi), np.stack(qa), stats


def _fuse(tile, tmp_path, params, **kwargs):
    tmp_path.mkdir(exist_ok=True)
    out = {k: tmp_path / f"{k}.{'tif' if k in ('ndvi', 'flags') else 'csv'}"
           for k in ("ndvi", "flags", "qa", "validation", "validation_flags",
                     "validation_scatter")}  # fmt: skip
    table = fuse_tile(tile["landsat"], tile["modis"], tile["pairs"], tile["validation_pairs"],
                      YEAR, out, params, backend="numpy", quality_mask=tile["mask"], **kwargs)  # fmt: skip
    ndvi, dates, _ = read_stack(out["ndvi"])
    flags, _ = read_raster(out["flags"], masked_to_nan=False)
    assert dates == composite_starts(YEAR)
    return ndvi, flags, table, pd.read_csv(out["validation"])


def _check_against_reference(tile, tmp_path, params, **kwargs):
    stride = kwargs.get("validation_stride", 1)
    ref_ndvi, ref_qa, ref_stats = whole_image_reference(tile, params, stride)
    ndvi, flags, table, validation = _fuse(tile, tmp_path, params, **kwargs)
    np.testing.assert_array_equal(flags, ref_qa)
    np.testing.assert_array_equal(np.isnan(ndvi), np.isnan(ref_ndvi))
    np.testing.assert_allclose(ndvi, ref_ndvi, rtol=0, atol=2e-6, equal_nan=True)
    for i, row in table.iterrows():
        q = ref_qa[i]
        assert row["predicted_fraction"] == pytest.approx(
            np.isfinite(ref_ndvi[i]).mean(), abs=1e-12
        )
        assert row["weighted_fraction"] == pytest.approx((q == 1).mean(), abs=1e-12)
        assert row["invalid_fraction"] == pytest.approx((q == 0).mean(), abs=1e-12)
        assert row["no_pair_fraction"] == pytest.approx((q == 255).mean(), abs=1e-12)
        assert row["no_pair_fraction"] == (1.0 if row["pair1_date"] == "" else 0.0)
    sides = [_pair_for(t) for t in composite_starts(YEAR)]
    assert table["single_pair"].sum() == sum(p is not None and None in p for p in sides) == 19
    assert (table["pair1_date"] == "").sum() == 1
    assert len(validation) == 4
    for _, row in validation.iterrows():
        key = (dt.date.fromisoformat(row["heldout_date"]), row["method"])
        if key not in ref_stats:
            assert row["coverage"] == 0 and row["n"] == 0 and np.isnan(row["r"])
            continue
        expected = ref_stats[key]
        assert row["n"] == expected["n"] > 100 // stride**2
        for k in ("coverage", "r", "rmse", "mad", "bias"):
            assert row[k] == pytest.approx(expected[k], rel=1e-5, abs=2e-6), k
    return ndvi, flags


@pytest.mark.parametrize("layout", ["halo", "reference"])
@pytest.mark.parametrize("tile_block", [None, 24])
def test_blocks_equal_the_whole_image(tile, tmp_path, layout, tile_block):
    """9 blocks (halo 6 px, or aligned on ESTARFM's 12 px blocks) give the whole-image result."""
    params = EstarfmParams.ndvi(half_window=3, block_size=12, layout=layout)
    ndvi, flags = _check_against_reference(tile, tmp_path, params, tile_block=tile_block)
    if layout == "reference" and tile_block:
        whole, whole_flags, _, _ = _fuse(tile, tmp_path / "whole", params, tile_block=None)
        np.testing.assert_array_equal(ndvi, whole)  # aligned blocks: bit for bit
        np.testing.assert_array_equal(flags, whole_flags)


def test_too_small_a_halo_would_show(tile, tmp_path):
    """The check has teeth: blocks of the halo layout read without their halo differ."""
    params = EstarfmParams.ndvi(half_window=3, block_size=12, layout="halo")
    ref, _, _ = whole_image_reference(tile, params)
    broken = params.model_copy(update={"layout": "reference"})  # same blocks, no halo
    ndvi, _, _, _ = _fuse(tile, tmp_path, broken, tile_block=24)
    assert np.nanmax(np.abs(ndvi - ref)) > 1e-3


def test_reference_blocks_must_hold_whole_estarfm_blocks(tile, tmp_path):
    params = EstarfmParams.ndvi(half_window=3, block_size=12, layout="reference")
    with pytest.raises(ConfigError, match="tile_block 20 is not a multiple of block_size 12"):
        _fuse(tile, tmp_path, params, tile_block=20)
    with pytest.raises(ConfigError, match="positive integer"):
        _fuse(tile, tmp_path, params, tile_block=0)


def test_a_pair_set_without_any_valid_pixel_is_an_error(tile, tmp_path):
    """Blocks without valid base pixels are fine; a whole tile without them is a DataError."""
    landsat, dates, _ = read_stack(tile["landsat"])
    landsat[dates.index(LANDSAT[5])] = np.nan
    cloudy = dict(tile, landsat=tmp_path / "cloudy.tif")
    names = [d.isoformat() for d in dates]
    write_grid_raster(cloudy["landsat"], landsat, GRID, nodata=np.nan, band_names=names)
    params = EstarfmParams.ndvi(half_window=3, block_size=12)
    with pytest.raises(DataError, match="pair set 2021-07-16 \\+ 2021-10-04: no pixel of the tile"):
        _fuse(cloudy, tmp_path / "out", params, tile_block=24)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_rule_fuse_runs_the_settings_it_is_given(tile, tmp_path):
    """``rules.fuse(job)``: the config's settings, the rule's output names, the same products."""
    config = {"half_window": 3, "block_size": 16, "layout": "reference", "tile_block": 32}
    settings = FusionSettings.build(config, "fusion")
    ndvi, flags, table, _ = _fuse(
        tile,
        tmp_path / "direct",
        settings.estarfm(),
        tile_block=32,
        fill=settings.fill,
        validation_stride=settings.validation_stride,
    )
    out = fuse_outputs(str(tmp_path / "rule"))
    job = fake_job(
        input={k: tile[k] for k in ("landsat", "modis", "pairs", "validation_pairs")}
        | {"quality_mask": tile["mask"]},
        output=out,
        params={"fusion": {**config, "backend": "numpy"}},
        wildcards={"tile": "h0v0", "year": str(YEAR)},
        log=tmp_path / "fuse.log",
    )
    rules.fuse(job)
    for key in ("qa", "validation", "validation_flags"):
        direct = (tmp_path / "direct" / f"{key}.csv").read_bytes()
        assert Path(out[key]).read_bytes() == direct, key
    np.testing.assert_array_equal(read_stack(out["ndvi"])[0], ndvi)
    np.testing.assert_array_equal(read_raster(out["flags"], masked_to_nan=False)[0], flags)
    assert "pair sets" in Path(job.log[0]).read_text()


def test_tables_are_written_as_to_csv_with_the_float_format_wrote_them(tmp_path):
    table = pd.DataFrame(
        {"d": ["2021-01-01", ""], "n": [3, 0], "r": [0.123456789, np.nan], "ok": [True, False]}
    )
    path = write_table(_float_text(table), tmp_path / "t.csv")
    expected = table.to_csv(index=False, float_format=FLOAT_FORMAT)
    assert path.read_text() == expected
