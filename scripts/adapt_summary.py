"""Rule adapt_summary (agrifactory.adapt.rules)."""

from agrifactory.adapt import rules

rules.adapt_summary(snakemake)
