"""Rule change_tile: one tile's class transitions from the previous year, and flagged blocks."""

from agrifactory.change import rules

rules.change_tile(snakemake)
