"""Rule quicklook_classes: a map of a class product with its legend and a scale bar."""

from agrifactory.logs import setup_logging
from agrifactory.report.maps import quicklook_classes

setup_logging(snakemake.log[0])
product = snakemake.wildcards.product
quicklook_classes(
    snakemake.input[0],
    snakemake.output[0],
    product=product,
    title=f"{product.replace('_', ' ').capitalize()} {snakemake.wildcards.year}",
)
