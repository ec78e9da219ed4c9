"""Rule accuracy_design: a stratified random validation sample of a product's map."""

from agrifactory.classify import rules

rules.accuracy_design(snakemake)
