"""Rule manifest: the checksum of every product file (see agrifactory.manifest)."""

from agrifactory.report import rules

rules.manifest(snakemake)
