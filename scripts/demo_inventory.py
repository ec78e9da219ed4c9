"""Rule demo_inventory: scan the generated demo inputs the way real inputs are scanned."""

from agrifactory.synthetic import rules

rules.demo_inventory(snakemake)
