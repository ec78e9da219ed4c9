"""Rule quicklook_ndvi: a map of one 8-day NDVI band (fused or smoothed) with a colour bar."""

import datetime as dt

from agrifactory.io.modis import composite_containing, composite_starts
from agrifactory.logs import setup_logging
from agrifactory.report.maps import quicklook_continuous

setup_logging(snakemake.log[0])
date = composite_containing(dt.date.fromisoformat(snakemake.params.date))
band = composite_starts(date.year).index(date) + 1
kind = "Fused" if snakemake.wildcards.product == "fused_ndvi" else "HANTS-smoothed"
quicklook_continuous(
    snakemake.input[0],
    snakemake.output[0],
    band=band,
    cmap="RdYlGn",
    vmin=-0.2,
    vmax=0.9,
    label="NDVI",
    title=f"{kind} NDVI, 8 days from {date}",
)
