# Demo mode: the synthetic world's scenes, parameters and targets (docs/demo.md).

DEMO_SCENES = PLAN.inventory.query("sensor == 'landsat'")["id"].tolist() if DEMO else []
#: Rule demo_modis' outputs: the composites of a calendar year, by day of year.
DEMO_MODIS_NAMES = [
    modis_name_pattern(doy, "{cyear}") for doy in range(1, 366, MODIS_COMPOSITE_DAYS)
]
#: The demo world's land (params of the rules whose files do not depend on the run's
#: years: a change of `years` must not rewrite them; the year comes from the wildcard).
WORLD = {
    "tiles": TILES,
    "tile_km": config["grid"]["tile_km"],
    "seed": config["seed"],
    "demo_world": config["demo_world"],
}
#: The world of the Landsat scenes (each drawn from the world of its acquisition year).
WORLD_SCENES = {**WORLD, "margin_days": config["ingest"]["margin_days"]}


def demo_truth_file(wildcards):
    """The truth raster of a product in a year (wildcards product and year; the crops
    rotate, the land does not)."""
    if wildcards.product == "croptype":
        return expand(rules.demo_truth_year.output.croptype, year=wildcards.year)[0]
    return f"{DEMO_TRUTH}/{wildcards.product}.tif"


def demo_year_files(year, sensor):
    """A run year's demo scenes (ids) or composites (paths): those the plan gives the
    year's tiles (the same ingest window)."""
    column = "id" if sensor == "landsat" else "path"
    return list(
        dict.fromkeys(
            v for t in TILES for v in PLAN.scenes(t, int(year), sensor)[column].tolist()
        )
    )


# The demo's soil-moisture world (rule demo_soil_moisture).
SM_DEMO_DIR = f"{DEMO_INPUTS}/soil_moisture"
SM_DEMO_TRUTH = f"{DEMO_TRUTH}/soil_moisture"
SM_DEMO_FILES = {
    k: str(v)
    for k, v in sm_world_files(SM_DEMO_DIR, SM_DEMO_TRUTH, SM_YEARS[0]).items()
}
#: The drivers that do not depend on the year (rule demo_soil_static), and their world.
SM_DEMO_STATIC = {
    f"driver_{name}": SM_DEMO_FILES[f"driver_{name}"] for name in sm_static_drivers
}
SM_STATIC_WORLD = {"bbox": SM.region_bbox, "seed": config["seed"]}
SM_WORLD = {
    "bbox": SM.region_bbox,
    "year": SM_YEARS[0],
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
    scenes = [] if STAC else expand(list(rules.demo_inventory.output), year=YEARS)
    return [
        *scenes,
        rules.demo_truth.output,
        *expand(list(rules.demo_truth_year.output), year=YEARS),
        rules.demo_samples.output,
        *expand(list(rules.demo_statistics.output), year=YEARS),
    ]
