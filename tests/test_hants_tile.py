"""File-to-file entry points of the smooth and features rules, on a small tile-year COG."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from affine import Affine

from agrifactory.errors import ConfigError, InputError
from agrifactory.io.raster import read_raster, read_stack, write_raster
from agrifactory.timeseries.features import MONTHLY_NAMES, PHENOLOGY_NAMES
from agrifactory.timeseries.hants import HantsParams, hants_fit
from agrifactory.timeseries.rules import TimeseriesSettings
from agrifactory.timeseries.tile import features_tile, smooth_tile
from agrifactory.timeseries.timeaxis import days_since

ALBERS = "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +ellps=WGS84 +units=m"
YEAR = 2021
DATES = [dt.date(YEAR, 1, 1) + dt.timedelta(days=8 * i) for i in range(46)]


@pytest.fixture
def fused(tmp_path):
    rng = np.random.default_rng(0)
    t = days_since(DATES, dt.date(YEAR, 1, 1))
    season = 0.2 + 0.5 * np.exp(-(((t - 190) / 50) ** 2))
    data = (season[:, None, None] + 0.02 * rng.standard_normal((46, 6, 5))).astype(np.float32)
    data[rng.random(data.shape) < 0.2] = np.nan
    data[[10, 11], 2, 2] = 0.02  # a cloud that slipped through
    data[:, 5, 4] = np.nan  # a pixel without data
    path = tmp_path / "fused.tif"
    write_raster(
        path,
        data,
        transform=Affine(30, 0, 0, 0, -30, 3000),
        crs=ALBERS,
        nodata=np.nan,
        band_names=[d.isoformat() for d in DATES],
    )
    return path, data, t


def test_smooth_then_features(fused, tmp_path):
    path, data, t = fused
    hants = {"n_freq": 3, "valid_range": [-1, 1], "fit_error_tolerance": 0.05}
    params = TimeseriesSettings.build({"hants": hants}, "timeseries").hants
    out = {k: tmp_path / f"{k}.tif" for k in ("smoothed", "qa", "coefficients", "features")}
    smooth_tile(
        path,
        smoothed=out["smoothed"],
        qa=out["qa"],
        coefficients=out["coefficients"],
        year=YEAR,
        params=params,
        backend="numpy",
    )
    direct = hants_fit(data, t, params=params)
    smoothed, dates, meta = read_stack(out["smoothed"])
    assert dates == DATES and meta["units"][0] == "NDVI"
    np.testing.assert_allclose(smoothed, direct.reconstruct(t), atol=1e-6)
    assert np.isfinite(smoothed).all()
    qa, qa_meta = read_raster(out["qa"])
    assert qa_meta["descriptions"] == ["rmse", "n_outliers", "n_valid", "n_freq_used", "flag"]
    assert qa[4, 5, 4] == 2 and np.isnan(qa[0, 5, 4]) and qa[1, 2, 2] >= 2
    assert qa_meta["tags"]["hants_n_freq"] == "3" and qa_meta["tags"]["time_origin"] == "2021-01-01"

    names = features_tile(
        path,
        out["coefficients"],
        features=out["features"],
        year=YEAR,
        base_period=params.base_period,
        backend="numpy",
    )
    feats, f_meta = read_raster(out["features"])
    assert f_meta["descriptions"] == names and feats.shape == (13 + 12 + 8, 6, 5)
    assert f_meta["descriptions"][13:25] == MONTHLY_NAMES
    assert f_meta["descriptions"][25:] == PHENOLOGY_NAMES
    assert np.isfinite(feats).all()
    pos = feats[f_meta["descriptions"].index("pheno_pos")]
    assert np.all(np.abs(pos[:5] - 191) < 12)  # DOY of the peak (t = 190 is 10 July)


def test_bad_inputs(fused, tmp_path):
    path, data, t = fused
    with pytest.raises(
        ConfigError, match=r"timeseries.hants.n_frq: unknown key \(did you mean 'n_freq'\?\)"
    ):
        TimeseriesSettings.build({"hants": {"n_frq": 3}}, "timeseries")
    with pytest.raises(InputError, match="outside the year 2020"):
        smooth_tile(
            path, smoothed=tmp_path / "s.tif", qa=tmp_path / "q.tif",
            coefficients=tmp_path / "c.tif", year=2020, backend="numpy",
        )  # fmt: skip
    assert HantsParams().valid_range == (-1.0, 1.0)


def _smooth_and_features(path, out_dir, params, block_rows):
    out = {k: out_dir / f"{k}.tif" for k in ("smoothed", "qa", "coefficients", "features")}
    summary = smooth_tile(
        path, smoothed=out["smoothed"], qa=out["qa"], coefficients=out["coefficients"],
        year=YEAR, params=params, backend="numpy", block_rows=block_rows,
    )  # fmt: skip
    features_tile(
        path, out["coefficients"], features=out["features"], year=YEAR,
        base_period=params.base_period, backend="numpy", block_rows=block_rows,
    )  # fmt: skip
    return {k: read_raster(p) for k, p in out.items()}, summary


def test_row_blocks_give_the_whole_tile_result(tmp_path):
    """Smoothing and features of a 23 x 17 tile in blocks of 5 and 1 rows equal the whole tile."""
    rng = np.random.default_rng(3)
    t = days_since(DATES, dt.date(YEAR, 1, 1))
    peak = rng.uniform(150, 230, (23, 17))
    data = 0.15 + 0.6 * np.exp(-(((t[:, None, None] - peak) / 45) ** 2))
    data = (data + 0.02 * rng.standard_normal(data.shape)).astype(np.float32)
    data[rng.random(data.shape) < 0.25] = np.nan
    data[:, 4, :] = np.nan  # a row without data
    data[:40, 9, 3] = np.nan  # too few samples for all frequencies
    path = tmp_path / "fused.tif"
    write_raster(path, data, transform=Affine(30, 0, 0, 0, -30, 3000), crs=ALBERS,
                 nodata=np.nan, band_names=[d.isoformat() for d in DATES])  # fmt: skip
    params = HantsParams()
    whole, whole_summary = _smooth_and_features(path, _mkdir(tmp_path / "whole"), params, None)
    assert whole_summary["no_data"] == 17 and whole_summary["fewer_frequencies"] >= 1
    assert whole_summary["pixels"] == 23 * 17
    for rows in (5, 1):
        blocks, summary = _smooth_and_features(path, _mkdir(tmp_path / f"r{rows}"), params, rows)
        assert summary == whole_summary
        for name, (values, meta) in blocks.items():
            np.testing.assert_array_equal(values, whole[name][0], err_msg=name)
            assert meta["descriptions"] == whole[name][1]["descriptions"]
            assert (
                meta["units"] == whole[name][1]["units"] and meta["tags"] == whole[name][1]["tags"]
            )
    with pytest.raises(ConfigError, match="block_rows must be a positive integer"):
        _smooth_and_features(path, tmp_path, params, 0)


def _mkdir(path):
    path.mkdir()
    return path
