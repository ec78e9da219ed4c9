"""Rule training_set: the input stack at the labelled sample points of every tile."""

from agrifactory.classify.fanin import write_training_set
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
tiles = list(p.regions)
samples = p.samples
write_training_set(
    snakemake.input.samples,
    {t: snakemake.input[f"features_{t}"] for t in tiles},
    {t: snakemake.input[f"smoothed_{t}"] for t in tiles},
    tile_km=p.tile_km,
    regions=p.regions,
    label_columns=samples["label_columns"],
    year=int(snakemake.wildcards.year),
    min_count=p.min_count,
    id_column=samples["id_column"],
    split_column=samples["split_column"],
    validation_fraction=samples["validation_fraction"],
    seed=p.seed,
    out_table=snakemake.output.table,
    out_excluded=snakemake.output.excluded,
)
