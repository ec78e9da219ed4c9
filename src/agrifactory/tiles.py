"""The tile index: which tiles a run covers and which provinces each one overlaps."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely

from agrifactory.grid import ALBERS, DEFAULT_GRID, GridSpec, Tile, tiles_covering

log = logging.getLogger(__name__)


def tiles_for_units(
    units_albers: gpd.GeoDataFrame, tile_km: int, spec: GridSpec = DEFAULT_GRID
) -> list[Tile]:
    """Every tile that intersects at least one unit (units in the grid's CRS)."""
    candidates = tiles_covering(units_albers.total_bounds, tile_km, spec)
    boxes = shapely.box(*np.array([t.bounds for t in candidates]).T)
    tree = shapely.STRtree(units_albers.geometry.to_numpy())
    hit = np.unique(tree.query(boxes, predicate="intersects")[0])
    log.info(
        "%d of %d candidate %d km tiles intersect the units", len(hit), len(candidates), tile_km
    )
    return [candidates[i] for i in hit]


def tile_index(tiles: Sequence[Tile], provinces_albers: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per tile: id, bounds, overlapped province adcodes and each overlap's area (km2).

    ``adcodes`` and ``overlap_km2`` are ``;``-joined lists in the same order,
    largest overlap first; a tile over no province (sea, abroad) has empty lists.
    """
    boxes = [shapely.box(*t.bounds) for t in tiles]
    tree = shapely.STRtree(provinces_albers.geometry.to_numpy())
    rows = []
    for tile, box in zip(tiles, boxes, strict=True):
        idx = tree.query(box, predicate="intersects")
        parts = []
        for i in idx:
            area = shapely.intersection(box, provinces_albers.geometry.iloc[i]).area / 1e6
            if area > 0:
                parts.append((area, provinces_albers["adcode"].iloc[i]))
        parts.sort(reverse=True)
        x0, y0, x1, y1 = tile.bounds
        rows.append(
            {
                "tile": tile.id,
                "col": tile.col,
                "row": tile.row,
                "tile_km": tile.tile_km,
                "x_min": x0,
                "y_min": y0,
                "x_max": x1,
                "y_max": y1,
                "adcodes": ";".join(a for _, a in parts),
                "overlap_km2": ";".join(f"{v:.3f}" for v, _ in parts),
                "land_km2": round(sum(v for v, _ in parts), 3),
            }
        )
    return gpd.GeoDataFrame(rows, geometry=boxes, crs=tiles[0].spec.crs if tiles else ALBERS)
