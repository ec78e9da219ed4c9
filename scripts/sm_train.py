"""Rule sm_train: one LightGBM downscaler per layer over the soil-moisture region and year."""

from agrifactory.soil_moisture import rules

rules.train(snakemake)
