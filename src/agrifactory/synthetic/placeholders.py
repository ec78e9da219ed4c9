"""Placeholder inputs for dry runs at scale: inventories whose files exist but are empty.

``snakemake -n`` over all of China needs an inventory of Landsat scenes and MODIS
composites, and every file a job lists as input must exist. This module lays a
regular lattice of Landsat-sized footprints (185 x 180 km, a new path every
150 km and a new row every 160 km, like WRS-2) and MODIS-sized footprints
(1000 km) over the tiles and dates them like the real missions (each within its
mission: :mod:`agrifactory.io.missions`). Every Landsat
scene lives in one shared folder (as scanned archives may), and every MODIS
composite is an empty file: the run plan checks that each listed path exists,
and nothing more is needed to build the DAG. Nothing here is data; never point
a real run at it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from agrifactory.grid import ALBERS, Tile
from agrifactory.io import inventory, missions, modis

#: Band files a placeholder Landsat 8/9 scene claims to have (what the ingest reads).
SCENE_BANDS = ("SR_B2", "SR_B4", "SR_B5", "ST_B10", "QA_PIXEL", "QA_RADSAT")
#: The same for a Landsat 7 scene (ETM+ band numbers).
ETM_SCENE_BANDS = ("SR_B1", "SR_B3", "SR_B4", "ST_B6", "QA_PIXEL", "QA_RADSAT")


@dataclass(frozen=True)
class Lattice:
    """Footprints of one sensor laid over the tiles (Albers metres)."""

    footprint_m: tuple[float, float]
    step_m: tuple[float, float]


LANDSAT = Lattice(footprint_m=(185_000.0, 180_000.0), step_m=(150_000.0, 160_000.0))
MODIS = Lattice(footprint_m=(1_000_000.0, 1_000_000.0), step_m=(1_000_000.0, 1_000_000.0))


def _footprints(tiles: Sequence[Tile], lattice: Lattice) -> list[tuple[int, int, shapely.Polygon]]:
    """(column, row, Albers box) of every lattice footprint that touches a tile."""
    bounds = np.array([t.bounds for t in tiles])
    x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
    x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
    (w, h), (sx, sy) = lattice.footprint_m, lattice.step_m
    tree = shapely.STRtree([shapely.box(*b) for b in bounds])
    out = []
    for j, cy in enumerate(np.arange(y1 - sy / 2, y0 - h / 2, -sy)):
        for i, cx in enumerate(np.arange(x0 + sx / 2, x1 + w / 2, sx)):
            box = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            if len(tree.query(box, predicate="intersects")):
                out.append((i, j, box))
    return out


def _wkt_lonlat(boxes: Sequence[shapely.Polygon]) -> list[str]:
    """Lon/lat WKT of Albers boxes, densified and rounded like the inventory scanner."""
    to_lonlat = Transformer.from_crs(ALBERS, "EPSG:4326", always_xy=True)
    boxes = np.asarray(boxes)
    dense = shapely.segmentize(boxes, shapely.length(boxes) / inventory.FOOTPRINT_SEGMENTS)
    geoms = shapely.transform(
        dense, lambda c: np.column_stack(to_lonlat.transform(c[:, 0], c[:, 1]))
    )
    return shapely.to_wkt(geoms, rounding_precision=inventory.FOOTPRINT_DECIMALS).tolist()


def _satellite(sat: int, date: dt.date) -> tuple[str, str]:
    """Sensor code and band files of satellite ``sat`` (0: Landsat 8, 1: Landsat 9) on ``date``.

    Before Landsat 9's mission the second satellite is Landsat 7 (ETM+ band names),
    as in the real archive, so every date lies within its mission.
    """
    if sat == 0:
        return "LC08", ";".join(SCENE_BANDS)
    if missions.LANDSAT["09"].covers(date):
        return "LC09", ";".join(SCENE_BANDS)
    return "LE07", ";".join(ETM_SCENE_BANDS)


def _touch(paths: Sequence[Path]) -> None:
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.touch()


def placeholder_inventories(
    tiles: Sequence[Tile],
    year: int,
    margin_days: int,
    root: str | Path,
    *,
    satellites: int = 2,
) -> tuple[Path, Path]:
    """Write placeholder Landsat and MODIS inventories (and the paths they list) under ``root``.

    Parameters
    ----------
    tiles
        The tiles to cover.
    year, margin_days
        The dates span ``year`` plus the ingest margin on both sides.
    root
        An empty scratch folder (never inside the repository).
    satellites
        Landsat satellites in orbit: each path is seen every 16 days per satellite
        (2: Landsat 8 and 9, 8 days apart; Landsat 7 before Landsat 9 took data).

    Returns
    -------
    The paths of the Landsat and MODIS inventory CSVs.
    """
    root = Path(root)
    start, end = inventory.year_window(year, margin_days)
    landsat_fp = _footprints(tiles, LANDSAT)
    wkts = _wkt_lonlat([b for _, _, b in landsat_fp])
    folder = root / "landsat"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for (i, j, _), wkt in zip(landsat_fp, wkts, strict=True):
        path_no, row_no = 100 + i, 20 + j
        for sat in range(satellites):
            first = start + dt.timedelta(days=(7 * i + 8 * sat) % 16)
            for date in pd.date_range(first, end, freq="16D").date:
                code, bands = _satellite(sat, date)
                pid = f"{code}_L2SP_{path_no:03d}{row_no:03d}_{date:%Y%m%d}_{date:%Y%m%d}_02_T1"
                rows.append(("landsat", pid, date.isoformat(), str(folder), bands, wkt))
    landsat_csv = root / "landsat_inventory.csv"
    inventory.write_inventory(pd.DataFrame(rows, columns=inventory.COLUMNS), landsat_csv)

    modis_fp = _footprints(tiles, MODIS)
    wkts = _wkt_lonlat([b for _, _, b in modis_fp])
    rows, files = [], []
    for (i, j, _), wkt in zip(modis_fp, wkts, strict=True):
        for date in modis.composite_dates(year, margin_days):
            path = root / "modis" / modis.modis_file_name(date, tile=f"h{i:02d}v{j:02d}")
            rows.append(("modis", path.stem, date.isoformat(), str(path), "", wkt))
            files.append(path)
    modis_csv = root / "modis_inventory.csv"
    inventory.write_inventory(pd.DataFrame(rows, columns=inventory.COLUMNS), modis_csv)
    _touch(files)
    return landsat_csv, modis_csv


def placeholder_config(
    tiles: Sequence[Tile], year: int, margin_days: int, root: str | Path, **kwargs: int
) -> dict:
    """Placeholder inventories and samples under ``root``, as the ``inputs`` config section."""
    landsat_csv, modis_csv = placeholder_inventories(tiles, year, margin_days, root, **kwargs)
    samples = Path(root) / "samples.gpkg"
    _touch([samples])
    return {
        "inputs": {
            "landsat_inventory": str(landsat_csv),
            "modis_inventory": str(modis_csv),
            "samples": str(samples),
        }
    }
