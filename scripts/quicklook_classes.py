"""Rule quicklook_classes: a map of a class product with its legend and a scale bar."""

from agrifactory.report import rules

rules.quicklook_classes(snakemake)
