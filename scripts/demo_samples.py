"""Rule demo_samples: labelled sample points by a stratified random design."""

from agrifactory.synthetic import rules

rules.demo_samples(snakemake)
