"""Rule manifest: the checksum of every product file (see agrifactory.manifest)."""

from agrifactory.logs import setup_logging
from agrifactory.manifest import write_manifest

setup_logging(snakemake.log[0])
write_manifest(
    snakemake.params.results,
    snakemake.output[0],
    exclude=snakemake.params.exclude,
    threads=snakemake.threads,
)
