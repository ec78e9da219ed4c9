"""Rule sm_downscale: daily 1 km soil moisture of one tile and year (CF NetCDF)."""

from agrifactory.logs import setup_logging
from agrifactory.soil_moisture import settings
from agrifactory.soil_moisture.pipeline import downscale_tile

setup_logging(snakemake.log[0])
p = snakemake.params
downscale_tile(
    snakemake.input.model,
    settings.reanalysis_inputs(snakemake.input),
    settings.driver_inputs(snakemake.input),
    snakemake.wildcards.tile,
    p.tile_km,
    int(snakemake.wildcards.year),
    snakemake.output[0],
    units=p.units,
    bbox=p.region,
    residual=p.residual,
    engine=p.engine,
)
