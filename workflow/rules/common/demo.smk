# Demo mode: the synthetic world's scenes, parameters and targets (docs/demo.md).

DEMO_SCENES = PLAN.inventory.query("sensor == 'landsat'")["id"].tolist() if DEMO else []
DEMO_MODIS = PLAN.inventory.query("sensor == 'modis'")["path"].tolist() if DEMO else []
#: The demo world's land (params of the rules whose files do not depend on the year:
#: a change of `years` must not rewrite them).
WORLD = {
    "tiles": TILES,
    "tile_km": config["grid"]["tile_km"],
    "seed": config["seed"],
    "demo_world": config["demo_world"],
}
#: The demo world in the run's year (scenes, composites, NDVI truth, statistics).
WORLD_YEAR = {
    **WORLD,
    "year": YEARS[0],
    "margin_days": config["ingest"]["margin_days"],
}


# The demo's soil-moisture world (rule demo_soil_moisture).
SM_DEMO_DIR = f"{DEMO_INPUTS}/soil_moisture"
SM_DEMO_TRUTH = f"{DEMO_TRUTH}/soil_moisture"
SM_DEMO_FILES = {
    k: str(v) for k, v in sm_world_files(SM_DEMO_DIR, SM_DEMO_TRUTH, YEARS[0]).items()
}
#: The drivers that do not depend on the year (rule demo_soil_static), and their world.
SM_DEMO_STATIC = {
    f"driver_{name}": SM_DEMO_FILES[f"driver_{name}"] for name in sm_static_drivers
}
SM_STATIC_WORLD = {"bbox": SM.region_bbox, "seed": config["seed"]}
SM_WORLD = {
    "bbox": SM.region_bbox,
    "year": YEARS[0],
    "seed": config["seed"],
    "n_stations": SM.demo.n_stations,
    "n_source_stations": SM.demo.n_source_stations,
}
#: Millions of pixels of the demo world (the demo rules' memory grows with it).
DEMO_MPX = (
    math.prod(
        synthetic_demo.world_spec(
            config["demo_world"], PLAN.tiles, None, config["seed"]
        )
        .grid()
        .shape
    )
    / 1e6
    if DEMO
    else 0.0
)


def demo_targets():
    """Demo outputs that the target 'all' asks for (none outside demo mode)."""
    if not DEMO:
        return []
    # Under inputs.source: stac the demo's scenes come from the STAC API, not its own files.
    scenes = [] if STAC else [rules.demo_inventory.output]
    return [
        *scenes,
        rules.demo_truth.output,
        rules.demo_truth_ndvi.output,
        rules.demo_samples.output,
        rules.demo_statistics.output,
    ]
