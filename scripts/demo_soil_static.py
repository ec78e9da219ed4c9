"""Rule demo_soil_static: the demo's soil-moisture drivers that do not depend on the year."""

from agrifactory.soil_moisture import rules

rules.demo_static(snakemake)
