"""Rule integrate (agrifactory.integration.rules)."""

from agrifactory.integration import rules

rules.integrate(snakemake)
