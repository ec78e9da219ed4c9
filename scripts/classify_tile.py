"""Rule classify: class and probability rasters of one tile-year."""

from agrifactory.classify.tile import PRODUCTS, classify_tile
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
classify_tile(
    snakemake.input.features,
    snakemake.input.smoothed,
    {p: snakemake.input[p] for p in PRODUCTS},
    dict(snakemake.output.items()),
    tile_id=snakemake.wildcards.tile,
    year=int(snakemake.wildcards.year),
    tile_km=snakemake.params.tile_km,
    block_rows=snakemake.params.block_rows,
    threads=snakemake.threads,
)
