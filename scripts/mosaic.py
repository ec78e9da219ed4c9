"""Rule mosaic: a VRT of one product over all tiles (opens in QGIS)."""

from agrifactory import legend
from agrifactory.logs import setup_logging
from agrifactory.report.palettes import palette
from agrifactory.report.vrt import write_vrt

setup_logging(snakemake.log[0])
product = snakemake.wildcards.product
classes = legend.LEGENDS.get(product)
write_vrt(
    snakemake.input,
    snakemake.output[0],
    classes=classes,
    colours=palette(product, classes) if classes else None,
)
