"""Rule sm_downscale: daily 1 km soil moisture of one tile and year (CF NetCDF)."""

from agrifactory.soil_moisture import rules

rules.downscale(snakemake)
