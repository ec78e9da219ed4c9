"""Reanalysis reader: layouts, units, and the bad inputs the issue names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from agrifactory.errors import ConfigError, InputError
from agrifactory.io.reanalysis import read_reanalysis, unit_kind

DAYS = pd.date_range("2021-01-01", periods=3, freq="D")
LAT = np.array([41.875, 41.625])  # descending, like GLEAM
LON = np.array([113.375, 113.625, 113.875])


def _values(scale: float = 1.0) -> np.ndarray:
    """(time, lat, lon) values with every element distinct: 0.1 + t/100 + i/1000 + j/10000."""
    t, i, j = np.meshgrid(np.arange(3), np.arange(2), np.arange(3), indexing="ij")
    return ((0.1 + t / 100 + i / 1000 + j / 10000) * scale).astype(np.float32)


def _write(
    path,
    data,
    *,
    dims=("time", "lat", "lon"),
    names=("lat", "lon"),
    units="m3/m3",
    var="SMs",
    lat=LAT,
):
    arr = data if dims == ("time", "lat", "lon") else data.transpose(0, 2, 1)
    lat_name, lon_name = names
    dim_names = tuple({"lat": lat_name, "lon": lon_name}.get(d, d) for d in dims)
    da = xr.DataArray(arr, dims=dim_names, coords={"time": DAYS, lat_name: lat, lon_name: LON})
    if units is not None:
        da.attrs["units"] = units
    da.to_dataset(name=var).to_netcdf(path)
    return path


def test_gleam_layout_is_normalised(tmp_path):
    # GLEAM v3: (time, lon, lat), latitude descending
    path = _write(tmp_path / "SMs_2021_GLEAM_v3.8a.nc", _values(), dims=("time", "lon", "lat"))
    da = read_reanalysis(path, "SMs")
    assert da.dims == ("time", "lat", "lon")
    assert list(da["lat"].values) == [41.875, 41.625]
    np.testing.assert_allclose(da.values, _values())
    assert da.dtype == np.float32 and da.attrs["units"] == "m3/m3"


@pytest.mark.parametrize("names", [("lat", "lon"), ("latitude", "longitude")])
def test_ascending_latitude_and_long_names(tmp_path, names):
    vals = _values()[:, ::-1, :]  # rows stored south to north
    path = _write(tmp_path / "a.nc", vals, names=names, lat=LAT[::-1], units="m3 m-3")
    da = read_reanalysis(path, "SMs", bbox=(113.25, 41.5, 113.75, 42.0), year=2021)
    assert list(da["lat"].values) == [41.875, 41.625]
    assert list(da["lon"].values) == [113.375, 113.625]
    np.testing.assert_allclose(da.values, _values()[:, :, :2])


def test_missing_variable_names_file_and_lists_what_is_there(tmp_path):
    path = _write(tmp_path / "b.nc", _values(), var="SMroot")
    with pytest.raises(InputError, match=r"b\.nc.*no variable 'SMs'.*present: SMroot"):
        read_reanalysis(path, "SMs")


def test_percent_is_never_mixed_silently(tmp_path):
    pct_attr = _write(tmp_path / "p1.nc", _values(100), units="%")
    with pytest.raises(InputError, match="is in percent.*config says m3/m3"):
        read_reanalysis(pct_attr, "SMs")
    pct_values = _write(tmp_path / "p2.nc", _values(100), units="m3/m3")
    with pytest.raises(InputError, match="values up to 12.*look like percent"):
        read_reanalysis(pct_values, "SMs")
    no_attr = _write(tmp_path / "p3.nc", _values(100), units=None)
    with pytest.raises(InputError, match="look like percent"):
        read_reanalysis(no_attr, "SMs")
    # the explicit, configured conversion
    da = read_reanalysis(pct_attr, "SMs", units="percent")
    np.testing.assert_allclose(da.values, _values(), rtol=1e-6)
    assert da.attrs["units"] == "m3/m3"
    # a fraction file read as percent is refused as well
    frac = _write(tmp_path / "p4.nc", _values(), units="m3/m3")
    with pytest.raises(InputError, match="config says percent"):
        read_reanalysis(frac, "SMs", units="percent")


def test_other_bad_inputs(tmp_path):
    neg = _write(tmp_path / "n.nc", _values() - 0.5)
    with pytest.raises(InputError, match="negative values"):
        read_reanalysis(neg, "SMs")
    kg = _write(tmp_path / "k.nc", _values(), units="kg m-2")
    with pytest.raises(InputError, match="not a volumetric"):
        read_reanalysis(kg, "SMs")
    with pytest.raises(InputError, match="not found"):
        read_reanalysis(tmp_path / "none.nc", "SMs")
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"not a netcdf file")
    with pytest.raises(InputError, match="cannot be opened as NetCDF"):
        read_reanalysis(bad, "SMs")
    ok = _write(tmp_path / "o.nc", _values())
    with pytest.raises(InputError, match="inside the region"):
        read_reanalysis(ok, "SMs", bbox=(0, 0, 1, 1))
    with pytest.raises(ConfigError, match="not supported"):
        read_reanalysis(ok, "SMs", units="kg/m2")


def test_years_concatenate(tmp_path):
    a = _write(tmp_path / "a.nc", _values())
    da = read_reanalysis([a], "SMs", year=2021)
    assert da.sizes["time"] == 3
    with pytest.raises(InputError, match="overlap in time"):
        read_reanalysis([a, a], "SMs")


@pytest.mark.parametrize(
    ("units", "kind"),
    [
        ("m3/m3", "fraction"),
        ("m^3/m^3", "fraction"),
        ("cm3/cm3", "fraction"),
        ("m3 m-3", "fraction"),
        ("%", "percent"),
        ("% vol", "percent"),
        ("", None),
        (None, None),
        ("mm", "other"),
    ],
)
def test_unit_kind(units, kind):
    assert unit_kind(units) == kind
