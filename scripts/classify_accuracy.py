"""Rule accuracy: held-out samples and Olofsson et al. (2014) estimates for one product."""

from agrifactory.classify import rules

rules.accuracy(snakemake)
