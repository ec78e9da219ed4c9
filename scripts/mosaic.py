"""Rule mosaic: a VRT of one product over all tiles (opens in QGIS)."""

from agrifactory.report import rules

rules.mosaic(snakemake)
