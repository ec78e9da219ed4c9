"""Rule training_set: the input stack at the labelled sample points of every tile."""

from agrifactory.classify import rules

rules.training_set(snakemake)
