"""Rule transfer: the crop-type CNN trained in one region, scored in another."""

from agrifactory.classify import rules

rules.transfer(snakemake)
