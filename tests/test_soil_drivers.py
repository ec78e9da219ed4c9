"""Driver files: bilinear sampling, gap-filling to daily, aggregation, slope, bad inputs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from affine import Affine

from agrifactory.errors import ConfigError, DataError, InputError
from agrifactory.io.raster import write_raster
from agrifactory.soil_moisture.drivers import (
    EARTH_M_PER_DEG,
    aggregate_drivers,
    sample_drivers,
    year_days,
)
from agrifactory.synthetic.soil_moisture import composite_starts

RES = 0.01
WEST, NORTH = 114.0, 41.5
SHAPE = (50, 50)
TRANSFORM = Affine(RES, 0, WEST, 0, -RES, NORTH)
LON = WEST + (np.arange(SHAPE[1]) + 0.5) * RES
LAT = NORTH - (np.arange(SHAPE[0]) + 0.5) * RES


def _write(path, data, names, units="1"):
    write_raster(
        path,
        np.asarray(data, np.float32),
        transform=TRANSFORM,
        crs="EPSG:4326",
        nodata=np.nan,
        band_names=names,
        units=units,
    )
    return path


@pytest.fixture()
def drivers(tmp_path):
    lon2, lat2 = np.meshgrid(LON, LAT)
    plane = (lon2 - WEST) * 10 + (lat2 - 41.0) * 5  # linear in lon and lat
    starts = composite_starts(2021)
    comp = np.stack([plane + k for k in range(len(starts))])  # +1 per composite
    days = year_days(2021)
    precip = np.zeros((len(days),) + SHAPE)
    precip[[0, 2]] = 10.0  # rain on 1 and 3 January
    names8 = [d.isoformat() for d in starts]
    dem = 1000 + 0.05 * (lon2 - WEST) * EARTH_M_PER_DEG * np.cos(np.deg2rad(lat2))
    paths = {
        "ndvi": _write(tmp_path / "ndvi.tif", comp, names8),
        "lst_day": _write(tmp_path / "lst_day.tif", comp + 300, names8, "K"),
        "lst_night": _write(tmp_path / "lst_night.tif", comp + 280, names8, "K"),
        "albedo": _write(tmp_path / "albedo.tif", comp, names8),
        "precip": _write(tmp_path / "precip.tif", precip, [d.isoformat() for d in days], "mm"),
        "dem": _write(tmp_path / "dem.tif", dem[None], ["dem"], "m"),
        "sand": _write(tmp_path / "sand.tif", plane[None], ["sand"]),
        "clay": _write(tmp_path / "clay.tif", plane[None] / 2, ["clay"]),
    }
    return paths


def test_bilinear_sampling_is_exact_on_a_plane(drivers):
    lon = np.array([114.013, 114.2471, 114.4])
    lat = np.array([41.4312, 41.2, 41.05])
    vals = sample_drivers(drivers, lon, lat, 2021)
    expected = (lon - WEST) * 10 + (lat - 41.0) * 5
    np.testing.assert_allclose(vals.static["sand"], expected, atol=1e-4)
    np.testing.assert_allclose(vals.static["clay"], expected / 2, atol=1e-4)
    # 8-day composites to daily: composite k (+k) sits at day 8k + 3.5
    ndvi = vals.dynamic["ndvi"][:, 0]
    assert ndvi[0] == pytest.approx(expected[0], abs=1e-4)  # held before the first centre
    assert ndvi[12] - ndvi[11] == pytest.approx(1 / 8, abs=1e-4)  # linear between centres
    assert vals.dynamic["lst_diff"][100, 1] == pytest.approx(20.0, abs=1e-3)
    # antecedent precipitation: 10 mm on day 0 and day 2, k = 0.8
    np.testing.assert_allclose(vals.dynamic["api_fast"][:4, 0], [10, 8, 16.4, 13.12], rtol=1e-5)
    # slope of a plane rising 5 m per 100 m
    np.testing.assert_allclose(vals.static["slope"], np.rad2deg(np.arctan(0.05)), atol=0.05)
    assert len(vals.days) == 365 and vals.days[0] == dt.date(2021, 1, 1)


def test_aggregation_to_cells(drivers):
    coarse = Affine(0.25, 0, WEST, 0, -0.25, NORTH)
    vals = aggregate_drivers(drivers, coarse, (2, 2), 2021)
    lon_c = WEST + np.array([0.125, 0.375])
    # sand is linear in lon: area-weighted cell means equal the centre-lon value in lon
    lon_part = (lon_c - WEST) * 10
    got = vals.static["sand"] - vals.static["sand"][:, :1]
    np.testing.assert_allclose(got[0], lon_part - lon_part[0], atol=1e-4)
    assert vals.dynamic["precip"].shape == (365, 2, 2)
    np.testing.assert_allclose(vals.dynamic["precip"][0], 10.0)


def test_bad_driver_inputs(drivers, tmp_path):
    with pytest.raises(ConfigError, match="not configured"):
        sample_drivers({k: v for k, v in drivers.items() if k != "albedo"}, [114.1], [41.1], 2021)
    weekly = dict(drivers)
    weekly["precip"] = _write(
        tmp_path / "p8.tif",
        np.zeros((46,) + SHAPE),
        [d.isoformat() for d in composite_starts(2021)],
    )
    with pytest.raises(InputError, match="precipitation must be daily"):
        sample_drivers(weekly, [114.1], [41.1], 2021)
    holes = np.zeros((365,) + SHAPE)
    holes[5] = np.nan
    gappy = dict(drivers)
    gappy["precip"] = _write(tmp_path / "ph.tif", holes, [d.isoformat() for d in year_days(2021)])
    with pytest.raises(DataError, match="cannot be interpolated"):
        sample_drivers(gappy, [114.1], [41.1], 2021)
    undated = dict(drivers)
    undated["ndvi"] = _write(tmp_path / "nd.tif", np.zeros((2,) + SHAPE), ["a", "b"])
    with pytest.raises(InputError, match="is not a date"):
        sample_drivers(undated, [114.1], [41.1], 2021)
    with pytest.raises(InputError, match="does not cover"):
        sample_drivers(drivers, [120.0], [30.0], 2021)
