"""Scene inventories: which Landsat scenes and MODIS composites exist, when and where.

An inventory is a CSV (one row per Landsat scene or MODIS file) that the workflow
reads when it builds the DAG, to give every tile job exactly the input files
that cover it. ``agrifactory inventory`` writes one by scanning a directory; the
demo computes its own from the plan of the files it generates.

Columns: ``sensor`` (``landsat`` or ``modis``), ``id`` (product id or file
stem), ``date`` (acquisition or composite start, YYYY-MM-DD), ``path`` (scene
directory or file, relative paths are relative to the working directory),
``bands`` (Landsat: the band files present, as suffixes joined by ``;``, e.g.
``SR_B2;SR_B4;SR_B5;ST_B10;QA_PIXEL;QA_RADSAT``, plus ``MTL`` when the scene has its
metadata file ``<product id>_MTL.json``, ``.xml`` or ``.txt``; empty for MODIS) and
``footprint`` (WKT polygon in EPSG:4326). An inventory written by ``agrifactory
acquire`` has one more column, ``assets``: a JSON object from each band the ingest
reads (Landsat band suffixes and ``MTL``, MODIS canonical names such as ``red``,
``nir``, ``qc``) to its URL; ``path`` is then the STAC item's own URL, and ``bands``
lists the keys.

The scanner opens every band file of a scene (headers only) and reads its metadata
file, so a truncated or unreadable file is named when the inventory is made, not
when a tile job reads it.
Reading an inventory checks each row's date against its sensor's mission
(:mod:`agrifactory.io.missions`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from rasterio.warp import transform_geom

from agrifactory.errors import InputError
from agrifactory.grid import ALBERS, Tile
from agrifactory.io import landsat, landsat_mtl, missions, modis
from agrifactory.io.raster import open_raster
from agrifactory.io.tables import write_table

log = logging.getLogger(__name__)

COLUMNS = ["sensor", "id", "date", "path", "bands", "footprint"]
#: The optional column of an acquired inventory: band -> URL, as a JSON object.
ASSETS = "assets"
COLUMNS_WITH_ASSETS = [*COLUMNS, ASSETS]

_LANDSAT_FILE = re.compile(
    r"^(?P<pid>L[COTEM]0\d_L2S[PR]_\d{6}_\d{8}_\d{8}_\d{2}_(T1|T2|RT))_(?P<band>(SR|ST|QA)_\w+)\.TIF$"
)


#: Segments of a footprint outline and decimals (1e-6 degree, about 0.1 m) of its WKT.
#: The footprint only picks the tiles a scene covers; 32 segments (8 per side) keep a
#: curved edge within metres, and all-China inventories (tens of thousands of scenes)
#: stay small enough to parse in about a second when the DAG is built.
FOOTPRINT_SEGMENTS = 32
FOOTPRINT_DECIMALS = 6


def raster_footprint(path: str | Path) -> str:
    """The WKT (EPSG:4326) of a raster's bounds, densified so curved edges stay right.

    A file whose CRS is projected but whose pixels are under a metre wide (the numbers
    of degrees under a metric CRS tag) is an :class:`InputError`: its footprint would
    land near (0, 0) and the scene would cover no tile, silently.
    """
    with open_raster(path) as src:
        if src.crs.is_projected and min(abs(src.res[0]), abs(src.res[1])) < 1.0:
            raise InputError(
                path,
                f"the CRS ({src.crs.to_string()}) is projected but the pixels are "
                f"{src.res[0]:g} x {src.res[1]:g} units wide: the coordinates look like "
                "degrees under a wrong CRS tag",
                "set the right CRS (e.g. gdal_edit.py -a_srs EPSG:4326 FILE) and scan again",
            )
        box = shapely.box(*src.bounds)
        dense = shapely.segmentize(box, box.length / FOOTPRINT_SEGMENTS)
        geom = transform_geom(src.crs, "EPSG:4326", shapely.geometry.mapping(dense), precision=-1)
    return shapely.to_wkt(shapely.geometry.shape(geom), rounding_precision=FOOTPRINT_DECIMALS)


def raster_header(path: str | Path) -> dict[str, object]:
    """Open a raster's header (CRS, bounds, tags); an unreadable file is an :class:`InputError`."""
    with open_raster(path) as src:
        return {"crs": src.crs, "bounds": src.bounds, "tags": src.tags(), "dtype": src.dtypes[0]}


def _landsat_row(text: str, folder: Path, bands: list[str]) -> tuple[str, ...]:
    """One inventory row of a scene, after opening the header of every band file."""
    pid = landsat.parse_product_id(text, source=folder)
    sr = [b for b in bands if b.startswith("SR_")]
    if not sr:
        raise InputError(folder, f"scene {text} has no surface-reflectance (SR_B*) file")
    for band in bands:
        raster_header(landsat.band_path(folder, pid, band))
    if landsat_mtl.check_scene_mtl(folder, text, bands):
        bands = [*bands, landsat_mtl.MTL_BAND]
    footprint = raster_footprint(landsat.band_path(folder, pid, sr[0]))
    return (
        "landsat",
        text,
        pid.acquired.isoformat(),
        str(folder),
        ";".join(sorted(bands)),
        footprint,
    )


def scan_landsat(root: str | Path) -> pd.DataFrame:
    """Find Collection 2 Level-2 scenes under ``root`` (band files named ``<product id>_<band>.TIF``).

    Every band file's header is read: a truncated or unreadable one is an
    :class:`InputError` naming the file.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(
            root,
            "Landsat directory not found",
            "check the folder given to 'agrifactory inventory landsat'",
        )
    scenes: dict[tuple[str, Path], list[str]] = defaultdict(list)
    for f in sorted(root.rglob("*.TIF")):
        m = _LANDSAT_FILE.match(f.name)
        if m:
            scenes[(m["pid"], f.parent)].append(m["band"])
    rows = [_landsat_row(text, folder, bands) for (text, folder), bands in sorted(scenes.items())]
    log.info("found %d Landsat scenes under %s", len(rows), root)
    return pd.DataFrame(rows, columns=COLUMNS)


#: Layer files of a MODIS granule converted to GeoTIFF (docs/data-formats.md, "MODIS HDF4
#: granules"): ``<product>.AYYYYDDD.hHHvVV.CCC[.<production time>].<layer>.tif``.
_MODIS_LAYER = re.compile(
    r"^(?P<granule>M[OY]D\w+\.A\d{7}\.h\d{2}v\d{2}\.\d{3})(?:\.\d{13})?"
    r"\.(?P<layer>sur_refl_b01|sur_refl_b02|sur_refl_qc_250m|pixel_reliability)$"
)
#: The canonical name of each layer (keys of an inventory row's ``assets``).
MODIS_LAYERS = {
    "sur_refl_b01": "red",
    "sur_refl_b02": "nir",
    "sur_refl_qc_250m": "qc",
    "pixel_reliability": "reliability",
}
#: What each product's layers must be (MOD13Q1: its NDVI file beside its reliability).
MODIS_LAYER_SETS = ({"red", "nir", "qc"}, {"ndvi", "reliability"})


def _modis_groups(files: list[Path]) -> dict[str, dict[str, Path]]:
    """Files grouped by granule: layer files under their canonical names; a lone NDVI
    composite (``*.NDVI.tif``) under its own stem, or with the reliability of its granule."""
    groups: dict[str, dict[str, Path]] = defaultdict(dict)
    for path in files:
        m = _MODIS_LAYER.match(path.stem)
        if m:
            groups[m["granule"]][MODIS_LAYERS[m["layer"]]] = path
    for path in files:
        if _MODIS_LAYER.match(path.stem):
            continue
        granule = next((g for g in groups if path.stem.startswith(g)), None)
        groups[granule or path.stem]["ndvi"] = path
    return dict(sorted(groups.items()))


def _modis_row(key: str, layers: dict[str, Path]) -> tuple[str, ...]:
    """One inventory row: a lone NDVI composite as its file, a granule's layers as assets."""
    first = next(iter(layers.values()))
    start = modis.date_from_name(first).isoformat()
    if set(layers) == {"ndvi"}:
        return ("modis", first.stem, start, str(first), "", raster_footprint(first), "")
    if set(layers) not in MODIS_LAYER_SETS:
        raise InputError(
            first,
            f"granule {key} has the layers {sorted(layers)}; a MOD09Q1 granule needs red, "
            "nir and qc (sur_refl_b01, sur_refl_b02, sur_refl_qc_250m), a MOD13Q1 one ndvi "
            "and reliability",
            "convert the missing layers (docs/data-formats.md, MODIS HDF4 granules)",
        )
    for path in layers.values():
        raster_header(path)
    assets = json.dumps({name: str(path) for name, path in sorted(layers.items())})
    folder = str(first.parent)
    return ("modis", key, start, folder, ";".join(sorted(layers)), raster_footprint(first), assets)


def scan_modis(root: str | Path) -> pd.DataFrame:
    """Find MODIS composites under ``root``: NDVI files (``*.AYYYYDDD.*.tif``), and MOD09Q1
    or MOD13Q1 granules converted layer by layer (their layers become the row's assets).

    NDVI files without a ``scale_factor`` tag are counted in a warning: the ingest
    scales them by :data:`agrifactory.io.modis.NDVI_SCALE` and says so in its log.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(
            root,
            "MODIS directory not found",
            "check the folder given to 'agrifactory inventory modis'",
        )
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".tif", ".tiff"))
    rows, untagged = [], []
    for key, layers in _modis_groups(files).items():
        rows.append(_modis_row(key, layers))
        ndvi = layers.get("ndvi")
        if ndvi is not None and modis.SCALE_TAG not in raster_header(ndvi)["tags"]:
            untagged.append(ndvi.name)
    if untagged:
        log.warning(
            "%d of %d MODIS composites have no %r tag (e.g. %s): the ingest scales them by "
            "the default %g; tag them (gdal_edit.py -mo %s=...) if that is wrong",
            len(untagged),
            len(rows),
            modis.SCALE_TAG,
            untagged[0],
            modis.NDVI_SCALE,
            modis.SCALE_TAG,
        )
    log.info("found %d MODIS composites under %s", len(rows), root)
    return pd.DataFrame(rows, columns=COLUMNS_WITH_ASSETS)


def write_inventory(table: pd.DataFrame, path: str | Path) -> None:
    """Write an inventory CSV atomically, sorted by sensor and date (``assets`` where it has them)."""
    columns = COLUMNS_WITH_ASSETS if has_assets(table) else COLUMNS
    write_table(table.sort_values(["sensor", "date", "id"])[columns], path)


def has_assets(table: pd.DataFrame) -> bool:
    """Whether any row of an inventory lists its files as asset URLs."""
    return ASSETS in table.columns and bool((table[ASSETS].astype(str) != "").any())


def row_assets(row: Mapping[str, Any]) -> dict[str, str]:
    """The band -> URL map of an acquired inventory row (empty for a scanned one)."""
    text = row.get(ASSETS)
    return json.loads(text) if isinstance(text, str) and text else {}


def read_inventory(path: str | Path) -> pd.DataFrame:
    """Read and validate an inventory CSV.

    Raises :class:`InputError` naming the file and the row for a missing column,
    an unknown sensor, a malformed date or footprint, or a duplicated id.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(
            path, "inventory not found", "create it with 'agrifactory inventory' or fix the config"
        )
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise InputError(path, f"missing column(s) {missing}; expected {COLUMNS}")
    if ASSETS not in table.columns:
        table[ASSETS] = ""
    return validate_inventory(table, path)


def validate_inventory(table: pd.DataFrame, source: str | Path) -> pd.DataFrame:
    """Check the rows of an inventory and parse dates and footprints (adds ``geometry``)."""
    bad_sensor = table.loc[~table["sensor"].isin(["landsat", "modis"]), "sensor"]
    if len(bad_sensor):
        raise InputError(
            source,
            f"row {bad_sensor.index[0] + 2}: unknown sensor {bad_sensor.iloc[0]!r} (landsat or modis)",
        )
    dates = pd.to_datetime(table["date"], format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna())[0])
        raise InputError(source, f"row {i + 2}: date {table['date'].iloc[i]!r} is not YYYY-MM-DD")
    dups = table["id"][table["id"].duplicated()]
    if len(dups):
        raise InputError(source, f"duplicate id(s) {sorted(set(dups))[:5]}: list each scene once")
    try:
        geoms = _parse_footprints(table["footprint"])
    except shapely.errors.GEOSException as exc:
        raise InputError(source, f"a footprint is not valid WKT ({exc})") from None
    out = table.copy()
    out[ASSETS] = out[ASSETS].fillna("") if ASSETS in out.columns else ""
    out["date"] = dates.dt.date
    check_missions(out, source)
    out["geometry"] = geoms
    return out.reset_index(drop=True)


def _mission_of(sensor: str, scene_id: str) -> missions.Mission | None:
    if sensor == "landsat":
        return missions.landsat_mission(scene_id)
    return missions.modis_mission(scene_id)


def check_missions(table: pd.DataFrame, source: str | Path) -> None:
    """Every row's date lies within its sensor's mission (:mod:`agrifactory.io.missions`).

    The mission is looked up once per sensor code (``LC08``, ``MOD``...), so an
    all-China inventory is checked in a fraction of a second.
    """
    sensors = table["sensor"].to_numpy(str)
    codes = np.where(sensors == "landsat", table["id"].str[:4], table["id"].str[:3])
    dates = np.asarray(table["date"], dtype=object)
    for sensor, code in sorted(set(zip(sensors, codes, strict=True))):
        rows = np.flatnonzero((sensors == sensor) & (codes == code))
        scene_id = table["id"].iloc[rows[0]]
        mission = _mission_of(sensor, scene_id)
        if mission is None:
            raise InputError(
                source,
                f"row {rows[0] + 2}: {scene_id!r} names no Landsat mission (sensor code "
                f"{code!r}; known: {', '.join(m.name for m in missions.LANDSAT.values())})",
                "expected a Collection 2 product id such as LC08_L2SP_124031_20210105_20210115_02_T1",
            )
        outside = [i for i in rows if not mission.covers(dates[i])]
        if outside:
            i = outside[0]
            raise InputError(
                source,
                f"row {i + 2}: {table['id'].iloc[i]} is dated {dates[i]}, outside the "
                f"{mission.name} mission ({mission.span()}); {len(outside)} row(s) in all",
                "fix the dates or remove the rows (rescan with 'agrifactory inventory')",
            )


def _parse_footprints(wkt: pd.Series) -> np.ndarray:
    """The footprints' WKT as shapely geometries, each distinct text parsed once.

    Every composite of a MODIS tile, and every placeholder scene of a path/row, has the
    same footprint: rows with equal text share one geometry object.
    """
    codes, uniques = pd.factorize(wkt, use_na_sentinel=False)
    return shapely.from_wkt(np.asarray(uniques, dtype=object))[codes]


def albers_footprints(
    table: pd.DataFrame, max_segment_deg: float = 0.05, crs: CRS = ALBERS
) -> np.ndarray:
    """The footprints of an inventory in the Albers CRS, or the grid's ``crs`` (shapely array).

    Edges are first cut into pieces of at most ``max_segment_deg`` degrees so they
    bend with the projection (0.25 degrees keeps them within about 15 m). A geometry
    object shared by several rows (:func:`_parse_footprints`) is projected once.
    """
    to_albers = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    geoms = np.asarray(table["geometry"].tolist(), dtype=object)
    _, first, back = np.unique(
        np.fromiter(map(id, geoms), dtype=np.int64, count=len(geoms)),
        return_index=True,
        return_inverse=True,
    )
    distinct = shapely.segmentize(geoms[first], max_segment_deg)
    projected = shapely.transform(
        distinct, lambda c: np.column_stack(to_albers.transform(c[:, 0], c[:, 1]))
    )
    return projected[back.reshape(-1)]


def select(
    table: pd.DataFrame,
    tile: Tile,
    sensor: str,
    start: dt.date,
    end: dt.date,
    footprints: np.ndarray | None = None,
) -> pd.DataFrame:
    """Rows of one sensor dated within [start, end] whose footprint intersects the tile."""
    fp = albers_footprints(table) if footprints is None else footprints
    hit = shapely.intersects(fp, shapely.box(*tile.bounds))
    sel = (
        hit
        & (table["sensor"] == sensor).to_numpy()
        & (table["date"] >= start).to_numpy()
        & (table["date"] <= end).to_numpy()
    )
    return table[sel].sort_values(["date", "id"])


def year_window(year: int, margin_days: int) -> tuple[dt.date, dt.date]:
    """[Jan 1 - margin, Dec 31 + margin] of a year."""
    return (
        dt.date(year, 1, 1) - dt.timedelta(days=margin_days),
        dt.date(year, 12, 31) + dt.timedelta(days=margin_days),
    )


def scene_bands(row: pd.Series) -> list[str]:
    """The band suffixes listed for a Landsat inventory row."""
    return [b for b in str(row["bands"]).split(";") if b]


def landsat_files(row: pd.Series, names: Iterable[str]) -> dict[str, str]:
    """The files (or asset URLs) of the wanted spectral/QA ``names`` (``red``, ``QA_PIXEL``...)
    that a scene has."""
    pid = landsat.parse_product_id(row["id"], source=row["path"])
    present = set(scene_bands(row))
    assets = row_assets(row)
    out = {}
    for name in names:
        suffix = name if name.isupper() else pid.band_suffix(name)
        if suffix in assets:
            out[name] = assets[suffix]
        elif suffix in present:
            out[name] = str(landsat.band_path(row["path"], pid, suffix))
    return out


def from_records(records: list[dict[str, str]]) -> pd.DataFrame:
    """An inventory table (without footprints) from plain records, such as rule params."""
    columns = [c for c in COLUMNS_WITH_ASSETS if c != "footprint"]
    table = pd.DataFrame(records, columns=columns)
    table[ASSETS] = [r.get(ASSETS) or "" for r in records]
    table["date"] = pd.to_datetime(table["date"], format="%Y-%m-%d").dt.date
    return table
