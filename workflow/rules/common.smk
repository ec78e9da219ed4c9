# Helpers shared by all .smk files (the run plan, target lists, input functions).
# Everything that computes lives in the agrifactory library.

from agrifactory.errors import AgrifactoryError
from agrifactory.plan import DEMO_INPUTS, DEMO_TRUTH, build_plan
from agrifactory.synthetic.landsat import SCENE_FILES
from snakemake.exceptions import WorkflowError

R = "results"
LOGS = f"{R}/logs"
ENV = "../../envs/agrifactory.yaml"

try:
    PLAN = build_plan(config)
except AgrifactoryError as exc:
    raise WorkflowError(f"agrifactory: {exc}") from None

TILES = PLAN.tile_ids
YEARS = PLAN.years
DEMO = PLAN.demo


def tile_dir(stage):
    """Output folder pattern of a per-tile, per-year stage."""
    return f"{R}/tiles/{{tile}}/{{year}}/{stage}"


def per_tile(pattern):
    """Expand a {tile}/{year} pattern over the run's tiles and years."""
    return expand(pattern, tile=TILES, year=YEARS)


# --- ingest -------------------------------------------------------------------

INGEST_STACKS = [
    "landsat_blue",
    "landsat_red",
    "landsat_nir",
    "landsat_thermal",
    "landsat_qa_pixel",
    "landsat_qa_radsat",
    "landsat_ndvi",
    "modis_ndvi",
]


def ingest_targets():
    return per_tile(f"{tile_dir('ingest')}/inventory.csv")


def scene_records(wildcards, sensor):
    """Inventory rows of one tile-year as plain records (rule params)."""
    rows = PLAN.scenes(wildcards.tile, int(wildcards.year), sensor)
    return rows.drop(columns=["geometry", "footprint"]).astype(str).to_dict("records")


# --- demo ---------------------------------------------------------------------

DEMO_SCENES = PLAN.inventory.query("sensor == 'landsat'")["id"].tolist() if DEMO else []
DEMO_MODIS = PLAN.inventory.query("sensor == 'modis'")["path"].tolist() if DEMO else []
WORLD = {
    "tiles": TILES,
    "tile_km": config["grid"]["tile_km"],
    "year": YEARS[0],
    "seed": config["seed"],
    "demo_world": config["demo_world"],
    "margin_days": config["ingest"]["margin_days"],
}
TRUTH_FILES = ["landcover", "cropland", "irrigation", "croptype", "ndvi_8day"]


def demo_targets():
    """Demo outputs that the target 'all' asks for (none outside demo mode)."""
    if not DEMO:
        return []
    return [
        rules.demo_inventory.output,
        rules.demo_truth.output,
        rules.demo_samples.output,
        rules.demo_statistics.output,
    ]


# --- quality ------------------------------------------------------------------

QUALITY_STACKS = ["red", "nir", "blue", "thermal", "qa_pixel", "qa_radsat"]


def ingest_stacks(tile, year):
    """Paths of a tile-year's ingest stacks that the quality stage reads, plus its inventory."""
    folder = f"{R}/tiles/{tile}/{year}/ingest"
    paths = {name: f"{folder}/landsat_{name}.tif" for name in QUALITY_STACKS}
    return {**paths, "inventory": f"{folder}/inventory.csv"}


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
    inputs["modis"] = (
        f"{R}/tiles/{wildcards.tile}/{wildcards.year}/ingest/modis_ndvi.tif"
    )
    if config["quality"]["learned_scorer"]:
        inputs["scorer"] = f"{R}/models/quality_scorer/{wildcards.year}/scorer.pt"
    return inputs


def quality_targets():
    return per_tile(f"{tile_dir('quality')}/pairs.csv")


# --- fusion -------------------------------------------------------------------


def fusion_pairs_table(wildcards):
    """The pairs table that drives the fused product (fusion.pairs)."""
    name = "pairs" if config["fusion"]["pairs"] == "quality" else "nearest_pairs"
    return f"{R}/tiles/{wildcards.tile}/{wildcards.year}/quality/{name}.csv"


def fusion_targets():
    return per_tile(f"{tile_dir('fusion')}/ndvi_8day.tif")


# --- time series --------------------------------------------------------------


def timeseries_targets():
    return per_tile(f"{tile_dir('features')}/features.tif")


# --- soil moisture ------------------------------------------------------------

from agrifactory.soil_moisture import settings as sm_settings
from agrifactory.synthetic.soil_moisture import world_files as sm_world_files

SM = config["soil_moisture"]
SM_ON = SM["enabled"]
SM_DEMO_DIR = f"{DEMO_INPUTS}/soil_moisture"
SM_DEMO_TRUTH = f"{DEMO_TRUTH}/soil_moisture"
SM_DEMO_FILES = {
    k: str(v) for k, v in sm_world_files(SM_DEMO_DIR, SM_DEMO_TRUTH, YEARS[0]).items()
}
SM_WORLD = {
    "bbox": SM["region_bbox"],
    "year": YEARS[0],
    "seed": config["seed"],
    "n_stations": SM["demo"]["n_stations"],
    "n_source_stations": SM["demo"]["n_source_stations"],
}
if SM_ON:
    try:
        sm_settings.check_config(SM, PLAN.tiles, YEARS, demo=DEMO, demo_dir=SM_DEMO_DIR)
    except AgrifactoryError as exc:
        raise WorkflowError(f"agrifactory: {exc}") from None


def sm_dir(year="{year}"):
    """Folder of the run-level soil-moisture tables and plots of a year."""
    return f"{R}/soil_moisture/{year}"


def sm_models(year="{year}"):
    return f"{R}/models/soil_moisture/{year}"


def sm_inputs(wildcards):
    """Reanalysis and driver files of a year (named inputs)."""
    return sm_settings.input_files(SM, int(wildcards.year))


def sm_driver_inputs(wildcards):
    """Driver files of a year (named inputs)."""
    return {k: v for k, v in sm_inputs(wildcards).items() if k.startswith("driver_")}


def sm_station_inputs(wildcards):
    """Reanalysis, drivers, target and source stations of a year, and the downscaler."""
    files = sm_settings.input_files(SM, int(wildcards.year), stations=True)
    return {**files, "model": f"{sm_models(wildcards.year)}/downscaler.json"}


def sm_neighbours(wildcards):
    """Downscaled files of the run's tiles around a tile (the CNN's halo)."""
    return [
        f"{R}/tiles/{t}/{wildcards.year}/soil_moisture/downscaled.nc"
        for t in sm_settings.neighbours(wildcards.tile, TILES)
    ]


def sm_targets():
    """Soil-moisture products, evaluation and plots (and the demo's truth) when enabled."""
    if not SM_ON:
        return []
    targets = per_tile(f"{tile_dir('soil_moisture')}/calibrated.nc")
    targets += expand(
        f"{sm_dir()}/{{name}}",
        year=YEARS,
        name=["evaluation.csv", "station_series.png"],
    )
    if DEMO:
        targets += [SM_DEMO_FILES["truth"], SM_DEMO_FILES["stations_truth"]]
    return targets
