"""Rule fuse: ESTARFM 8-day NDVI for one tile-year, with QA and held-out validation."""

from agrifactory.backend import job_backend
from agrifactory.fusion.tile import fuse_tile, params_from_config
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
cfg = snakemake.params.fusion
fuse_tile(
    snakemake.input.landsat,
    snakemake.input.modis,
    snakemake.input.pairs,
    snakemake.input.validation_pairs,
    int(snakemake.wildcards.year),
    dict(snakemake.output.items()),
    params_from_config(cfg),
    backend=job_backend(cfg["backend"], snakemake.resources.get("gpu", 0)),
    quality_mask=snakemake.input.quality_mask if cfg["use_quality_mask"] else None,
    tile_block=cfg["tile_block"],
)
