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
