"""Rule demo_inventory: scan the generated demo inputs the way real inputs are scanned."""

from pathlib import Path

from agrifactory.io import inventory
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
# Scene folders sit in <landsat>/<product id>/; composites sit in <modis>/.
landsat_dir = Path(snakemake.input.landsat[0]).parent.parent
modis_dir = Path(snakemake.input.modis[0]).parent
inventory.write_inventory(inventory.scan_landsat(landsat_dir), snakemake.output.landsat)
inventory.write_inventory(inventory.scan_modis(modis_dir), snakemake.output.modis)
