"""Rule demo_truth: the truth rasters of the demo world's land (read only by evaluation rules)."""

from agrifactory.synthetic import rules

rules.demo_truth(snakemake)
