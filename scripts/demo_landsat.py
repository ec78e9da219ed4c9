"""Rule demo_landsat_scene: one Landsat Collection 2 L2 scene of the demo world."""

from agrifactory.synthetic import rules

rules.demo_landsat_scene(snakemake)
