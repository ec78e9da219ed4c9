"""Rule acquire: one year's STAC searches over the run's tiles, written as inventories."""

from agrifactory.acquire import rules

rules.acquire(snakemake)
