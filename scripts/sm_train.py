"""Rule sm_train: one LightGBM downscaler per layer over the soil-moisture region and year."""

from agrifactory.logs import setup_logging
from agrifactory.soil_moisture import settings
from agrifactory.soil_moisture.pipeline import train_downscaler_from_files

setup_logging(snakemake.log[0])
p = snakemake.params
train_downscaler_from_files(
    settings.reanalysis_inputs(snakemake.input),
    settings.driver_inputs(snakemake.input),
    int(snakemake.wildcards.year),
    snakemake.output[0],
    layers=p.layers,
    units=p.units,
    bbox=p.region,
    lgbm_params=p.lgbm,
    rounds=p.rounds,
    min_coverage=p.min_coverage,
    seed=p.seed,
)
