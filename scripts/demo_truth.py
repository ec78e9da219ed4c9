"""Rule demo_truth: the truth rasters of the demo world (read only by evaluation rules)."""

from pathlib import Path

from agrifactory.logs import setup_logging
from agrifactory.synthetic import demo
from agrifactory.synthetic.world import build_world

setup_logging(snakemake.log[0])
world = build_world(demo.spec_from_params(snakemake.params.world))
demo.write_truth(world, Path(snakemake.output[0]).parent)
