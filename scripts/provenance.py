"""Rule provenance: the run's config, package versions and input inventory."""

from agrifactory.report import rules

rules.provenance(snakemake)
