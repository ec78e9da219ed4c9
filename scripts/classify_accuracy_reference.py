"""Rule accuracy_reference_demo (evaluation): the demo truth labels the stratified sample."""

from agrifactory.classify.design import label_from_raster
from agrifactory.classify.tile import raster_legend
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
label_from_raster(
    snakemake.input.design,
    snakemake.input.truth,
    raster_legend(snakemake.wildcards.product),
    snakemake.output[0],
)
