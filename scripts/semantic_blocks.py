"""Rule semantic_blocks (agrifactory.integration.rules)."""

from agrifactory.integration import rules

rules.semantic_blocks(snakemake)
