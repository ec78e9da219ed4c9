"""The soil-moisture report map: monthly means placed on the tiles' union 1 km grid."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from agrifactory.errors import InputError
from agrifactory.report.soil import mosaic_monthly_mean, soil_moisture_map


def _tile(path: Path, x0: float, y_top: float, surface: np.ndarray, rootzone: np.ndarray) -> Path:
    """A 2x2 km tile with two days in July and one in August (which must be ignored)."""
    time = pd.to_datetime(["2021-07-01", "2021-07-02", "2021-08-01"])
    x = x0 + 500.0 + 1000.0 * np.arange(2)
    y = y_top - 500.0 - 1000.0 * np.arange(2)
    ds = xr.Dataset(
        {
            "sm_surface": (("time", "y", "x"), surface.astype(np.float32)),
            "sm_rootzone": (("time", "y", "x"), rootzone.astype(np.float32)),
        },
        coords={"time": time, "y": y, "x": x},
    )
    ds.to_netcdf(path)
    return path


def test_two_tiles_side_by_side_give_their_july_means_in_place(tmp_path):
    days = np.stack([np.full((2, 2), 0.1), np.full((2, 2), 0.3), np.full((2, 2), 9.0)])
    west = _tile(tmp_path / "w.nc", 0.0, 2000.0, days, days + 0.1)
    east_days = days.copy()
    east_days[:, 0, 1] = [0.2, 0.4, 9.0]  # one cell with its own mean 0.3
    east = _tile(tmp_path / "e.nc", 2000.0, 2000.0, east_days, east_days)
    means, extent = mosaic_monthly_mean([west, east], 7)
    assert extent == (0.0, 4000.0, 0.0, 2000.0)
    expected = np.full((2, 4), 0.2, np.float32)
    expected[0, 3] = 0.3
    np.testing.assert_allclose(means["sm_surface"], expected, atol=1e-6)
    np.testing.assert_allclose(means["sm_rootzone"][:, :2], 0.3, atol=1e-6)


def test_a_gap_between_tiles_stays_empty(tmp_path):
    days = np.full((3, 2, 2), 0.25)
    a = _tile(tmp_path / "a.nc", 0.0, 2000.0, days, days)
    b = _tile(tmp_path / "b.nc", 4000.0, 2000.0, days, days)
    means, extent = mosaic_monthly_mean([a, b], 7)
    assert extent == (0.0, 6000.0, 0.0, 2000.0)
    assert np.isnan(means["sm_surface"][:, 2:4]).all()
    assert np.isfinite(means["sm_surface"][:, [0, 1, 4, 5]]).all()


def test_missing_month_and_missing_layer_name_the_file(tmp_path):
    days = np.full((3, 2, 2), 0.25)
    path = _tile(tmp_path / "t.nc", 0.0, 2000.0, days, days)
    with pytest.raises(InputError, match="t.nc.*month 1.*soil_moisture_month"):
        mosaic_monthly_mean([path], 1)
    xr.open_dataset(path).drop_vars("sm_rootzone").load().to_netcdf(tmp_path / "s.nc")
    with pytest.raises(InputError, match="s.nc.*sm_rootzone"):
        mosaic_monthly_mean([tmp_path / "s.nc"], 7)


def test_map_png_is_written(tmp_path):
    days = np.full((3, 2, 2), 0.25)
    path = _tile(tmp_path / "t.nc", 0.0, 2000.0, days, days)
    out = soil_moisture_map([path], tmp_path / "map.png", month=7, title="test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
