"""Rule headline: the run's headline figures beside their goals (the report's summary page)."""

from agrifactory.report import rules

rules.headline(snakemake)
