"""Rule demo_samples: labelled sample points by a stratified random design."""

from agrifactory.logs import setup_logging
from agrifactory.synthetic import demo
from agrifactory.synthetic.samples import draw_samples, write_samples
from agrifactory.synthetic.world import build_world

setup_logging(snakemake.log[0])
p = snakemake.params.world
world = build_world(demo.spec_from_params(p))
samples = draw_samples(world, validation_fraction=p["demo_world"]["validation_fraction"])
write_samples(snakemake.output[0], samples)
