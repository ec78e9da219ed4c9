"""Rule semantic_model (agrifactory.integration.rules)."""

from agrifactory.integration import rules

rules.semantic_model(snakemake)
