"""Rule classify: class and probability rasters of one tile-year."""

from agrifactory.classify import rules

rules.classify(snakemake)
