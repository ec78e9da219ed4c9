"""Rule ndvi_cube: the NDVI cube's dates of a tile-year on the tile's grid."""

from agrifactory.ingest import rules

rules.ndvi_cube(snakemake)
