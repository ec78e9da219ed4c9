"""Coarse soil-moisture reanalysis (GLEAM, ERA5 and alike) from NetCDF.

:func:`read_reanalysis` opens one file or several (one per year, concatenated
along time), picks one variable, and returns it normalised to dimensions
``(time, lat, lon)`` with latitude descending (north up, like a raster),
longitude in -180..180 ascending, values in m3/m3 as float32 and missing values
as NaN. It accepts ``lat``/``latitude`` and ``lon``/``longitude`` coordinates in
either dimension order and either latitude direction (GLEAM v3 stores
``(time, lon, lat)`` with latitude descending), and a time coordinate named
``time`` or ``valid_time`` (newer CDS downloads), either as a dimension or as
the scalar coordinate of a one-step file (ERA5 from ``grib_to_netcdf``).

ERA5's other conventions are options of the reader, off by default:
longitudes 0..360 are always wrapped to -180..180 (a grid already in
-180..180 is untouched); ``land_mask`` names a land-fraction variable of the
same file (ERA5 ``lsm``) below whose ``land_fraction_min`` a cell is set to
NaN; ``negative_tolerance`` sets the small negatives that GRIB packing leaves
near zero to 0; ``daily_mean`` averages sub-daily steps to UTC days. Packed
variables (``scale_factor``/``add_offset``/``_FillValue``) are decoded by xarray.

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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import xarray as xr

from agrifactory.errors import ConfigError, InputError

log = logging.getLogger(__name__)

#: GLEAM v3 variable names of the two layers.
GLEAM_VARIABLES = {"surface": "SMs", "rootzone": "SMrz"}

LAT_NAMES = ("lat", "latitude")
LON_NAMES = ("lon", "longitude")
#: Names of the time coordinate, in the order they are looked for (ERA5 from the new CDS:
#: ``valid_time``).
TIME_NAMES = ("time", "valid_time")
# m3/m3, m^3/m^3, m**3 m**-3 (ERA5), cm3/cm3, m3 m-3, ...
_POW = r"(\^|\*\*)?"
_FRACTION = re.compile(rf"^(c?m{_POW}3|m³)\s*(/|\s|\.)\s*(c?m{_POW}3|m³|c?m{_POW}-3)$")
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


def _time_dim(da: xr.DataArray) -> xr.DataArray | None:
    """``da`` with its time coordinate as a dimension (a scalar one expanded), or ``None``."""
    name = next((n for n in TIME_NAMES if n in da.dims), None)
    if name is None:
        name = next((n for n in TIME_NAMES if n in da.coords and da[n].ndim == 0), None)
        if name is None:
            return None
        da = da.expand_dims(name)
    return da.rename({name: "time"}) if name != "time" else da


def _variable(ds: xr.Dataset, path: Path, variable: str, *, static: bool = False) -> xr.DataArray:
    """One variable of the file as ``(time, lat, lon)``; its presence and layout checked.

    A ``static`` variable (a land mask) may lack time; it then gets a time axis of length 1.
    """
    if variable not in ds.data_vars:
        found = ", ".join(sorted(map(str, ds.data_vars))) or "none"
        raise InputError(
            path,
            f"has no variable {variable!r}; data variables present: {found}",
            "set the variable name in the config's soil_moisture.reanalysis "
            "(GLEAM: SMs, SMrz; ERA5: swvl1, swvl2, land mask lsm)",
        )
    da = ds[variable]
    lat = _find(list(da.dims), LAT_NAMES)
    lon = _find(list(da.dims), LON_NAMES)
    timed = _time_dim(da)
    if static and timed is None:
        timed = da.expand_dims("time")
    if lat is None or lon is None or timed is None or timed.ndim != 3:
        raise InputError(
            path,
            f"variable {variable!r} has dimensions {da.dims}; expected time (or valid_time, "
            "or a scalar time coordinate) plus lat/latitude and lon/longitude (in any order)",
            "regrid or rename the dimensions",
        )
    if not static and not np.issubdtype(timed["time"].dtype, np.datetime64):
        raise InputError(
            path, f"time coordinate of {variable!r} is not decodable as dates", "fix its units"
        )
    return timed.rename({lat: "lat", lon: "lon"}).transpose("time", "lat", "lon")


def _north_up_east_of_minus_180(da: xr.DataArray) -> xr.DataArray:
    """Latitude descending; longitudes 0..360 wrapped to -180..180; longitude ascending."""
    if float(da["lon"].max()) > 180.0:
        da = da.assign_coords(lon=((da["lon"] + 180.0) % 360.0) - 180.0)
    return da.sortby("lat", ascending=False).sortby("lon")


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


def check_reanalysis_header(
    path: str | Path, variable: str, *, units: str = "m3/m3", land_mask: str | None = None
) -> None:
    """Check a reanalysis file without reading its values (cheap, before any job runs).

    The file must open as NetCDF and hold ``variable`` (and ``land_mask``, when
    given) with time, lat and lon dimensions and decodable dates, and its
    ``units`` attribute (if present) must agree with ``units``. The values are
    checked when the file is read (:func:`read_reanalysis`: e.g. a fraction
    above 1 is refused there).
    """
    kind = _config_units(units)
    path = Path(path)
    with _open(path) as ds:
        da = _variable(ds, path, variable)
        _check_units_attribute(path, variable, da.attrs.get("units"), kind)
        if land_mask is not None:
            _variable(ds, path, land_mask, static=True)


@dataclass(frozen=True)
class _Options:
    """The keyword arguments of :func:`read_reanalysis`, passed down to each file."""

    units: str = "m3/m3"
    bbox: Sequence[float] | None = None
    year: int | None = None
    land_mask: str | None = None
    land_fraction_min: float = 0.5
    negative_tolerance: float = 0.0
    daily_mean: bool = False


def _subset(da: xr.DataArray, path: Path, variable: str, opts: _Options) -> xr.DataArray:
    """The steps of ``opts.year`` and the cells inside ``opts.bbox`` (normalised first)."""
    da = _north_up_east_of_minus_180(da)
    if opts.year is not None:
        da = da.sel(time=da["time"].dt.year == opts.year)
    if opts.bbox is not None:
        lon0, lat0, lon1, lat1 = opts.bbox
        da = da.sel(lon=slice(lon0, lon1), lat=slice(lat1, lat0))
        if da.sizes["lat"] == 0 or da.sizes["lon"] == 0:
            raise InputError(
                path,
                f"no {variable!r} cell centre lies inside the region {tuple(opts.bbox)}",
                "the file does not cover the soil-moisture region",
            )
    return da


def _land(ds: xr.Dataset, path: Path, opts: _Options) -> xr.DataArray:
    """``True`` on cells whose land fraction reaches ``opts.land_fraction_min`` (static mask:
    its first time step)."""
    mask = _subset(
        _variable(ds, path, opts.land_mask, static=True),
        path,
        opts.land_mask,
        replace(opts, year=None),
    )
    return (mask.isel(time=0, drop=True) >= opts.land_fraction_min).load()


def _one_file(path: Path, variable: str, kind: str, opts: _Options) -> xr.DataArray:
    with _open(path) as ds:
        da = _subset(_variable(ds, path, variable), path, variable, opts)
        file_units = da.attrs.get("units")
        values = da.load().astype(np.float32)
        if opts.land_mask is not None:
            land = _land(ds, path, opts)
            values = values.where(land)
            log.info(
                "%s: %d of %d cells of %r are sea (%s < %g), set to missing",
                path, int((~land).sum()), land.size, variable, opts.land_mask,
                opts.land_fraction_min,
            )  # fmt: skip
    values.attrs = dict(da.attrs)
    return _check_units(path, variable, values, file_units, kind, opts.negative_tolerance)


def _clip_negatives(path: Path, variable: str, da: xr.DataArray, tolerance: float) -> xr.DataArray:
    """Small negatives (down to ``-tolerance``) set to 0 and counted; larger ones refused."""
    vmin = float(da.min(skipna=True)) if bool(da.notnull().any()) else float("nan")
    if vmin < -tolerance:
        raise InputError(
            path,
            f"variable {variable!r} has negative values (min {vmin:.3g}) that are not marked "
            "as missing",
            "set _FillValue/missing_value on the variable; for packing noise near 0 (ERA5) "
            "set soil_moisture.reanalysis.negative_tolerance",
        )
    small = da < 0
    if bool(small.any()):
        log.info(
            "%s: %d small negative value(s) of %r (min %.3g) set to 0",
            path, int(small.sum()), variable, vmin,
        )  # fmt: skip
        da = da.where(~small, np.float32(0.0))
    return da


def _check_units(
    path: Path,
    variable: str,
    da: xr.DataArray,
    file_units: str | None,
    kind: str,
    negative_tolerance: float = 0.0,
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
    attrs = dict(da.attrs)
    da = _clip_negatives(path, variable, da, negative_tolerance)
    da.attrs = attrs | {"units": "m3/m3"}
    return da


def _daily_means(da: xr.DataArray) -> xr.DataArray:
    """Mean of the time steps of each UTC day, dated at 00:00."""
    days = da["time"].dt.floor("D").values
    steps = np.unique(days, return_counts=True)[1]
    log.info(
        "averaged %d time step(s) into %d day(s) (%d-%d per day)",
        da.sizes["time"], steps.size, steps.min(), steps.max(),
    )  # fmt: skip
    out = da.assign_coords(day=("time", days)).groupby("day").mean("time", keep_attrs=True)
    return out.rename(day="time").astype(np.float32)


def read_reanalysis(
    paths: str | Path | Sequence[str | Path],
    variable: str,
    *,
    units: str = "m3/m3",
    bbox: Sequence[float] | None = None,
    year: int | None = None,
    land_mask: str | None = None,
    land_fraction_min: float = 0.5,
    negative_tolerance: float = 0.0,
    daily_mean: bool = False,
) -> xr.DataArray:
    """Read one soil-moisture variable from one or more NetCDF files.

    Parameters
    ----------
    paths
        One file or several (e.g. one per year, or one per ERA5 time step);
        concatenated along time.
    variable
        Variable name in the files (GLEAM: ``SMs``, ``SMrz``; ERA5: ``swvl1``, ``swvl2``).
    units
        The unit the config declares: ``'m3/m3'`` (default) or ``'percent'``
        (converted to m3/m3; see the module docstring).
    bbox
        Optional ``(lon_min, lat_min, lon_max, lat_max)`` in -180..180: keep cells whose
        centre lies inside (edges included).
    year
        Optional: keep the time steps of this year only.
    land_mask
        Optional land-fraction variable of the same files (ERA5: ``lsm``): cells below
        ``land_fraction_min`` are set to NaN.
    land_fraction_min
        Least land fraction of a kept cell (0.5, ERA5's own convention).
    negative_tolerance
        Negative values down to ``-negative_tolerance`` m3/m3 are set to 0 (counted in
        the log); more negative ones are an error. 0 refuses any negative value.
    daily_mean
        Average the time steps of each UTC day (sub-daily reanalyses such as ERA5).

    Returns
    -------
    xarray.DataArray
        ``(time, lat, lon)``, latitude descending, longitude ascending in -180..180,
        float32 m3/m3, NaN where missing.
    """
    kind = _config_units(units)
    opts = _Options(units, bbox, year, land_mask, land_fraction_min, negative_tolerance, daily_mean)
    if isinstance(paths, str | Path):
        paths = [paths]
    parts = [_one_file(Path(p), variable, kind, opts) for p in paths]
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
    return _daily_means(da) if daily_mean else da
