"""Rule diagnostics: NDVI at sample pixels per class; transfer and active-learning pages."""

from agrifactory.report import rules

rules.diagnostics(snakemake)
