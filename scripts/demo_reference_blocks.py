"""Rule demo_reference_blocks: reference blocks with the truth's cropland fraction."""

from agrifactory.synthetic import rules

rules.demo_reference_blocks(snakemake)
