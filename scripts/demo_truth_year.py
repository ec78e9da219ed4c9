"""Rule demo_truth_year: the true 8-day NDVI and crops of the demo world in one year."""

from agrifactory.synthetic import rules

rules.demo_truth_year(snakemake)
