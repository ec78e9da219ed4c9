"""Rule accuracy_table: the accuracy page of one product (a row per class)."""

from agrifactory.report import rules

rules.accuracy_table(snakemake)
