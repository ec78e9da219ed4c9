"""Rule quicklook_ndvi: a map of one 8-day NDVI band (fused or smoothed) with a colour bar."""

from agrifactory.report import rules

rules.quicklook_ndvi(snakemake)
