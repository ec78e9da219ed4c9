"""Rule aggregate_tile: class areas of one tile-year per province and county (partial table)."""

from agrifactory.aggregate import rules

rules.aggregate_tile(snakemake)
