"""Rule accuracy: held-out samples and Olofsson et al. (2014) estimates for one product."""

from agrifactory.classify.assess import assess_product
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
named = {"table", "reference", "mapped"}
assess_product(
    snakemake.wildcards.product,
    {k: v for k, v in snakemake.input.items() if k not in named},
    snakemake.input.table,
    snakemake.input.reference,
    snakemake.input.mapped,
    dict(snakemake.output.items()),
    reference_name=snakemake.params.reference_name,
)
