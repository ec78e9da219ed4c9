"""Rule demo_modis: the demo world's MODIS-like 8-day NDVI composites."""

from agrifactory.synthetic import rules

rules.demo_modis(snakemake)
