"""Rule active_learning: the next samples to label, by uncertainty with spatial spreading."""

from agrifactory.classify.experiments import propose_from_tiles
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
al = snakemake.params.al
propose_from_tiles(
    {k: v for k, v in snakemake.input.items() if k != "table"},
    snakemake.input.table,
    snakemake.wildcards.product,
    snakemake.output[0],
    k=al["k"],
    method=al["method"],
    min_distance=al["min_distance_m"],
    pool_per_tile=al["pool_per_tile"],
    seed=snakemake.params.seed,
)
