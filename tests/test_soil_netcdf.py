"""The CF NetCDF writer: layout, attributes, compression, round trip, atomic write."""

from __future__ import annotations

import datetime as dt

import netCDF4
import numpy as np
import pytest

from agrifactory.grid import Tile
from agrifactory.soil_moisture.netcdf import read_sm_netcdf, write_sm_netcdf


def test_write_and_read_back(tmp_path):
    grid = Tile(300, 200, 6).grid(res=1000.0)
    days = [dt.date(2021, 1, 1) + dt.timedelta(days=i) for i in range(3)]
    rng = np.random.default_rng(0)
    surface = rng.uniform(0.05, 0.4, (3,) + grid.shape).astype(np.float32)
    surface[1, 2, 3] = np.nan
    rootzone = surface / 2
    path = write_sm_netcdf(
        tmp_path / "sm.nc",
        {"surface": surface, "rootzone": rootzone},
        grid,
        days,
        depths={"surface": (0, 0.1), "rootzone": (0.1, 1.0)},
        title="test",
        attrs={"tile": "h300v200"},
    )
    assert [p.name for p in tmp_path.iterdir()] == ["sm.nc"]  # no temporary left behind
    with netCDF4.Dataset(path) as nc:
        assert nc.Conventions == "CF-1.11" and nc.tile == "h300v200"
        assert nc["sm_surface"].dimensions == ("time", "y", "x")
        assert nc["sm_surface"].dtype == np.int16
        assert nc["sm_surface"].filters()["zlib"] is True
        assert nc["sm_surface"].units == "m3 m-3"
        assert nc["sm_surface"].grid_mapping == "crs"
        assert nc["crs"].grid_mapping_name == "albers_conical_equal_area"
        assert list(nc["crs"].standard_parallel) == [25.0, 47.0]
        assert nc["crs"].longitude_of_central_meridian == 105.0
        assert nc["x"].standard_name == "projection_x_coordinate"
        assert nc["time"].units == "days since 1970-01-01"
        assert nc["x"][0] == grid.x_min + 500 and nc["y"][0] == grid.y_max - 500
    layers, back_grid, back_days, attrs = read_sm_netcdf(path)
    assert back_grid == grid and back_days == days
    np.testing.assert_allclose(layers["surface"], surface, atol=5.1e-5)  # 1e-4 steps
    assert np.isnan(layers["surface"][1, 2, 3])
    assert attrs["depths"]["rootzone"] == (0.1, 1.0)


def test_refuses_wrong_shapes_and_units(tmp_path):
    grid = Tile(300, 200, 6).grid(res=1000.0)
    days = [dt.date(2021, 1, 1)]
    with pytest.raises(ValueError, match="shape"):
        write_sm_netcdf(
            tmp_path / "a.nc",
            {"surface": np.zeros((2, 6, 6))},
            grid,
            days,
            depths={"surface": (0, 0.1)},
            title="t",
        )
    with pytest.raises(ValueError, match="not m3/m3"):
        write_sm_netcdf(
            tmp_path / "a.nc",
            {"surface": np.full((1, 6, 6), 35.0)},
            grid,
            days,
            depths={"surface": (0, 0.1)},
            title="t",
        )
    assert not list(tmp_path.iterdir())
