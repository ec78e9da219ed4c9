"""Rule active_learning_simulation (demo): uncertainty vs random sampling, the truth as oracle."""

from agrifactory.classify.experiments import simulate_from_tiles
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
al, sim, model = p.al, p.al["simulation"], p.model
tiles = [k.split("_", 1)[1] for k in snakemake.input.keys() if k.startswith("features_")]
simulate_from_tiles(
    {t: (snakemake.input[f"features_{t}"], snakemake.input[f"smoothed_{t}"]) for t in tiles},
    snakemake.input.oracle,
    snakemake.input.table,
    snakemake.wildcards.product,
    snakemake.output.curve,
    snakemake.output.plot,
    kind=sim["kind"] or model["kind"],
    params=model["params"] if sim["kind"] in (None, model["kind"]) else {},
    features=model["features"] if sim["kind"] in (None, model["kind"]) else None,
    year=int(snakemake.wildcards.year),
    tile_km=p.tile_km,
    pool_per_tile=sim["pool_per_tile"],
    initial=sim["initial"],
    batch=sim["batch"],
    rounds=sim["rounds"],
    method=al["method"],
    min_distance=al["min_distance_m"],
    seed=p.seed,
    threads=snakemake.threads,
    interior=sim["interior"],
)
