"""Rule sm_report: the soil-moisture evaluation table and a map of the calibrated product."""

from agrifactory.soil_moisture import rules

rules.report(snakemake)
