"""Rule sm_plots: observed, downscaled and calibrated (held-out) series at a few stations."""

from agrifactory.soil_moisture import rules

rules.plots(snakemake)
