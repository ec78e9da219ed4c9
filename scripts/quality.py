"""Rule quality: score one tile-year's scenes and choose the fusion's base pairs."""

from agrifactory.logs import setup_logging
from agrifactory.quality.tile import STACKS, quality_tile

setup_logging(snakemake.log[0])
inputs = snakemake.input
quality_tile(
    {name: inputs[name] for name in STACKS},
    inputs.inventory,
    inputs.modis,
    int(snakemake.wildcards.year),
    dict(snakemake.output.items()),
    snakemake.params.quality,
    scorer_weights=inputs.get("scorer"),
)
