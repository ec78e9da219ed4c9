"""Rule features: the named feature stack (harmonics, monthly medians, phenology) of a tile-year."""

from agrifactory.backend import job_backend
from agrifactory.logs import setup_logging
from agrifactory.timeseries.tile import features_tile

setup_logging(snakemake.log[0])
pheno = snakemake.params.pheno
features_tile(
    snakemake.input.fused,
    snakemake.input.coefficients,
    features=snakemake.output[0],
    year=int(snakemake.wildcards.year),
    base_period=snakemake.params.base_period,
    start_fraction=pheno["start_fraction"],
    rate_fraction=pheno["rate_fraction"],
    min_amplitude=pheno["min_amplitude"],
    backend=job_backend(snakemake.params.backend, snakemake.resources.get("gpu", 0)),
    block_rows=snakemake.params.block_rows,
)
