"""The 1 km drivers: reading, sampling at 1 km pixels, aggregating to the reanalysis grid.

Drivers are GeoTIFFs, one file per variable (and year for the dynamic ones).
A dynamic driver's bands are named by date (``YYYY-MM-DD``): daily, or
composites dated by their first day (8-day MODIS products), which are
gap-filled to daily by :mod:`agrifactory.soil_moisture.gapfill`. A static
driver has one band. Precipitation must be daily (interpolating rain in time
would invent it). Files may be in any CRS; points are transformed into it.

Required drivers (:data:`DRIVERS`): ``ndvi``, ``lst_day``, ``lst_night``,
``albedo``, ``precip`` (dynamic) and ``dem``, ``sand``, ``clay`` (static).
Derived: ``slope`` (degrees, from the DEM on its own grid), ``lst_diff``
(day minus night LST, a thermal-inertia signal) and two antecedent
precipitation indices ``api_fast``/``api_slow``: ``api[t] = k * api[t-1] + P[t]``
with ``k`` = 0.8 and 0.95 (e-folding about 4.5 and 20 days), started at zero on
the first day of the year.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.windows import Window

from agrifactory.errors import ConfigError, DataError, InputError
from agrifactory.io.raster import DATE_FORMAT, open_raster
from agrifactory.soil_moisture.aggregate import area_weighted_aggregate
from agrifactory.soil_moisture.gapfill import composites_to_daily

log = logging.getLogger(__name__)

DYNAMIC = ("ndvi", "lst_day", "lst_night", "albedo", "precip")
STATIC = ("dem", "sand", "clay")
DRIVERS = DYNAMIC + STATIC
API_DECAY = {"api_fast": 0.8, "api_slow": 0.95}
EARTH_M_PER_DEG = 111_320.0


@dataclass
class DriverValues:
    """Driver values at a set of places (pixels or coarse cells) for the days of a year.

    ``static`` maps a name to an array of shape ``S`` (the places); ``dynamic``
    maps a name to ``(T,) + S``.
    """

    static: dict[str, np.ndarray]
    dynamic: dict[str, np.ndarray]
    days: list[dt.date]


def check_driver_paths(drivers: Mapping[str, str | Path]) -> dict[str, Path]:
    """Validate the driver mapping: every required driver present, files exist."""
    missing = [d for d in DRIVERS if d not in drivers]
    if missing:
        raise ConfigError(
            f"soil-moisture drivers {missing} are not configured; need all of {list(DRIVERS)}"
        )
    out = {}
    for name in DRIVERS:
        p = Path(drivers[name])
        if not p.is_file():
            raise InputError(
                p, f"driver {name!r} file not found", "check the drivers in the config"
            )
        out[name] = p
    return out


def year_days(year: int) -> list[dt.date]:
    """Every day of ``year``."""
    first = dt.date(year, 1, 1)
    n = (dt.date(year + 1, 1, 1) - first).days
    return [first + dt.timedelta(days=i) for i in range(n)]


def _band_dates(src: rasterio.DatasetReader, name: str) -> list[dt.date] | None:
    if src.count == 1 and name in STATIC:
        return None
    dates = []
    for i, d in enumerate(src.descriptions, start=1):
        try:
            dates.append(dt.datetime.strptime(str(d), DATE_FORMAT).date())
        except ValueError:
            raise InputError(
                src.name,
                f"driver {name!r} band {i} description {d!r} is not a date (YYYY-MM-DD)",
                "dynamic drivers name each band by its date",
            ) from None
    if any(b <= a for a, b in zip(dates, dates[1:], strict=False)):
        raise InputError(src.name, f"driver {name!r} band dates do not increase", "sort the bands")
    return dates


def _to_daily(
    name: str, path: Path, data: np.ndarray, dates: list[dt.date] | None, days: list[dt.date]
) -> np.ndarray:
    """Static: returned as is. Dynamic: the days of the year, gap-filled from composites."""
    if dates is None:
        return data[0]
    if name == "precip":
        index = {d: i for i, d in enumerate(dates)}
        lacking = [d for d in days if d not in index]
        if lacking:
            raise InputError(
                path,
                f"precipitation must be daily; {len(lacking)} day(s) of {days[0].year} are "
                f"missing (first {lacking[0]})",
                "give one band per day",
            )
        out = data[[index[d] for d in days]]
        gaps = np.isnan(out).any(axis=0) & ~np.isnan(out).all(axis=0)
        if gaps.any():
            raise DataError(
                f"{path}: precipitation is missing on some days at {int(gaps.sum())} place(s); "
                "rain cannot be interpolated in time: fill the product first"
            )
        return out
    in_year = [i for i, d in enumerate(dates) if abs((d - days[0]).days) < 400]
    return composites_to_daily(data[in_year], [dates[i] for i in in_year], days)


def _slope_deg(dem: np.ndarray, transform: Affine, crs: CRS, row0: int) -> np.ndarray:
    if crs.is_geographic:
        lat = transform.f + transform.e * (row0 + np.arange(dem.shape[0]) + 0.5)
        dy = abs(transform.e) * EARTH_M_PER_DEG
        dx = (transform.a * EARTH_M_PER_DEG * np.cos(np.deg2rad(lat)))[:, None]
    else:
        dy, dx = abs(transform.e), transform.a
    gy, gx = np.gradient(dem.astype(np.float64))
    return np.rad2deg(np.arctan(np.hypot(gx / dx, gy / dy))).astype(np.float32)


def _read_window(src: rasterio.DatasetReader, rows: tuple[int, int], cols: tuple[int, int]):
    r0, r1 = max(rows[0], 0), min(rows[1], src.height)
    c0, c1 = max(cols[0], 0), min(cols[1], src.width)
    if r1 <= r0 or c1 <= c0:
        return None, (r0, c0)
    win = Window(c0, r0, c1 - c0, r1 - r0)
    data = src.read(window=win, masked=False).astype(np.float32)
    if src.nodata is not None and not np.isnan(src.nodata):
        data[data == src.nodata] = np.nan
    return data, (r0, c0)


def _bilinear(
    data: np.ndarray, origin: tuple[int, int], src_rows: np.ndarray, src_cols: np.ndarray
) -> np.ndarray:
    """NaN-aware bilinear interpolation of ``(B, h, w)`` at fractional pixel positions.

    ``src_rows``/``src_cols`` are positions in the full raster measured in pixels
    from its top-left corner (pixel centres at +0.5). Neighbours that are NaN or
    outside the window drop out and the weights are renormalised.
    """
    b, h, w = data.shape
    r = src_rows - origin[0] - 0.5
    c = src_cols - origin[1] - 0.5
    r0 = np.floor(r).astype(np.int64)
    c0 = np.floor(c).astype(np.int64)
    fr = r - r0
    fc = c - c0
    num = np.zeros((b, r.size), dtype=np.float64)
    den = np.zeros((b, r.size), dtype=np.float64)
    for dr, wr in ((0, 1 - fr), (1, fr)):
        for dc, wc in ((0, 1 - fc), (1, fc)):
            rr = r0 + dr
            cc = c0 + dc
            inside = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            vals = data[:, np.clip(rr, 0, h - 1), np.clip(cc, 0, w - 1)]
            wt = np.where(inside, wr * wc, 0.0)[None, :] * np.isfinite(vals)
            num += np.where(wt > 0, vals, 0) * wt
            den += wt
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[den < 1e-9] = np.nan
    return out.astype(np.float32)


def _points_in_crs(src_crs: CRS, lon: np.ndarray, lat: np.ndarray):
    if src_crs == CRS.from_epsg(4326):
        return lon, lat
    tr = Transformer.from_crs("EPSG:4326", src_crs, always_xy=True)
    return tr.transform(lon, lat)


def sample_drivers(
    drivers: Mapping[str, str | Path],
    lon: np.ndarray,
    lat: np.ndarray,
    year: int,
) -> DriverValues:
    """Driver values at points (1 km pixel centres), bilinear, daily for ``year``.

    Only the window of each file that holds the points is read. Points where a
    static driver is missing, or a dynamic one has no valid value all year, come
    out NaN; the caller decides (the downscaler leaves them out, logged).
    """
    paths = check_driver_paths(drivers)
    lon = np.asarray(lon, dtype=np.float64).ravel()
    lat = np.asarray(lat, dtype=np.float64).ravel()
    days = year_days(year)
    static: dict[str, np.ndarray] = {}
    dynamic: dict[str, np.ndarray] = {}
    for name, path in paths.items():
        with open_raster(path) as src:
            x, y = _points_in_crs(CRS.from_user_input(src.crs), lon, lat)
            cols, rows = ~src.transform @ (np.asarray(x), np.asarray(y))
            rows, cols = np.asarray(rows), np.asarray(cols)
            margin = 3
            window = (
                (int(np.floor(rows.min())) - margin, int(np.ceil(rows.max())) + margin),
                (int(np.floor(cols.min())) - margin, int(np.ceil(cols.max())) + margin),
            )
            data, origin = _read_window(src, *window)
            dates = _band_dates(src, name)
            if data is None:
                raise InputError(
                    path, f"driver {name!r} does not cover the requested area", "extend the file"
                )
            values = _bilinear(data, origin, rows, cols)
            if name == "dem":
                slope = _slope_deg(data[0], src.transform, CRS.from_user_input(src.crs), origin[0])
                static["slope"] = _bilinear(slope[None], origin, rows, cols)[0]
        daily = _to_daily(name, path, values, dates, days)
        (static if dates is None else dynamic)[name] = daily
    add_derived(dynamic)
    return DriverValues(static, dynamic, days)


def add_derived(dynamic: dict[str, np.ndarray]) -> None:
    """Add ``lst_diff`` and the antecedent precipitation indices to daily dynamic drivers."""
    dynamic["lst_diff"] = (dynamic["lst_day"] - dynamic["lst_night"]).astype(np.float32)
    precip = dynamic["precip"]
    for name, k in API_DECAY.items():
        api = np.empty_like(precip, dtype=np.float32)
        acc = np.zeros(precip.shape[1:], dtype=np.float64)
        for t in range(precip.shape[0]):
            acc = k * acc + precip[t]
            api[t] = acc
        dynamic[name] = api


def aggregate_drivers(
    drivers: Mapping[str, str | Path],
    coarse_transform: Affine,
    coarse_shape: tuple[int, int],
    year: int,
    *,
    min_coverage: float = 0.5,
) -> DriverValues:
    """Drivers aggregated (area-weighted) onto the reanalysis grid, daily for ``year``.

    The drivers must share the coarse grid's CRS (lon/lat for GLEAM-like data).
    Composites are aggregated first and then gap-filled to daily (both steps
    are linear, so the order changes nothing where data are complete).
    """
    paths = check_driver_paths(drivers)
    days = year_days(year)
    h, w = coarse_shape
    lon0, lat1 = coarse_transform.c, coarse_transform.f
    lon1 = lon0 + coarse_transform.a * w
    lat0 = lat1 + coarse_transform.e * h
    static: dict[str, np.ndarray] = {}
    dynamic: dict[str, np.ndarray] = {}
    for name, path in paths.items():
        with open_raster(path) as src:
            crs = CRS.from_user_input(src.crs)
            if not crs.is_geographic:
                raise InputError(
                    path,
                    f"driver {name!r} is in {crs.to_string()}; aggregation to the reanalysis "
                    "grid needs lon/lat drivers",
                    "warp the driver to EPSG:4326 first",
                )
            inv = ~src.transform
            c0, r0 = inv @ (lon0, lat1)
            c1, r1 = inv @ (lon1, lat0)
            window = (
                (int(np.floor(r0)) - 1, int(np.ceil(r1)) + 1),
                (int(np.floor(c0)) - 1, int(np.ceil(c1)) + 1),
            )
            data, origin = _read_window(src, *window)
            if data is None:
                raise InputError(path, f"driver {name!r} does not cover the region", "extend it")
            win_transform = src.transform @ Affine.translation(origin[1], origin[0])
            dates = _band_dates(src, name)
            if name == "dem":
                slope = _slope_deg(data[0], src.transform, crs, origin[0])
                agg, _ = area_weighted_aggregate(
                    slope[None],
                    win_transform,
                    coarse_transform,
                    coarse_shape,
                    geographic=True,
                    min_coverage=min_coverage,
                )
                static["slope"] = agg[0].astype(np.float32)
        agg, cover = area_weighted_aggregate(
            data,
            win_transform,
            coarse_transform,
            coarse_shape,
            geographic=True,
            min_coverage=min_coverage,
        )
        agg = agg.astype(np.float32)
        if dates is not None and name != "precip":
            low = np.isnan(agg).all(axis=0)
            if low.any():
                log.warning(
                    "driver %s: %d coarse cell(s) have no valid composite all year",
                    name,
                    int(low.sum()),
                )
        daily = _to_daily(name, path, agg, dates, days)
        (static if dates is None else dynamic)[name] = daily
    add_derived(dynamic)
    return DriverValues(static, dynamic, days)


def coarse_transform_of(
    lat: Sequence[float], lon: Sequence[float]
) -> tuple[Affine, tuple[int, int]]:
    """The north-up transform and shape of a regular grid from its centre coordinates."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    dlat = np.diff(lat)
    dlon = np.diff(lon)
    if lat.size < 2 or lon.size < 2:
        raise DataError("the reanalysis region must hold at least 2x2 cells")
    if not (np.allclose(dlat, dlat[0]) and np.allclose(dlon, dlon[0]) and dlat[0] < 0 < dlon[0]):
        raise DataError("the reanalysis grid is not regular (north-up, equal spacing)")
    res_y, res_x = -dlat[0], dlon[0]
    tr = Affine(res_x, 0, lon[0] - res_x / 2, 0, -res_y, lat[0] + res_y / 2)
    return tr, (lat.size, lon.size)
