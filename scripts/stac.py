"""Rule stac: a STAC catalog of every product of the run, linked to its inputs."""

from agrifactory.report import rules

rules.stac(snakemake)
