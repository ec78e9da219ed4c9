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


# --------------------------------------------------------------------------- ERA5 conventions


def test_valid_time_and_longitudes_0_to_360_are_normalised(tmp_path):
    # new CDS layout: valid_time dimension, longitudes 0..360, latitude descending
    lon = np.array([0.0, 90.0, 180.0, 270.0])
    vals = np.arange(3 * 2 * 4, dtype=np.float32).reshape(3, 2, 4) / 100
    da = xr.DataArray(
        vals,
        dims=("valid_time", "latitude", "longitude"),
        coords={"valid_time": DAYS, "latitude": LAT, "longitude": lon},
        attrs={"units": "m**3 m**-3"},
    )
    da.to_dataset(name="swvl1").to_netcdf(tmp_path / "era5.nc")
    got = read_reanalysis(tmp_path / "era5.nc", "swvl1")
    # 180 and 270 become -180 and -90 and move to the west end
    assert list(got["lon"].values) == [-180.0, -90.0, 0.0, 90.0]
    np.testing.assert_array_equal(got.values, vals[:, :, [2, 3, 0, 1]])
    assert list(got["time"].values) == list(DAYS.values)
    east = read_reanalysis(tmp_path / "era5.nc", "swvl1", bbox=(-100.0, 41.0, -80.0, 42.0))
    np.testing.assert_array_equal(east.values, vals[:, :, [3]])  # lon 270 = -90


def test_packed_values_land_mask_and_negative_tolerance(tmp_path):
    vals = _values()
    vals[0, 0, 0] = -0.0004  # packing noise near zero
    lsm = np.array([[1.0, 0.5, 0.49], [0.0, 1.0, 1.0]], dtype=np.float32)
    ds = xr.Dataset(
        {
            "swvl1": (("time", "lat", "lon"), vals, {"units": "m**3 m**-3"}),
            "lsm": (("lat", "lon"), lsm),
        },
        coords={"time": DAYS, "lat": LAT, "lon": LON},
    )
    # int16 with scale_factor 1e-4: xarray decodes to the values within 0.5e-4
    packed = {"dtype": "int16", "scale_factor": 1e-4, "_FillValue": -32767}
    ds.to_netcdf(tmp_path / "p.nc", encoding={"swvl1": packed})
    with pytest.raises(InputError, match=r"negative values \(min -0.0004\).*negative_tolerance"):
        read_reanalysis(tmp_path / "p.nc", "swvl1")
    got = read_reanalysis(tmp_path / "p.nc", "swvl1", negative_tolerance=0.001, land_mask="lsm")
    sea = np.array([[False, False, True], [True, False, False]])
    assert np.isnan(got.values[:, sea]).all() and np.isfinite(got.values[:, ~sea]).all()
    want = vals.copy()
    want[0, 0, 0] = 0.0
    np.testing.assert_allclose(got.values[:, ~sea], want[:, ~sea], atol=0.5e-4)
    with pytest.raises(InputError, match=r"p\.nc.*no variable 'LSM'.*present: lsm, swvl1"):
        read_reanalysis(tmp_path / "p.nc", "swvl1", land_mask="LSM", negative_tolerance=0.001)


ERA5 = ("ERA5_AN_20100101_0000.nc", "ERA5_AN_20100101_1200.nc")
#: soil_moisture.region_bbox of config/china.yaml
CHINA_BBOX = (73.0, 18.0, 135.5, 54.0)


@pytest.fixture(scope="module")
def era5_china(shared_data):
    files = [shared_data / "era5_sample" / f for f in ERA5]
    opts = {"land_mask": "lsm", "negative_tolerance": 0.02, "bbox": CHINA_BBOX}
    return {v: read_reanalysis(files, v, **opts) for v in ("swvl1", "swvl2")}


def test_era5_global_file(shared_data):
    files = [shared_data / "era5_sample" / f for f in ERA5]
    with pytest.raises(InputError, match=r"0000\.nc.*'swvl1' has negative values \(min -0.009\)"):
        read_reanalysis(files, "swvl1")  # GRIB packing noise is refused unless tolerated
    with pytest.raises(InputError, match=r"no variable 'SMs'; .*present: lsm, swvl1, swvl2"):
        read_reanalysis(files, "SMs")
    da = read_reanalysis(files, "swvl1", negative_tolerance=0.02)
    assert da.shape == (2, 721, 1440)
    assert [str(t) for t in da["time"].values.astype("datetime64[m]")] == [
        "2010-01-01T00:00",
        "2010-01-01T12:00",
    ]
    assert da["lat"].values[[0, -1]].tolist() == [90.0, -90.0]
    assert da["lon"].values[[0, -1]].tolist() == [-180.0, 179.75]
    raw = xr.open_dataset(files[0])["swvl1"]
    # stored at longitude 359.75 (0.25 W) -> -0.25; 180.0 -> -180
    for stored, wrapped in ((359.75, -0.25), (180.0, -180.0), (116.25, 116.25)):
        assert da.sel(lon=wrapped, lat=40.0).values[0] == raw.sel(longitude=stored, latitude=40.0)


def test_era5_china_cells_pinned(era5_china):
    sm1, sm2 = era5_china["swvl1"], era5_china["swvl2"]
    # 18..54 N by 0.25 deg: 145 rows; 73..135.5 E: 251 columns (edges included)
    assert sm1.shape == (2, 145, 251) == sm2.shape
    # lsm >= 0.5 on 29,561 of the 36,395 cells (the bbox holds sea, so also neighbours' land)
    assert int(sm1.isel(time=0).notnull().sum()) == 29561
    assert sm1.attrs["units"] == "m3/m3" and sm1.dtype == np.float32
    # values printed once from the files at the cells (lat, lon), 00:00 and 12:00; the
    # reader only selects them (float32: 1e-6 is a few units in the last place)
    pinned = {
        (40.0, 116.25): ([0.276019, 0.276126], [0.291237, 0.291565]),  # Beijing
        (30.5, 114.25): ([0.319553, 0.317192], [0.333109, 0.331552]),  # Wuhan
        (34.0, 102.25): ([0.335797, 0.335987], [0.340195, 0.340172]),  # Maqu (MAQU CST)
        (39.0, 83.0): ([0.066416, 0.070000], [0.000006, 0.000006]),  # Taklamakan
    }
    for (lat, lon), (v1, v2) in pinned.items():
        np.testing.assert_allclose(sm1.sel(lat=lat, lon=lon).values, v1, atol=1e-6)
        np.testing.assert_allclose(sm2.sel(lat=lat, lon=lon).values, v2, atol=1e-6)
    # sea (lsm 0): South China Sea and the Yellow Sea are missing
    assert np.isnan(sm1.sel(lat=20.0, lon=115.0).values).all()
    assert np.isnan(sm1.sel(lat=35.0, lon=123.0).values).all()


def test_era5_daily_mean(shared_data, era5_china):
    files = [shared_data / "era5_sample" / f for f in ERA5]
    day = read_reanalysis(
        files, "swvl1", land_mask="lsm", negative_tolerance=0.02, bbox=CHINA_BBOX, daily_mean=True
    )
    assert day.sizes["time"] == 1 and str(day["time"].values[0])[:19] == "2010-01-01T00:00:00"
    np.testing.assert_allclose(day.values[0], era5_china["swvl1"].mean("time").values, rtol=1e-6)
