"""Daily coarse soil-moisture reanalysis (GLEAM and alike) from NetCDF.

:func:`read_reanalysis` opens one file or several (one per year, concatenated
along time), picks one variable, and returns it normalised to dimensions
``(time, lat, lon)`` with latitude descending (north up, like a raster), values
in m3/m3 as float32 and missing values as NaN. It accepts ``lat``/``latitude``
and ``lon``/``longitude`` coordinates in either dimension order and either
latitude direction (GLEAM v3 stores ``(time, lon, lat)`` with latitude
descending).

Units are never mixed silently. The expected unit comes from the caller
(``units``, default ``m3/m3``):

* ``m3/m3``: the file's ``units`` attribute, when present, must be a volumetric
  fraction (``m3/m3``, ``m3 m-3``, ``m^3/m^3``, ``cm3/cm3``, ...), and no value may
  exceed 1; values up to 100 in a file that says ``m3/m3`` are reported as
  probable percent.
* ``percent``: the file's attribute must say percent (``%``, ``percent``,
  ``% vol``) or be absent; values are divided by 100, which is logged.

Any other combination is an :class:`~agrifactory.errors.InputError` that names
the file, the variable, the unit found and the unit configured.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from agrifactory.errors import ConfigError, InputError

log = logging.getLogger(__name__)

#: GLEAM v3 variable names of the two layers.
GLEAM_VARIABLES = {"surface": "SMs", "rootzone": "SMrz"}

LAT_NAMES = ("lat", "latitude")
LON_NAMES = ("lon", "longitude")
_FRACTION = re.compile(r"^(c?m\^?3|m³)\s*(/|\s|\.)\s*(c?m\^?3|m³|c?m\^?-3|c?m-3)$")
_PERCENT = {"%", "percent", "% vol", "%vol", "vol%", "vol %", "volume percent", "% (v/v)"}
_DIMENSIONLESS = {"1", "-", "fraction", "m3/m3", "m3 m-3", "m3.m-3"}


def unit_kind(units: str | None) -> str | None:
    """Classify a units string: ``'fraction'``, ``'percent'``, ``None`` (absent) or ``'other'``."""
    if units is None:
        return None
    u = " ".join(str(units).strip().lower().split())
    if not u:
        return None
    if u in _PERCENT:
        return "percent"
    if u in _DIMENSIONLESS or _FRACTION.match(u):
        return "fraction"
    return "other"


def _config_units(units: str) -> str:
    kind = unit_kind(units)
    if kind not in ("fraction", "percent"):
        raise ConfigError(
            f"reanalysis units {units!r} are not supported; use 'm3/m3' (volumetric fraction) "
            "or 'percent'"
        )
    return kind


def _find(names: Sequence[str], candidates: Sequence[str]) -> str | None:
    lower = {n.lower(): n for n in names}
    return next((lower[c] for c in candidates if c in lower), None)


def _open(path: Path) -> xr.Dataset:
    if not path.is_file():
        raise InputError(
            path, "reanalysis file not found", "check the reanalysis path in the config"
        )
    try:
        return xr.open_dataset(path, engine="netcdf4", decode_times=True)
    except Exception as exc:  # netCDF4/HDF5 raise several types for a corrupt file
        raise InputError(
            path, f"cannot be opened as NetCDF ({exc})", "the file is corrupt or not NetCDF"
        ) from None


def _variable(ds: xr.Dataset, path: Path, variable: str) -> tuple[xr.DataArray, str, str]:
    """The variable of a layer and its lat and lon dimension names; checked."""
    if variable not in ds.data_vars:
        found = ", ".join(sorted(map(str, ds.data_vars))) or "none"
        raise InputError(
            path,
            f"has no variable {variable!r}; data variables present: {found}",
            "set the layer's variable name in the config (GLEAM: SMs, SMrz)",
        )
    da = ds[variable]
    lat = _find(list(da.dims), LAT_NAMES)
    lon = _find(list(da.dims), LON_NAMES)
    if lat is None or lon is None or "time" not in da.dims or da.ndim != 3:
        raise InputError(
            path,
            f"variable {variable!r} has dimensions {da.dims}; expected time plus lat/latitude "
            "and lon/longitude (in any order)",
            "regrid or rename the dimensions",
        )
    if not np.issubdtype(da["time"].dtype, np.datetime64):
        raise InputError(
            path, f"time coordinate of {variable!r} is not decodable as dates", "fix its units"
        )
    return da, lat, lon


def _check_units_attribute(path: Path, variable: str, file_units: str | None, kind: str) -> None:
    """Refuse a units attribute that is not soil moisture or contradicts the config."""
    found = unit_kind(file_units)
    if found == "other":
        raise InputError(
            path,
            f"variable {variable!r} has units {file_units!r}, which is not a volumetric soil "
            "moisture unit",
            "expected m3/m3 or percent",
        )
    if kind == "fraction" and found == "percent":
        raise InputError(
            path,
            f"variable {variable!r} is in percent (units {file_units!r}) but the config says m3/m3",
            "set the reanalysis units to 'percent' in the config to convert explicitly",
        )
    if kind == "percent" and found == "fraction":
        raise InputError(
            path,
            f"variable {variable!r} says units {file_units!r} (a fraction) but the config "
            "says percent",
            "set the reanalysis units to 'm3/m3' in the config",
        )


def check_reanalysis_header(path: str | Path, variable: str, *, units: str = "m3/m3") -> None:
    """Check a reanalysis file without reading its values (cheap, before any job runs).

    The file must open as NetCDF and hold ``variable`` with time, lat and lon
    dimensions and decodable dates, and its ``units`` attribute (if present)
    must agree with ``units``. The values are checked when the file is read
    (:func:`read_reanalysis`: e.g. a fraction above 1 is refused there).
    """
    kind = _config_units(units)
    path = Path(path)
    with _open(path) as ds:
        da, _, _ = _variable(ds, path, variable)
        _check_units_attribute(path, variable, da.attrs.get("units"), kind)


def _one_file(
    path: Path,
    variable: str,
    kind: str,
    bbox: Sequence[float] | None,
    year: int | None,
) -> xr.DataArray:
    ds = _open(path)
    try:
        da, lat, lon = _variable(ds, path, variable)
    except InputError:
        ds.close()
        raise
    time = "time"
    da = da.rename({lat: "lat", lon: "lon"}).transpose("time", "lat", "lon")
    da = da.sortby("lat", ascending=False).sortby("lon")
    if year is not None:
        da = da.sel(time=da[time].dt.year == year)
    if bbox is not None:
        lon0, lat0, lon1, lat1 = bbox
        da = da.sel(lon=slice(lon0, lon1), lat=slice(lat1, lat0))
        if da.sizes["lat"] == 0 or da.sizes["lon"] == 0:
            ds.close()
            raise InputError(
                path,
                f"no {variable!r} cell centre lies inside the region {tuple(bbox)}",
                "the file does not cover the soil-moisture region",
            )
    file_units = da.attrs.get("units")
    values = da.load().astype(np.float32)
    ds.close()
    values.attrs = dict(da.attrs)
    return _check_units(path, variable, values, file_units, kind)


def _check_units(
    path: Path, variable: str, da: xr.DataArray, file_units: str | None, kind: str
) -> xr.DataArray:
    _check_units_attribute(path, variable, file_units, kind)
    arr = da.values
    finite = arr[np.isfinite(arr)]
    vmax = float(finite.max()) if finite.size else float("nan")
    vmin = float(finite.min()) if finite.size else float("nan")
    if kind == "fraction":
        if vmax > 1.0:
            raise InputError(
                path,
                f"variable {variable!r} has values up to {vmax:.3g}, impossible in m3/m3 "
                f"(units attribute {file_units!r}); the data look like percent",
                "set the reanalysis units to 'percent' in the config if they are",
            )
        if unit_kind(file_units) is None:
            log.warning(
                "%s: %s has no units attribute; taken as m3/m3 as configured (values %.3f-%.3f)",
                path,
                variable,
                vmin,
                vmax,
            )
    else:
        if vmax > 100.0:
            raise InputError(
                path, f"variable {variable!r} has values up to {vmax:.3g}, impossible in percent"
            )
        log.info("%s: %s converted from percent to m3/m3 (divided by 100)", path, variable)
        da = da / np.float32(100.0)
        vmin, vmax = vmin / 100, vmax / 100
    if vmin < 0:
        raise InputError(
            path,
            f"variable {variable!r} has negative values (min {vmin:.3g}) that are not marked "
            "as missing",
            "set _FillValue/missing_value on the variable",
        )
    da.attrs["units"] = "m3/m3"
    return da


def read_reanalysis(
    paths: str | Path | Sequence[str | Path],
    variable: str,
    *,
    units: str = "m3/m3",
    bbox: Sequence[float] | None = None,
    year: int | None = None,
) -> xr.DataArray:
    """Read one soil-moisture variable from one or more daily NetCDF files.

    Parameters
    ----------
    paths
        One file or several (e.g. one per year); concatenated along time.
    variable
        Variable name in the files (GLEAM: ``SMs`` surface, ``SMrz`` root zone).
    units
        The unit the config declares: ``'m3/m3'`` (default) or ``'percent'``
        (converted to m3/m3; see the module docstring).
    bbox
        Optional ``(lon_min, lat_min, lon_max, lat_max)``: keep cells whose centre lies inside.
    year
        Optional: keep the days of this year only.

    Returns
    -------
    xarray.DataArray
        ``(time, lat, lon)``, latitude descending, float32 m3/m3, NaN where missing.
    """
    kind = _config_units(units)
    if isinstance(paths, str | Path):
        paths = [paths]
    parts = [_one_file(Path(p), variable, kind, bbox, year) for p in paths]
    if not parts:
        raise ConfigError(f"no reanalysis file given for variable {variable!r}")
    da = parts[0] if len(parts) == 1 else xr.concat(parts, dim="time").sortby("time")
    if da.sizes["time"] == 0:
        raise InputError(
            Path(str(paths[0])),
            f"no day of year {year} in {variable!r}",
            "give the file(s) of the right year",
        )
    dup = np.unique(da["time"].values, return_counts=True)[1]
    if (dup > 1).any():
        raise InputError(
            Path(str(paths[0])), f"{variable!r}: the files overlap in time", "give each day once"
        )
    return da
