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


# --- aggregation --------------------------------------------------------------

CLASS_PRODUCTS = ["cropland", "irrigation", "croptype"]


def classify_products(wildcards):
    """The class rasters of one tile-year that the aggregation sums."""
    return {
        p: f"{R}/tiles/{wildcards.tile}/{wildcards.year}/classify/{p}.tif"
        for p in config["aggregate"]["products"]
    }


def compared_levels():
    """Levels that have an official statistics table in the config."""
    stats = config["inputs"]["statistics"]
    return [lvl for lvl in config["aggregate"]["levels"] if stats.get(lvl)]


def aggregate_outputs():
    folder = f"{R}/aggregate/{{year}}"
    out = {"conservation": f"{folder}/conservation.csv"}
    for level in config["aggregate"]["levels"]:
        out[f"{level}_areas"] = f"{folder}/{level}_areas.csv"
    for level in compared_levels():
        for key, suffix in (
            ("comparison", "comparison.csv"),
            ("comparison_html", "comparison.html"),
            ("summary", "summary.csv"),
            ("bars", "bars.png"),
            ("scatter", "scatter.png"),
        ):
            out[f"{level}_{key}"] = f"{folder}/{level}_{suffix}"
    return out


def aggregate_inputs(wildcards):
    inputs = {
        "partials": expand(
            f"{R}/tiles/{{tile}}/{wildcards.year}/aggregate/areas.csv", tile=TILES
        ),
        "province": rules.boundaries.output.provinces,
        "county": rules.boundaries.output.counties,
    }
    for level in compared_levels():
        inputs[f"statistics_{level}"] = config["inputs"]["statistics"][level]
    return inputs


def aggregate_targets():
    return expand(f"{R}/aggregate/{{year}}/conservation.csv", year=YEARS)


# --- report -------------------------------------------------------------------

#: Mosaicked products and the per-tile file each one is made of.
MOSAIC_PRODUCTS = {
    "cropland": "classify/cropland.tif",
    "irrigation": "classify/irrigation.tif",
    "croptype": "classify/croptype.tif",
    "fused_ndvi": "fusion/ndvi_8day.tif",
    "smoothed_ndvi": "smooth/ndvi_hants.tif",
}


def mosaic_sources(product, year):
    return expand(f"{R}/tiles/{{tile}}/{year}/{MOSAIC_PRODUCTS[product]}", tile=TILES)


def mosaic_targets():
    return expand(
        f"{R}/mosaics/{{year}}/{{product}}.vrt", year=YEARS, product=MOSAIC_PRODUCTS
    )


def stac_products():
    return [
        f"{R}/tiles/{t}/{y}/{path}"
        for t in TILES
        for y in YEARS
        for path in MOSAIC_PRODUCTS.values()
    ]


def provenance_inputs(wildcards):
    """Inventories and other inputs whose summary and checksums go into the provenance."""
    inputs = {}
    if DEMO:
        inputs["inventories"] = [
            f"{DEMO_INPUTS}/landsat_inventory.csv",
            f"{DEMO_INPUTS}/modis_inventory.csv",
        ]
    else:
        inputs["inventories"] = [
            config["inputs"]["landsat_inventory"],
            config["inputs"]["modis_inventory"],
        ]
    others = [config["inputs"]["samples"], *config["inputs"]["statistics"].values()]
    inputs["others"] = [p for p in others if p]
    return inputs


def report_targets():
    maps = expand(
        f"{R}/report/{{year}}/map_{{product}}.png", year=YEARS, product=MOSAIC_PRODUCTS
    )
    return [
        *maps,
        rules.qa_summaries.output,
        rules.provenance.output,
        rules.stac.output,
    ]
