"""Rule adapt_pool (agrifactory.adapt.rules)."""

from agrifactory.adapt import rules

rules.adapt_pool(snakemake)
