"""Rule ingest: warp one tile-year's Landsat and MODIS scenes onto the tile grid."""

from agrifactory.grid import Tile
from agrifactory.ingest import IngestParams, ingest_tile
from agrifactory.io.inventory import from_records
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
params = IngestParams(
    margin_days=p.ingest["margin_days"],
    mask=tuple(p.ingest["mask"]),
    resampling=p.ingest["resampling"],
)
ingest_tile(
    Tile.from_id(snakemake.wildcards.tile, p.tile_km),
    int(snakemake.wildcards.year),
    from_records(p.landsat),
    from_records(p.modis),
    dict(snakemake.output.items()),
    params,
)
