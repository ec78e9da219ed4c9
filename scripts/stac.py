"""Rule stac: a STAC catalog of every product of the run, linked to its inputs."""

from pathlib import Path

from agrifactory.logs import setup_logging
from agrifactory.report.catalog import write_run_catalog

setup_logging(snakemake.log[0])
p = snakemake.params
mosaics = {Path(m).stem: m for m in snakemake.input.mosaics}
catalog_dir = Path(snakemake.output[0]).parent  # <results>/stac
write_run_catalog(catalog_dir, catalog_dir.parent, p.tiles, p.years, mosaics=mosaics)
