"""Rule accuracy_design: a stratified random validation sample of a product's map."""

from agrifactory.classify.design import design_for_product
from agrifactory.classify.tile import raster_legend
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
product = snakemake.wildcards.product
cfg = snakemake.params.accuracy
design_for_product(
    dict(snakemake.input.items()),
    product,
    raster_legend(product),
    sample_size=cfg["sample_size"],
    min_per_class=cfg["min_per_class"],
    seed=snakemake.params.seed,
    out_design=snakemake.output.design,
    out_mapped=snakemake.output.mapped,
)
