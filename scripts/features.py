"""Rule features: the named feature stack (harmonics, monthly medians, phenology) of a tile-year."""

from agrifactory.timeseries import rules

rules.features(snakemake)
