"""Rule boundaries: provinces (all) and counties (of the provinces the tiles touch)."""

from pyproj import Transformer

from agrifactory import boundaries
from agrifactory.grid import ALBERS, DEFAULT_GRID, Tile, job_grid
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
provinces = boundaries.load_units(
    "province", p.source, adcode_field=p.adcode_field, name_field=p.name_field
)
spec = job_grid(p)
tiles = [Tile.from_id(t, p.tile_km, spec) for t in p.tiles]
xs0, ys0, xs1, ys1 = zip(*(t.bounds for t in tiles), strict=True)
box = (min(xs0), min(ys0), max(xs1), max(ys1))
if spec != DEFAULT_GRID:
    box = Transformer.from_crs(spec.crs, ALBERS, always_xy=True).transform_bounds(*box)
touched = boundaries.provinces_touching(provinces, box)
counties = boundaries.load_units(
    "county",
    p.county_source,
    adcode_field=p.adcode_field,
    name_field=p.name_field,
    province_adcodes=touched,
)
boundaries.write_units(provinces, snakemake.output.provinces)
boundaries.write_units(counties, snakemake.output.counties)
