"""Training regions: which tiles share one model (per region and year).

A run's tiles are grouped into regions by the config (``classify.regions``):

* ``"all"``: one region named ``all`` holds every tile (the default);
* ``"west_east"``: the tile columns west of the middle of the run's tiles form the
  region ``west``, the others ``east`` (the demo's two sub-regions; with an odd
  number of columns the middle column goes east);
* a mapping ``{region: [tile ids]}``: every tile of the run must be listed exactly
  once; tiles of other runs may be listed too (one table can serve all of China).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import geopandas as gpd
import shapely

from agrifactory.errors import ConfigError
from agrifactory.grid import DEFAULT_GRID, GridSpec, Tile

#: Region names become folder names and wildcard values.
REGION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")

SINGLE = "all"
WEST_EAST = "west_east"


def tile_regions(
    tile_ids: Sequence[str], tile_km: int, regions: str | Mapping[str, Sequence[str]]
) -> dict[str, str]:
    """Tile id -> region name, for every tile of the run (in the order given)."""
    if not tile_ids:
        raise ConfigError("the run has no tiles to group into regions")
    if regions == SINGLE:
        return {t: SINGLE for t in tile_ids}
    if regions == WEST_EAST:
        tiles = [Tile.from_id(t, tile_km) for t in tile_ids]
        cols = sorted({t.col for t in tiles})
        middle = (cols[0] + cols[-1] + 1) / 2.0  # in tile columns
        return {t.id: ("west" if t.col + 0.5 < middle else "east") for t in tiles}
    if isinstance(regions, str):
        raise ConfigError(
            f"classify.regions = {regions!r}: expected {SINGLE!r}, {WEST_EAST!r} or a "
            "mapping {region: [tile ids]}"
        )
    return _from_mapping(tile_ids, regions)


def _from_mapping(tile_ids: Sequence[str], regions: Mapping[str, Sequence[str]]) -> dict[str, str]:
    owner: dict[str, str] = {}
    for name, members in regions.items():
        if not REGION_NAME.match(str(name)):
            raise ConfigError(
                f"classify.regions: region name {name!r} must start with a letter and hold "
                "only letters, digits, '_' and '-'"
            )
        for tile in members:
            if tile in owner and owner[tile] != name:
                raise ConfigError(
                    f"classify.regions: tile {tile} is in regions {owner[tile]!r} and {name!r}"
                )
            owner[tile] = str(name)
    missing = [t for t in tile_ids if t not in owner]
    if missing:
        raise ConfigError(
            f"classify.regions: tiles {missing[:10]}{' ...' if len(missing) > 10 else ''} "
            f"({len(missing)} of the run's {len(tile_ids)}) are in no region; list them"
        )
    return {t: owner[t] for t in tile_ids}


def region_names(mapping: Mapping[str, str]) -> list[str]:
    """The regions of a tile -> region mapping, in order of first appearance."""
    return list(dict.fromkeys(mapping.values()))


def tiles_frame(
    tile_ids: Sequence[str],
    tile_km: int,
    regions: Mapping[str, str],
    grid: GridSpec = DEFAULT_GRID,
) -> gpd.GeoDataFrame:
    """The run's tiles as squares of the grid's CRS with ``tile_id`` and ``region`` columns.

    Built from the tile lattice (not read from ``tiles.gpkg``), so its CRS is exactly
    the CRS of the feature rasters.
    """
    tiles = [Tile.from_id(t, tile_km, grid) for t in tile_ids]
    return gpd.GeoDataFrame(
        {"tile_id": [t.id for t in tiles], "region": [regions[t.id] for t in tiles]},
        geometry=[shapely.box(*t.bounds) for t in tiles],
        crs=grid.crs,
    )
