"""Rule provenance: the run's config, package versions and input inventory."""

from agrifactory.logs import setup_logging
from agrifactory.report.provenance import provenance, provenance_html, write_provenance

setup_logging(snakemake.log[0])
record = provenance(
    snakemake.params.config,
    inventories=snakemake.input.inventories,
    inputs=snakemake.input.others,
    extra={"tiles": snakemake.params.tiles},
)
write_provenance(record, snakemake.output.yaml)
provenance_html(record, snakemake.output.html)
