"""Rule demo_truth_ndvi: the true 8-day NDVI of the demo world in the run's year."""

from agrifactory.synthetic import rules

rules.demo_truth_ndvi(snakemake)
