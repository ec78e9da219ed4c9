"""Rule quality_scorer: train the learned scene scorer on clear patches of several tiles."""

from agrifactory.logs import setup_logging
from agrifactory.quality.tile import STACKS, train_scorer_from_tiles

setup_logging(snakemake.log[0])
# Inputs are named <tile>_<stack>; group them back per tile.
tiles = {}
for key, path in snakemake.input.items():
    tile, name = key.split("_", 1)
    tiles.setdefault(tile, {})[name] = path
tiles = [{k: v for k, v in t.items() if k in (*STACKS, "inventory")} for t in tiles.values()]
train_scorer_from_tiles(
    tiles,
    snakemake.params.quality,
    snakemake.output.weights,
    snakemake.output.metrics,
    seed=snakemake.params.seed,
)
