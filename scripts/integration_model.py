"""Rule integration_model (agrifactory.integration.rules)."""

from agrifactory.integration import rules

rules.integration_model(snakemake)
