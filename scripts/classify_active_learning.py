"""Rule active_learning: the next samples to label, by uncertainty with spatial spreading."""

from agrifactory.classify import rules

rules.active_learning(snakemake)
