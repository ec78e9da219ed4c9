"""Rule aggregate: sum the tiles' partial areas; compare with the official statistics."""

from agrifactory.aggregate import rules

rules.aggregate(snakemake)
