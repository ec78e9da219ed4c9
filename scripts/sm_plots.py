"""Rule sm_plots: observed, downscaled and calibrated (held-out) series at a few stations."""

from agrifactory.logs import setup_logging
from agrifactory.soil_moisture.plots import plot_station_series

setup_logging(snakemake.log[0])
plots = snakemake.params.plots
plot_station_series(
    snakemake.input[0],
    snakemake.output[0],
    stations=plots["stations"],
    n_stations=plots["n_stations"],
)
