"""Rule smooth: HANTS-smooth one tile-year of fused NDVI."""

from agrifactory.timeseries import rules

rules.smooth(snakemake)
