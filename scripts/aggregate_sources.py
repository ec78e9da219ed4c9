"""Rule aggregate_sources: every map's cropland areas against the official statistics."""

from agrifactory.aggregate import rules

rules.aggregate_sources(snakemake)
