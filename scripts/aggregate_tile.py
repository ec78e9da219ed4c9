"""Rule aggregate_tile: class areas of one tile-year per province and county (partial table)."""

from agrifactory.aggregate import fanin, zonal
from agrifactory.grid import Tile
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
tile = Tile.from_id(snakemake.wildcards.tile, p.tile_km)
paths = {"province": snakemake.input.provinces, "county": snakemake.input.counties}
units = {level: zonal.read_units_near(paths[level], tile) for level in p.levels}
products = {name: snakemake.input[name] for name in p.products}
areas = zonal.tile_areas(products, tile, units, method=p.method)
fanin.write_partial(areas, snakemake.output[0])
