"""Rule sm_calibrate: apply the bias-correction CNN over one tile-year (CF NetCDF)."""

from agrifactory.soil_moisture import rules

rules.calibrate(snakemake)
