"""Rule demo_inventory: scan the generated demo inputs the way real inputs are scanned."""

from agrifactory.io import inventory
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
inventory.write_inventory(
    inventory.scan_landsat(snakemake.params.landsat_dir), snakemake.output.landsat
)
inventory.write_inventory(inventory.scan_modis(snakemake.params.modis_dir), snakemake.output.modis)
