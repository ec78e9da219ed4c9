# Input functions of the per-tile stages: ingest, quality, fusion, or the NDVI cube.


def scene_params(wildcards, sensor):
    """A tile-year's inventory rows as plain records, with each file's size and mtime (rule params).

    The stats are looked up when Snakemake first asks for the tile-year's params, so a
    changed or deleted scene file changes the params of exactly the tiles that read it
    (rerun-triggers include params); none in the demo (agrifactory.plan.RunPlan.scene_params).
    """
    return year_plan(wildcards.year).scene_params(
        wildcards.tile, int(wildcards.year), sensor
    )


def year_plan(year):
    """The run plan of a year's scenes: the inventories', or what rule acquire found."""
    if not STAC:
        return PLAN
    found = checkpoints.acquire.get(year=year).output
    return PLAN.acquired(int(year), found.landsat, found.modis)


def ingest_inventories(wildcards):
    """What an ingest job depends on: the inventories, not each scene file.

    Listing every band file of every scene (about 1,400 per 120 km tile-year) made
    the all-China DAG take minutes to build (docs/scaling.md). A tile's scenes reach
    the job as params, with each file's size and mtime, so a changed scene list or
    scene file reruns exactly the tiles it touches. Real inventories are ancient():
    rescanning does not rerun every tile. The demo's inventory is written after its
    scenes, so new demo scenes do rerun the ingest.
    """
    if STAC:
        found = checkpoints.acquire.get(year=wildcards.year).output
        return {"landsat_inventory": found.landsat, "modis_inventory": found.modis}
    if DEMO:
        found = expand(rules.demo_inventory.output, year=wildcards.year)
        return {"landsat_inventory": found[0], "modis_inventory": found[1]}
    return {
        key: ancient(config["inputs"][key])
        for key in ("landsat_inventory", "modis_inventory")
    }


def ingest_files(tile, year):
    """A tile-year's ingest outputs, by key (agrifactory.ingest.rules.OUTPUTS)."""
    return ingest_outputs(tile_year_dir(tile, year, "ingest"))


def ingest_stacks(tile, year):
    """Paths of a tile-year's ingest stacks that the quality stage reads, plus its inventory."""
    files = ingest_files(tile, year)
    paths = {name: files[f"landsat_{name}"] for name in QUALITY_STACKS}
    return {**paths, "inventory": files["inventory"]}


def scorer_tiles():
    """Up to quality.scorer_tiles tiles, evenly spread over the tile list, that train the scorer."""
    n = min(config["quality"]["scorer_tiles"], len(TILES))
    return [TILES[round(i * (len(TILES) - 1) / max(n - 1, 1))] for i in range(n)]


def scorer_inputs(wildcards):
    return {
        f"{tile}_{key}": path
        for tile in scorer_tiles()
        for key, path in ingest_stacks(tile, wildcards.year).items()
    }


def quality_inputs(wildcards):
    inputs = ingest_stacks(wildcards.tile, wildcards.year)
    inputs["modis"] = ingest_files(wildcards.tile, wildcards.year)["modis_ndvi"]
    if config["quality"]["learned_scorer"]:
        inputs["scorer"] = scorer_weights(wildcards.year)
    return inputs


def scorer_dir(year):
    """Folder of a year's learned scorer (rule quality_scorer)."""
    return f"{R}/models/quality_scorer/{year}"


def scorer_weights(year):
    """The scorer a year's quality jobs use: quality.scorer_weights, or the run's own."""
    given = config["quality"]["scorer_weights"]
    if given is None:
        return scorer_outputs(scorer_dir(year))["weights"]
    path = given.replace("{year}", str(year))
    if not os.path.isfile(path):
        raise WorkflowError(
            f"agrifactory: quality.scorer_weights: {path} not found; point it at the "
            "scorer.pt of an earlier run, or set it to null to train the scorer in this run"
        )
    return path


def fusion_pairs_table(wildcards):
    """The pairs table that drives the fused product (fusion.pairs)."""
    folder = tile_year_dir(wildcards.tile, wildcards.year, "quality")
    return quality_outputs(folder)[PAIRS_TABLE[config["fusion"]["pairs"]]]


def cube_files(wildcards):
    """The NDVI cube's files of a year, [[iso date, path], ...] (inputs.ndvi_cube)."""
    found = planned(
        cube_year_files, CUBE["folder"], CUBE["pattern"], int(wildcards.year), SEASON
    )
    return [[d.isoformat(), str(p)] for d, p in found]


def ndvi_series():
    """The NDVI stack that smoothing and features read: the cube's, or the fused one."""
    if CUBE:
        return in_folder(tile_dir("cube"), CUBE_OUTPUTS)["ndvi"]
    return fuse_outputs(tile_dir("fusion"))["ndvi"]


def composites_inputs(wildcards):
    """The ingest stacks the composites read (bands and the masked NDVI) and the quality mask."""
    files = ingest_files(wildcards.tile, wildcards.year)
    names = [f"landsat_{band}" for band in LANDSAT_REFLECTANCE] + ["landsat_ndvi"]
    inputs = {name: files[name] for name in names}
    inputs["mask"] = quality_outputs(
        tile_year_dir(wildcards.tile, wildcards.year, "quality")
    )["mask"]
    return inputs
