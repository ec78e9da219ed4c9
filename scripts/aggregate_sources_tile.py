"""Rule aggregate_sources_tile: every map's cropland areas of one tile-year per unit."""

from agrifactory.aggregate import rules

rules.aggregate_sources_tile(snakemake)
