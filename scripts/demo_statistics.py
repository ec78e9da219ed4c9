"""Rule demo_statistics: the demo's official cropland statistics per province and county."""

from agrifactory import boundaries
from agrifactory.io.tables import write_table
from agrifactory.logs import setup_logging
from agrifactory.synthetic import demo
from agrifactory.synthetic.statistics import official_tables
from agrifactory.synthetic.world import build_world

setup_logging(snakemake.log[0])
p = snakemake.params.world
world = build_world(demo.spec_from_params(p))
provinces = boundaries.to_albers(boundaries.read_units(snakemake.input.provinces))
counties = boundaries.to_albers(boundaries.read_units(snakemake.input.counties))
province_table, county_table = official_tables(
    world, provinces, counties, error_sd=p["demo_world"]["statistics_error"]
)
write_table(province_table, snakemake.output.province)
write_table(county_table, snakemake.output.county)
