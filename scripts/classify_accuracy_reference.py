"""Rule accuracy_reference_demo (evaluation): the demo truth labels the stratified sample."""

from agrifactory.classify import rules

rules.accuracy_reference_demo(snakemake)
