"""Rule quality: score one tile-year's scenes and choose the fusion's base pairs."""

from agrifactory.quality import rules

rules.quality(snakemake)
