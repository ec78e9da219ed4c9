"""Rule demo_soil_moisture: the demo's reanalysis, 1 km drivers, stations and their truth."""

from pathlib import Path

from agrifactory.logs import setup_logging
from agrifactory.synthetic.soil_moisture import write_soil_moisture_world

setup_logging(snakemake.log[0])
w = snakemake.params.world
write_soil_moisture_world(
    Path(snakemake.output.stations).parent,  # the world's folder holds ismn/, drivers/, ...
    Path(snakemake.output.truth).parent,
    bbox=w["bbox"],
    year=w["year"],
    n_stations=w["n_stations"],
    n_source_stations=w["n_source_stations"],
    seed=w["seed"],
)
