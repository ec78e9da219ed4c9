"""Rule demo_soil_moisture: the demo's reanalysis, 1 km drivers, stations and their truth."""

from agrifactory.soil_moisture import rules

rules.demo_world(snakemake)
