"""Rule fuse: ESTARFM 8-day NDVI for one tile-year, with QA and held-out validation."""

from agrifactory.fusion import rules

rules.fuse(snakemake)
