"""Rule demo_landsat_scene: one Landsat Collection 2 L2 scene of the demo world."""

from pathlib import Path

from agrifactory.logs import setup_logging
from agrifactory.synthetic import demo
from agrifactory.synthetic.landsat import write_scene
from agrifactory.synthetic.world import build_world

setup_logging(snakemake.log[0])
p = snakemake.params.world
plans = demo.scene_plans(p["demo_world"], p["year"], p["margin_days"])
plan = next(s for s in plans if s.product_id == snakemake.wildcards.scene)
write_scene(Path(snakemake.output[0]).parent.parent, plan, build_world(demo.spec_from_params(p)))
