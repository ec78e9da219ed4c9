"""Rule adapt (agrifactory.adapt.rules)."""

from agrifactory.adapt import rules

rules.adapt(snakemake)
