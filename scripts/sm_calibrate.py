"""Rule sm_calibrate: apply the bias-correction CNN over one tile-year (CF NetCDF)."""

from agrifactory.logs import setup_logging
from agrifactory.soil_moisture import settings
from agrifactory.soil_moisture.pipeline import calibrate_tile, set_torch_threads

setup_logging(snakemake.log[0])
set_torch_threads(snakemake.threads)
calibrate_tile(
    snakemake.input.downscaled,
    snakemake.input.cnn,
    settings.driver_inputs(snakemake.input),
    snakemake.output[0],
    neighbours=list(snakemake.input.neighbours),
    batch_days=snakemake.params.batch_days,
)
