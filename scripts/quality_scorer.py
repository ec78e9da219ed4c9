"""Rule quality_scorer: train the learned scene scorer on clear patches of several tiles."""

from agrifactory.quality import rules

rules.quality_scorer(snakemake)
