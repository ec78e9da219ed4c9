"""Rule smooth: HANTS-smooth one tile-year of fused NDVI."""

from agrifactory.backend import job_backend
from agrifactory.logs import setup_logging
from agrifactory.timeseries.tile import params_from_config, smooth_tile

setup_logging(snakemake.log[0])
smooth_tile(
    snakemake.input.fused,
    smoothed=snakemake.output.smoothed,
    qa=snakemake.output.qa,
    coefficients=snakemake.output.coefficients,
    year=int(snakemake.wildcards.year),
    params=params_from_config(snakemake.params.hants),
    backend=job_backend(snakemake.params.backend, snakemake.resources.get("gpu", 0)),
    block_rows=snakemake.params.block_rows,
)
