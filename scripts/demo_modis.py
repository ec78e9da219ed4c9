"""Rule demo_modis: the demo world's MODIS-like 8-day NDVI composites."""

from pathlib import Path

from agrifactory.logs import setup_logging
from agrifactory.synthetic import demo
from agrifactory.synthetic.modis import write_composites
from agrifactory.synthetic.world import build_world

setup_logging(snakemake.log[0])
p = snakemake.params.world
world = build_world(demo.spec_from_params(p))
write_composites(Path(snakemake.output[0]).parent, world, p["margin_days"])
