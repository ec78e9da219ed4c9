"""Rule composites: monthly median composites of one tile-year's clear Landsat observations."""

from agrifactory.timeseries import rules

rules.composites(snakemake)
