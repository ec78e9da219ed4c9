"""Rule transfer: the crop-type CNN trained in one region, scored in another."""

from agrifactory.classify.experiments import transfer_from_table
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
transfer_from_table(
    snakemake.input.table,
    "croptype",
    snakemake.output[0],
    source=snakemake.wildcards.source,
    target=snakemake.wildcards.target,
    params=p.model["params"] if p.model["kind"] == "cnn1d" else {},
    features=p.model["features"] if p.model["kind"] == "cnn1d" else ["ndvi_med_*"],
    augment=p.augment,
    seed=p.seed,
    threads=snakemake.threads,
)
