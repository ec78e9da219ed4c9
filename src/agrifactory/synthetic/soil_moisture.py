"""The demo's soil-moisture world: reanalysis, 1 km drivers, ISMN stations and the truth.

One deterministic function, :func:`write_soil_moisture_world`, simulates a year
of daily soil moisture on a 0.01 degree grid (about 1 km) over a 2x2 degree
region around the Chahannur basin and writes it in the file formats the real
path reads:

* ``reanalysis/SMs_<year>_GLEAM_v3.8a.nc``, ``reanalysis/SMrz_<year>_GLEAM_v3.8a.nc``:
  0.25 degree daily surface and root-zone soil moisture laid out like GLEAM v3
  (dimensions ``time, lon, lat``, latitude descending, units m3/m3). Each cell is
  the area mean of the truth with a modest reanalysis bias (a wet bias that
  grows with wetness, a per-cell offset) and autocorrelated daily noise.
* ``drivers/*.tif``: 1 km (0.01 degree, EPSG:4326) NDVI, LST day and night and
  albedo (8-day composites dated by their first day, like MOD13/MOD11A2/MCD43),
  daily precipitation, and static DEM, sand and clay fractions. Band
  descriptions are dates (YYYY-MM-DD); units are set.
* ``ismn/DEMO_SM/<station>/*.stm``: the target network (default 40 stations)
  in the ISMN "header + values" format and folder layout, 6-hourly, one probe
  at 0.05 m (surface layer) and one at 0.30 m (root-zone layer), with ISMN
  flags: mostly ``G``, some ``D0x`` (dubious spikes) and ``C0x`` (out of range).
* ``stations_source/demo_dense_<year>.csv``: a dense source network (default
  100 stations, clustered in the south-west 1x1 degree of the region) in the
  station CSV format: daily means of 0-10 cm and 10-50 cm layers, a different
  (factory) calibration, more noise, a few ``D01`` flags. The bias-correction
  CNN is pretrained on it and fine-tuned on the target network.
* ``<truth_dir>/sm_truth_<year>.nc``: the daily 1 km truth of both layers, and
  ``<truth_dir>/stations_truth.csv``: station positions and their constant
  station-specific offsets.

The truth is a two-layer bucket model (0-10 cm over 10-100 cm) driven by the
fine precipitation, with snow, runoff that grows with slope and wetness,
run-on into hollows, drainage and evaporation set by soil texture
(pedotransfer-like porosity, field capacity, wilting point), transpiration by
vegetation and a temperature-driven evaporative demand that falls with
elevation. The drivers respond to it as real ones do: LST rises as the surface
dries (less so under vegetation), nights stay warmer over wet soil, albedo
falls with wetness and vegetation, NDVI follows a phenology scaled by vegetation
density and root-zone moisture. The precipitation driver is the true rain
smoothed to about 0.1 degree with a multiplicative error, as a gridded product
would be.

A station reads the truth ``theta`` of its 1 km pixel through a
representativeness bias shared by every network: point sensors see wetter
clay spots, drier ridges and a wider dynamic range than the 1 km mean,
``point = theta * (1 + a (clay - 0.18) - b relief5) * (theta / m) ** p``
(``relief5``: elevation above the 5 km mean). The network's calibration
(``gain * point + bias``), a constant station-specific offset (sd 0.010-0.015)
and day-to-day and reading noise come on top. The bias is a learnable function
of the drivers in a 5 km patch plus the small unlearnable offset.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine
from scipy import ndimage

from agrifactory.io.files import atomic_path
from agrifactory.io.raster import write_raster
from agrifactory.io.tables import write_table

log = logging.getLogger(__name__)

DEFAULT_BBOX = (113.25, 40.5, 115.25, 42.5)
FINE_DEG = 0.01
COARSE_DEG = 0.25
NETWORK = "DEMO_SM"
SENSOR = "ThetaProbe-ML2X"
GLEAM_VERSION = "v3.8a"
SURFACE_MM = 100.0  # 0-10 cm
DEEP_MM = 900.0  # 10-100 cm


@dataclass(frozen=True)
class SoilMoistureWorld:
    """Paths of everything :func:`write_soil_moisture_world` wrote."""

    reanalysis: dict[str, Path]
    drivers: dict[str, Path]
    stations_dir: Path
    source_stations: Path
    truth: Path
    stations_truth: Path
    bbox: tuple[float, float, float, float]
    year: int


def _field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """A smooth random field with zero mean and unit standard deviation."""
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    return (f - f.mean()) / f.std()


def _days(year: int) -> pd.DatetimeIndex:
    return pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")


def composite_starts(year: int, period: int = 8) -> list[dt.date]:
    """First days of the ``period``-day composites of a year (MODIS: DOY 1, 9, ..., 361)."""
    first = dt.date(year, 1, 1)
    n_days = (dt.date(year + 1, 1, 1) - first).days
    return [first + dt.timedelta(days=d) for d in range(0, n_days, period)]


def _composite(daily: np.ndarray, period: int = 8) -> np.ndarray:
    n = daily.shape[0]
    return np.stack([daily[s : min(n, s + period)].mean(axis=0) for s in range(0, n, period)])


@dataclass
class _Static:
    lat: np.ndarray  # (H,) pixel-centre latitudes, descending
    lon: np.ndarray  # (W,)
    dem: np.ndarray
    slope_deg: np.ndarray
    hollow: np.ndarray  # +1 in hollows, -1 on ridges
    relief5: np.ndarray  # DEM minus its 5x5 km mean (m)
    sand: np.ndarray
    clay: np.ndarray
    porosity: np.ndarray
    field_cap: np.ndarray
    wilt: np.ndarray
    residual: np.ndarray
    veg: np.ndarray  # vegetation density 0..1


def _static(rng: np.random.Generator, bbox: Sequence[float]) -> _Static:
    lon0, lat0, lon1, lat1 = bbox
    w = round((lon1 - lon0) / FINE_DEG)
    h = round((lat1 - lat0) / FINE_DEG)
    lon = lon0 + (np.arange(w) + 0.5) * FINE_DEG
    lat = lat1 - (np.arange(h) + 0.5) * FINE_DEG
    lon2, lat2 = np.meshgrid(lon, lat)
    shape = (h, w)
    # Bashang plateau around 1400 m; a basin around Chahannur; hills rising to the south-east
    basin = np.exp(-(((lon2 - 114.35) / 0.25) ** 2 + ((lat2 - 41.45) / 0.2) ** 2))
    dem = (
        1420
        + 160 * _field(rng, shape, 22)
        + 70 * _field(rng, shape, 7)
        + 25 * _field(rng, shape, 2.5)
        - 110 * basin
        + 220 * np.clip((lon2 - 114.6) + (41.1 - lat2), 0, None)
    )
    dy = 111_320.0 * FINE_DEG
    dx = dy * np.cos(np.deg2rad(lat2))
    gy, gx = np.gradient(dem)
    slope_deg = np.rad2deg(np.arctan(np.hypot(gx / dx, gy / dy)))
    relief5 = dem - ndimage.uniform_filter(dem, 5, mode="nearest")
    hollow = np.clip(-(dem - ndimage.gaussian_filter(dem, 4, mode="nearest")) / 40.0, -1, 1)
    sand = np.clip(0.55 + 0.13 * _field(rng, shape, 14) + 0.06 * _field(rng, shape, 3), 0.2, 0.9)
    clay = np.clip((1 - sand) * (0.42 + 0.08 * _field(rng, shape, 6)), 0.03, 0.45)
    porosity = 0.49 - 0.10 * sand + 0.06 * clay
    field_cap = 0.09 + 0.55 * clay + 0.08 * (1 - sand)
    wilt = 0.025 + 0.32 * clay
    residual = 0.6 * wilt
    veg = 1 / (
        1
        + np.exp(
            -(
                0.9 * _field(rng, shape, 9)
                + 0.5 * _field(rng, shape, 2)
                + 0.8 * hollow
                + 4 * (clay - 0.18)
                - 0.2
            )
        )
    )
    return _Static(
        lat,
        lon,
        dem,
        slope_deg,
        hollow,
        relief5,
        sand,
        clay,
        porosity,
        field_cap,
        wilt,
        residual,
        0.15 + 0.8 * veg,
    )


def _phenology(doy: np.ndarray) -> np.ndarray:
    up = 1 / (1 + np.exp(-(doy - 135) / 9))
    down = 1 / (1 + np.exp(-(doy - 265) / 10))
    return 0.08 + 0.92 * (up - down)


def _weather(rng: np.random.Generator, st: _Static, n_days: int):
    """Daily air temperature (°C) and precipitation (mm) on the fine grid."""
    doy = np.arange(1, n_days + 1)
    shape = st.dem.shape
    season = np.exp(-0.5 * ((doy - 205) / 38) ** 2)  # the summer monsoon
    anomaly = np.zeros(n_days)
    for t in range(1, n_days):
        anomaly[t] = 0.75 * anomaly[t - 1] + rng.normal(0, 1.8)
    t_season = 2.5 - 17.5 * np.cos(2 * np.pi * (doy - 15) / 365) + anomaly
    lapse = -0.0065 * (st.dem - 1420)
    wet_day = rng.random(n_days) < 0.06 + 0.42 * season
    amount = rng.gamma(0.8, 2.0 + 9.0 * season) * wet_day
    orography = 1 + 0.35 * (st.dem - 1420) / 300
    precip = np.zeros((n_days,) + shape, dtype=np.float32)
    for t in np.flatnonzero(wet_day):
        storms = np.exp(0.75 * _field(rng, shape, 14) + 0.25 * _field(rng, shape, 4) - 0.31)
        precip[t] = np.clip(amount[t] * storms * orography, 0, None)
    return t_season, lapse, precip


def _bucket(st: _Static, t_season, lapse, precip, pheno):
    """Two-layer daily bucket model; returns surface and root-zone (0-1 m) soil moisture."""
    n_days = precip.shape[0]
    shape = st.dem.shape
    theta_s = st.wilt + 0.5 * (st.field_cap - st.wilt)
    theta_d = theta_s.copy()
    snow = np.zeros(shape)
    slope_n = np.clip(st.slope_deg / 12.0, 0, 1)
    k_s = 0.25 + 0.5 * st.sand
    k_d = 0.015 + 0.05 * st.sand
    run_on = 1 + 0.45 * np.clip(st.hollow, 0, None)
    out_s = np.empty((n_days,) + shape, dtype=np.float32)
    out_rz = np.empty((n_days,) + shape, dtype=np.float32)
    for sweep in range(2):  # the first sweep spins the stores up
        for t in range(n_days):
            ta = t_season[t] + lapse
            p = precip[t].astype(np.float64)
            frozen = ta < -1.0
            snow += np.where(frozen, p, 0)
            melt = np.where(frozen, 0, np.minimum(snow, 2.5 * np.clip(ta, 0, None)))
            snow -= melt
            rain = np.where(frozen, 0, p) + melt
            wet = np.clip((theta_s - st.residual) / (st.porosity - st.residual), 0, 1)
            runoff = np.clip(0.04 + 0.35 * slope_n + 0.45 * wet**2, 0, 0.85)
            theta_s = theta_s + rain * (1 - runoff) * run_on / SURFACE_MM
            excess = np.clip(theta_s - st.porosity, 0, None)
            theta_s -= excess
            drain = k_s * np.clip(theta_s - st.field_cap, 0, None)
            theta_s -= drain
            theta_d = theta_d + (excess + drain) * SURFACE_MM / DEEP_MM
            pet = np.clip(0.17 * (ta + 3.0), 0, None)
            cover = st.veg * pheno[t]
            f_s = np.clip((theta_s - st.residual) / (st.field_cap - st.residual), 0, 1) ** 1.5
            theta_s -= pet * (1 - 0.65 * cover) * f_s / SURFACE_MM
            f_d = np.clip((theta_d - st.wilt) / (st.field_cap - st.wilt), 0, 1)
            theta_d -= 0.85 * pet * cover * f_d / DEEP_MM
            exchange = 0.03 * (theta_d - theta_s)
            theta_s += exchange
            theta_d -= exchange * SURFACE_MM / DEEP_MM
            theta_d -= k_d * np.clip(theta_d - st.field_cap, 0, None)
            theta_s = np.clip(theta_s, st.residual, st.porosity)
            theta_d = np.clip(theta_d, st.residual, st.porosity)
            if sweep == 1:
                out_s[t] = theta_s
                out_rz[t] = (SURFACE_MM * theta_s + DEEP_MM * theta_d) / (SURFACE_MM + DEEP_MM)
    return out_s, out_rz


def _drivers(rng, st: _Static, t_season, lapse, precip, sm_s, sm_rz, pheno):
    """8-day NDVI, LST day/night and albedo, and the precipitation product, on the fine grid."""
    n_days, h, w = sm_s.shape
    rel_s = (sm_s - st.residual) / (st.porosity - st.residual)
    rel_rz = (sm_rz - st.wilt) / (st.field_cap - st.wilt)
    lst_day = np.empty_like(sm_s)
    lst_night = np.empty_like(sm_s)
    albedo = np.empty_like(sm_s)
    for t in range(n_days):
        ta = t_season[t] + lapse + 273.15
        cover = st.veg * pheno[t]
        lst_day[t] = ta + 7 + 15 * (1 - rel_s[t]) * (1 - 0.6 * cover) - 3 * cover
        lst_night[t] = ta - 6 + 4 * rel_s[t] + 1.5 * cover
        albedo[t] = 0.27 - 0.10 * cover - 0.07 * rel_s[t] + 0.05 * (st.sand - 0.5)
    ndvi_daily = (
        0.07
        + 0.66 * st.veg * pheno[:, None, None]
        + 0.06 * st.veg * (np.clip(rel_rz, 0, 1.2) - 0.5)
    )
    comp = {
        "ndvi": _composite(ndvi_daily),
        "lst_day": _composite(lst_day),
        "lst_night": _composite(lst_night),
        "albedo": _composite(albedo),
    }
    noise = {"ndvi": 0.012, "lst_day": 0.8, "lst_night": 0.6, "albedo": 0.004}
    for name, arr in comp.items():
        arr += rng.normal(0, noise[name], arr.shape).astype(arr.dtype)
        # cloud gaps: coherent patches missing in a few composites
        for k in range(arr.shape[0]):
            if rng.random() < 0.3:
                arr[k][_field(rng, (h, w), 6) > 2.2] = np.nan
    product = np.empty_like(precip)
    for t in range(n_days):
        if precip[t].any():
            err = np.exp(0.15 * _field(rng, (h, w), 20))
            product[t] = ndimage.gaussian_filter(precip[t], 3, mode="nearest") * err
        else:
            product[t] = 0
    return comp, product


def _coarse_mean(fine: np.ndarray, lat: np.ndarray, block: int) -> np.ndarray:
    """Area-weighted (cos latitude) block means of (T, H, W) over ``block`` x ``block`` pixels."""
    t, h, w = fine.shape
    wts = np.cos(np.deg2rad(lat)).astype(np.float32)
    num = (fine * wts[None, :, None]).reshape(t, h // block, block, w // block, block)
    den = wts.reshape(h // block, block).sum(axis=1) * block
    return num.sum(axis=(2, 4), dtype=np.float64) / den[None, :, None]


def _ar1(rng, shape, phi, sd) -> np.ndarray:
    out = np.zeros(shape)
    out[0] = rng.normal(0, sd, shape[1:])
    for t in range(1, shape[0]):
        out[t] = phi * out[t - 1] + rng.normal(0, sd * np.sqrt(1 - phi**2), shape[1:])
    return out


def _write_gleam(path: Path, var: str, data, lat, lon, days, long_name: str) -> None:
    da = xr.DataArray(
        data.transpose(0, 2, 1).astype(np.float32),
        dims=("time", "lon", "lat"),
        coords={"time": days.values, "lon": lon, "lat": lat},
        attrs={"units": "m3/m3", "long_name": long_name},
    )
    ds = da.to_dataset(name=var)
    ds["lat"].attrs = {"units": "degrees_north", "standard_name": "latitude"}
    ds["lon"].attrs = {"units": "degrees_east", "standard_name": "longitude"}
    ds.attrs = {
        "Conventions": "CF-1.6",
        "title": f"Synthetic GLEAM-like {long_name.lower()} (agrifactory demo world)",
        "source": "agrifactory.synthetic.soil_moisture",
    }
    enc = {
        var: {"zlib": True, "complevel": 4, "_FillValue": np.float32(-999.0)},
        "time": {"units": f"days since {days[0]:%Y-%m-%d}", "calendar": "standard"},
    }
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", encoding=enc)


def _write_truth(path: Path, sm_s, sm_rz, lat, lon, days) -> None:
    enc = {
        "dtype": "int16",
        "scale_factor": 1e-4,
        "_FillValue": np.int16(-32768),
        "zlib": True,
        "complevel": 1,
        "shuffle": True,
        "chunksizes": (32, min(100, lat.size), min(100, lon.size)),
    }
    ds = xr.Dataset(
        {
            "sm_surface": (("time", "lat", "lon"), sm_s, {"units": "m3/m3", "depth_m": "0.0-0.1"}),
            "sm_rootzone": (
                ("time", "lat", "lon"),
                sm_rz,
                {"units": "m3/m3", "depth_m": "0.0-1.0"},
            ),
        },
        coords={"time": days.values, "lat": lat, "lon": lon},
        attrs={"title": "Truth of the agrifactory demo soil-moisture world (1 km daily)"},
    )
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", encoding={"sm_surface": enc, "sm_rootzone": enc})


def _place_stations(
    rng,
    st: _Static,
    n: int,
    box: Sequence[float],
    min_sep_deg: float,
    taken: list[tuple[float, float]],
    border_px: int = 6,
):
    """Random station positions inside ``box`` (lon/lat), ``border_px`` from the region's edge."""
    h, w = st.dem.shape
    lon_lo = max(box[0], st.lon[0] + border_px * FINE_DEG)
    lon_hi = min(box[2], st.lon[-1] - border_px * FINE_DEG)
    lat_lo = max(box[1], st.lat[-1] + border_px * FINE_DEG)
    lat_hi = min(box[3], st.lat[0] - border_px * FINE_DEG)
    pts: list[tuple[float, float]] = []
    for _ in range(50000):
        if len(pts) == n:
            break
        lon = rng.uniform(lon_lo, lon_hi)
        lat = rng.uniform(lat_lo, lat_hi)
        if all(np.hypot(lon - a, lat - b) >= min_sep_deg for a, b in pts + taken):
            pts.append((lon, lat))
    if len(pts) < n:
        raise RuntimeError(f"could only place {len(pts)} of {n} stations; lower min_sep_deg")
    return pts


@dataclass(frozen=True)
class _Network:
    """How one station network sees the truth: sensor depths, calibration and noise."""

    name: str
    depths: dict[str, tuple[float, float]]  # layer -> sensor depth interval (m)
    gain: float  # calibration gain of the sensors against true soil moisture
    bias: float  # calibration offset (m3/m3)
    offset_sd: dict[str, float]  # station-specific constant offsets
    noise_sd: dict[str, float]  # day-to-day (AR(1)) noise


#: The target network (ISMN files): site-calibrated probes at 5 and 30 cm.
TARGET = _Network(
    "DEMO_SM",
    {"surface": (0.05, 0.05), "rootzone": (0.30, 0.30)},
    1.0,
    0.0,
    {"surface": 0.012, "rootzone": 0.010},
    {"surface": 0.006, "rootzone": 0.004},
)
#: The dense source network (station CSV): factory-calibrated probes over 0-10 and 10-50 cm
#: layers, a different calibration and more noise, clustered in the south-west of the region.
SOURCE = _Network(
    "DEMO_DENSE",
    {"surface": (0.0, 0.10), "rootzone": (0.10, 0.50)},
    1.08,
    -0.015,
    {"surface": 0.015, "rootzone": 0.012},
    {"surface": 0.010, "rootzone": 0.007},
)


def _station_series(rng, st: _Static, sm, layer: str, i: int, j: int, net: _Network, offset: float):
    """Daily point soil moisture of one station and layer.

    The representativeness bias is shared by every network (point sensors sit
    on wetter clay spots and drier ridges than the 1 km mean and see a wider
    dynamic range); calibration, station offset and noise are the network's own.
    """
    truth = sm[:, i, j].astype(np.float64)
    surface = layer == "surface"
    site = (
        1
        + (1.6 if surface else 1.3) * (st.clay[i, j] - 0.18)
        - (0.006 if surface else 0.005) * st.relief5[i, j]
    )
    wide = (truth / (0.15 if surface else 0.16)) ** (0.35 if surface else 0.25)
    point = site * truth * wide
    noise = _ar1(rng, (truth.size, 1), 0.6, net.noise_sd[layer])[:, 0]
    return net.gain * point + net.bias + offset + noise


def _write_target_file(
    rng,
    root: Path,
    name: str,
    lon: float,
    lat: float,
    elev: float,
    d0: float,
    d1: float,
    times: pd.DatetimeIndex,
    daily,
    porosity: float,
    year: int,
    noise_sd: float,
) -> None:
    """One ISMN "header + values" file: 6-hourly readings with ISMN flags and reading noise."""
    vals = np.repeat(daily, times.size // daily.size) + rng.normal(0, noise_sd, times.size)
    vals = np.clip(vals, 0.01, porosity + 0.03)
    flags = np.full(times.size, "G", dtype=object)
    dubious = rng.random(times.size) < 0.004
    vals[dubious] += rng.choice([-0.08, 0.08], dubious.sum())
    flags[dubious] = rng.choice(["D01", "D02", "D03,D05"], dubious.sum())
    wrong = rng.random(times.size) < 0.001
    vals[wrong] = rng.choice([0.65, 0.71, -0.02], wrong.sum())
    flags[wrong] = np.where(vals[wrong] < 0, "C01", "C03")
    header = (
        f"{NETWORK:<10} {NETWORK:<15} {name:<17} {lat:10.5f} {lon:11.5f} "
        f"{elev:7.2f} {d0:7.2f} {d1:7.2f} {SENSOR}"
    )
    fname = f"{NETWORK}_{NETWORK}_{name}_sm_{d0:.6f}_{d1:.6f}_{SENSOR}_{year}0101_{year}1231.stm"
    _write_stm(root / NETWORK / name / fname, header, times, vals, flags)


def _source_rows(
    rng, station: str, lon: float, lat: float, d0: float, d1: float, days: pd.DatetimeIndex, daily
) -> pd.DataFrame:
    """Daily rows of the station CSV format; a few readings flagged dubious ('D01')."""
    vals = np.clip(daily, 0.01, 0.6)
    flags = np.where(rng.random(days.size) < 0.005, "D01", "G")
    vals = np.where(flags == "D01", vals + 0.1, vals)
    return pd.DataFrame(
        {
            "station": station,
            "lon": round(lon, 5),
            "lat": round(lat, 5),
            "depth_from": d0,
            "depth_to": d1,
            "time": days.strftime("%Y-%m-%d"),
            "value": vals,
            "flag": flags,
        }
    )


def _write_stm(path: Path, header: str, times: pd.DatetimeIndex, values, flags) -> None:
    lines = [header]
    stamps = times.strftime("%Y/%m/%d %H:%M")
    lines += [f"{s} {v:8.4f} {f} M" for s, v, f in zip(stamps, values, flags, strict=True)]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="ascii")


def world_files(out_dir: str | Path, truth_dir: str | Path, year: int) -> dict[str, Path]:
    """The paths :func:`write_soil_moisture_world` writes, known before it runs (for the DAG).

    Keys: ``reanalysis_<layer>``, ``driver_<name>``, ``stations`` (the ISMN folder),
    ``source_stations`` (the CSV), ``truth`` and ``stations_truth``.
    """
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    files = {
        "reanalysis_surface": out_dir / "reanalysis" / f"SMs_{year}_GLEAM_{GLEAM_VERSION}.nc",
        "reanalysis_rootzone": out_dir / "reanalysis" / f"SMrz_{year}_GLEAM_{GLEAM_VERSION}.nc",
    }
    for name in ("ndvi", "lst_day", "lst_night", "albedo", "precip"):
        files[f"driver_{name}"] = out_dir / "drivers" / f"{name}_{year}.tif"
    for name in ("dem", "sand", "clay"):
        files[f"driver_{name}"] = out_dir / "drivers" / f"{name}.tif"
    files["stations"] = out_dir / "ismn"
    files["source_stations"] = out_dir / "stations_source" / f"demo_dense_{year}.csv"
    files["truth"] = truth_dir / f"sm_truth_{year}.nc"
    files["stations_truth"] = truth_dir / "stations_truth.csv"
    return files


def write_soil_moisture_world(
    out_dir: str | Path,
    truth_dir: str | Path,
    *,
    bbox: Sequence[float] = DEFAULT_BBOX,
    year: int = 2021,
    n_stations: int = 40,
    n_source_stations: int = 100,
    seed: int = 0,
    static: bool = True,
) -> SoilMoistureWorld:
    """Write the demo soil-moisture inputs to ``out_dir`` and their truth to ``truth_dir``.

    Parameters
    ----------
    out_dir
        Receives ``reanalysis/``, ``drivers/`` and ``ismn/`` (see the module docstring).
    truth_dir
        Receives ``sm_truth_<year>.nc`` and ``stations_truth.csv``; no production step reads it.
    bbox
        Region ``(lon_min, lat_min, lon_max, lat_max)``; edges on the 0.25 degree lattice.
    year, n_stations, n_source_stations, seed
        The simulated year, the numbers of target (ISMN) and source (CSV) stations
        and the random seed.
    static
        Also write the drivers that do not depend on the year (:data:`STATIC_DRIVERS`);
        the workflow writes those with :func:`write_static_drivers` in a rule of their
        own, so a change of year does not rewrite them.
    """
    bbox = tuple(float(b) for b in bbox)
    for b in bbox:
        if abs(b / COARSE_DEG - round(b / COARSE_DEG)) > 1e-9:
            raise ValueError(f"bbox {bbox} must lie on the {COARSE_DEG} degree lattice")
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    rng = np.random.default_rng(seed)
    days = _days(year)
    n_days = len(days)
    st = _static(rng, bbox)
    h, w = st.dem.shape
    pheno = _phenology(np.arange(1, n_days + 1))
    t_season, lapse, precip = _weather(rng, st, n_days)
    sm_s, sm_rz = _bucket(st, t_season, lapse, precip, pheno)
    comp, precip_product = _drivers(rng, st, t_season, lapse, precip, sm_s, sm_rz, pheno)
    log.info("simulated %d days on a %dx%d grid", n_days, h, w)
    drivers = _write_drivers(out_dir / "drivers", st, comp, precip_product, bbox, year, seed)
    if static:
        drivers.update(_write_static(out_dir / "drivers", st, bbox, seed))
    sim = _SimulatedYear(st, sm_s, sm_rz, bbox, days)
    reanalysis = _write_reanalysis(rng, out_dir / "reanalysis", sim)
    rows = _write_stations(rng, out_dir, sim, (n_stations, n_source_stations))
    truth_path = Path(truth_dir) / f"sm_truth_{year}.nc"
    _write_truth(truth_path, sm_s, sm_rz, st.lat, st.lon, days)
    st_truth = Path(truth_dir) / "stations_truth.csv"
    write_table(pd.DataFrame(rows), st_truth, float_format="%.6f")
    log.info("soil-moisture world written to %s (truth in %s)", out_dir, truth_dir)
    return SoilMoistureWorld(
        reanalysis,
        drivers,
        out_dir / "ismn",
        out_dir / "stations_source" / f"demo_dense_{year}.csv",
        truth_path,
        st_truth,
        bbox,
        year,
    )


def _write_drivers(
    drv_dir: Path,
    st: _Static,
    comp: dict[str, np.ndarray],
    precip_product: np.ndarray,
    bbox: tuple[float, ...],
    year: int,
    seed: int,
) -> dict[str, Path]:
    """The year's 1 km driver GeoTIFFs (8-day composites, daily precipitation)."""
    starts = [d.isoformat() for d in composite_starts(year)]
    day_names = [d.strftime("%Y-%m-%d") for d in _days(year)]
    specs = {
        f"ndvi_{year}": (comp["ndvi"], starts, "1", 0.001),
        f"lst_day_{year}": (comp["lst_day"], starts, "K", 0.02),
        f"lst_night_{year}": (comp["lst_night"], starts, "K", 0.02),
        f"albedo_{year}": (comp["albedo"], starts, "1", 0.0005),
        f"precip_{year}": (precip_product, day_names, "mm/day", 0.01),
    }
    written = _write_driver_files(drv_dir, specs, bbox, seed)
    return {name.removesuffix(f"_{year}"): path for name, path in written.items()}


#: Drivers that do not depend on the year.
STATIC_DRIVERS = ("dem", "sand", "clay")


def _write_static(
    drv_dir: Path, st: _Static, bbox: tuple[float, ...], seed: int
) -> dict[str, Path]:
    """The drivers that do not depend on the year: elevation, sand and clay."""
    specs = {
        "dem": (st.dem[None], ["dem"], "m", 0.1),
        "sand": (st.sand[None], ["sand"], "kg/kg", 0.0005),
        "clay": (st.clay[None], ["clay"], "kg/kg", 0.0005),
    }
    return _write_driver_files(drv_dir, specs, bbox, seed)


def write_static_drivers(
    out_dir: str | Path, *, bbox: Sequence[float] = DEFAULT_BBOX, seed: int = 0
) -> dict[str, Path]:
    """Write only the demo world's year-independent drivers (:data:`STATIC_DRIVERS`) to
    ``out_dir/drivers``: the same files :func:`write_soil_moisture_world` writes, since
    the land is drawn first from the seed, before anything of the year."""
    bbox = tuple(float(b) for b in bbox)
    st = _static(np.random.default_rng(seed), bbox)
    return _write_static(Path(out_dir) / "drivers", st, bbox, seed)


def _write_driver_files(
    drv_dir: Path,
    specs: dict[str, tuple[np.ndarray, list[str], str, float]],
    bbox: tuple[float, ...],
    seed: int,
) -> dict[str, Path]:
    """Each ``name: (bands, band names, units, error bound)`` as ``drv_dir/<name>.tif``."""
    transform = Affine(FINE_DEG, 0, bbox[0], 0, -FINE_DEG, bbox[3])
    written = {}
    for name, (arr, names, units, err) in specs.items():
        path = drv_dir / f"{name}.tif"
        write_raster(
            path,
            arr.astype(np.float32),
            transform=transform,
            crs="EPSG:4326",
            nodata=np.nan,
            band_names=names,
            units=units,
            max_z_error=err,
            tags={"source": "agrifactory synthetic soil-moisture world", "seed": seed},
        )
        written[name] = path
    return written


@dataclass
class _SimulatedYear:
    """The simulated land and its surface and root-zone soil moisture over a year."""

    st: _Static
    surface: np.ndarray
    rootzone: np.ndarray
    bbox: tuple[float, ...]
    days: pd.DatetimeIndex


def _write_reanalysis(
    rng: np.random.Generator, folder: Path, sim: _SimulatedYear
) -> dict[str, Path]:
    """GLEAM-like files: the truth's area mean plus a wet bias, a per-cell offset and AR(1) noise."""
    st, bbox, days = sim.st, sim.bbox, sim.days
    h, w = st.dem.shape
    year = days[0].year
    block = round(COARSE_DEG / FINE_DEG)
    c_lat = bbox[3] - (np.arange(h // block) + 0.5) * COARSE_DEG
    c_lon = bbox[0] + (np.arange(w // block) + 0.5) * COARSE_DEG
    reanalysis = {}
    bias = {"surface": (1.10, 0.012, 0.006, 0.006), "rootzone": (1.06, 0.008, 0.005, 0.004)}
    for layer, var, fine, long_name in (
        ("surface", "SMs", sim.surface, "Surface Soil Moisture"),
        ("rootzone", "SMrz", sim.rootzone, "Root-Zone Soil Moisture"),
    ):
        gain, add, cell_sd, noise_sd = bias[layer]
        mean = _coarse_mean(fine, st.lat, block)
        cell = rng.normal(0, cell_sd, mean.shape[1:])
        coarse = gain * mean + add + cell + _ar1(rng, mean.shape, 0.7, noise_sd)
        path = folder / f"{var}_{year}_GLEAM_{GLEAM_VERSION}.nc"
        _write_gleam(path, var, np.clip(coarse, 0.01, 0.6), c_lat, c_lon, days, long_name)
        reanalysis[layer] = path
    return reanalysis


def _write_stations(
    rng: np.random.Generator, out_dir: Path, sim: _SimulatedYear, counts: tuple[int, int]
) -> list[dict]:
    """Target stations (6-hourly ISMN files) and source stations (daily means in a CSV);
    returns each station's truth row (position, elevation, offsets)."""
    st, bbox, days = sim.st, sim.bbox, sim.days
    year = days[0].year
    times = pd.date_range(f"{year}-01-01 00:00", periods=len(days) * 4, freq="6h")
    rows: list[dict] = []
    taken: list[tuple[float, float]] = []
    source_box = (bbox[0], bbox[1], bbox[0] + 1.0, bbox[1] + 1.0)
    for net, n, box, sep in (
        (TARGET, counts[0], bbox, 0.12),
        (SOURCE, counts[1], source_box, 0.05),
    ):
        placed = _place_stations(rng, st, n, box, sep, taken)
        taken += placed
        csv_rows = []
        for k, (lon, lat) in enumerate(placed):
            name = f"{'SM' if net is TARGET else 'D'}{k + 1:03d}"
            i = int((bbox[3] - lat) / FINE_DEG)
            j = int((lon - bbox[0]) / FINE_DEG)
            row = {
                "network": net.name,
                "station": f"{net.name}:{name}",
                "lon": lon,
                "lat": lat,
                "elevation": st.dem[i, j],
            }
            for layer, sm in (("surface", sim.surface), ("rootzone", sim.rootzone)):
                offset = rng.normal(0, net.offset_sd[layer])
                daily = _station_series(rng, st, sm, layer, i, j, net, offset)
                row[f"offset_{layer}"] = offset
                d0, d1 = net.depths[layer]
                if net is TARGET:
                    _write_target_file(
                        rng,
                        out_dir / "ismn",
                        name,
                        lon,
                        lat,
                        st.dem[i, j],
                        d0,
                        d1,
                        times,
                        daily,
                        st.porosity[i, j],
                        year,
                        0.010 if layer == "surface" else 0.005,
                    )
                else:
                    csv_rows.append(
                        _source_rows(rng, f"{net.name}:{name}", lon, lat, d0, d1, days, daily)
                    )
            rows.append(row)
        if net is SOURCE and csv_rows:
            frame = pd.concat(csv_rows, ignore_index=True)
            csv = out_dir / "stations_source" / f"demo_dense_{year}.csv"
            write_table(frame, csv, float_format="%.4f")
    return rows
