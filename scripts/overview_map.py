"""Rule overview_map: China's provinces with the run's tiles by id (the report's locator)."""

from agrifactory.report import rules

rules.overview_map(snakemake)
