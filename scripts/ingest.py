"""Rule ingest: warp one tile-year's Landsat and MODIS scenes onto the tile grid."""

from agrifactory.ingest import rules

rules.ingest(snakemake)
