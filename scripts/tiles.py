"""Rule tiles: the tile index with the provinces each tile overlaps."""

import logging

from agrifactory import boundaries, tiles
from agrifactory.grid import DEFAULT_GRID, Tile, job_grid
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
spec = job_grid(snakemake.params)
provinces = boundaries.to_albers(boundaries.read_units(snakemake.input.provinces))
if spec != DEFAULT_GRID:
    provinces = provinces.to_crs(spec.crs)
tile_list = [Tile.from_id(t, snakemake.params.tile_km, spec) for t in snakemake.params.tiles]
index = tiles.tile_index(tile_list, provinces)
boundaries.write_units(index, snakemake.output[0], layer="tiles")
logging.getLogger("tiles").info(
    "%d tiles of %d km (%d with land), written to %s",
    len(index),
    snakemake.params.tile_km,
    int((index["land_km2"] > 0).sum()),
    snakemake.output[0],
)
