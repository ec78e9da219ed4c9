"""Rule active_learning_simulation (demo): uncertainty vs random sampling, the truth as oracle."""

from agrifactory.classify import rules

rules.active_learning_simulation(snakemake)
