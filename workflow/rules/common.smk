# Helpers shared by all .smk files (the run plan, target lists, input functions).
# Everything that computes lives in the agrifactory library.

import math
import os

from agrifactory.aggregate import rules as aggregate_rules
from agrifactory.cluster import check_partitions, slurm_partitions
from agrifactory.errors import AgrifactoryError
from agrifactory.fusion.rules import PAIRS_TABLE, fuse_outputs
from agrifactory.plan import DEMO_INPUTS, DEMO_TRUTH, build_plan
from agrifactory.quality.rules import QUALITY_STACKS, quality_outputs, scorer_outputs
from agrifactory.report import rules as report_rules
from agrifactory.synthetic import demo as synthetic_demo
from agrifactory.synthetic import rules as demo_rules
from agrifactory.synthetic.landsat import SCENE_FILES
from agrifactory.timeseries.rules import features_outputs, smooth_outputs
from snakemake.exceptions import WorkflowError
from snakemake.io import is_flagged
from snakemake.logging import logger

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

from agrifactory.ingest.rules import ingest_outputs


def ingest_targets():
    return per_tile(ingest_outputs(tile_dir("ingest"))["inventory"])


def scene_params(wildcards, sensor):
    """A tile-year's inventory rows as plain records, with each file's size and mtime (rule params).

    The stats are looked up when Snakemake first asks for the tile-year's params, so a
    changed or deleted scene file changes the params of exactly the tiles that read it
    (rerun-triggers include params); none in the demo (agrifactory.plan.RunPlan.scene_params).
    """
    return PLAN.scene_params(wildcards.tile, int(wildcards.year), sensor)


def ingest_inventories():
    """What an ingest job depends on: the inventories, not each scene file.

    Listing every band file of every scene (about 1,400 per 120 km tile-year) made
    the all-China DAG take minutes to build (docs/scaling.md). A tile's scenes reach
    the job as params, with each file's size and mtime, so a changed scene list or
    scene file reruns exactly the tiles it touches. Real inventories are ancient():
    rescanning does not rerun every tile. The demo's inventory is written after its
    scenes, so new demo scenes do rerun the ingest.
    """
    if DEMO:
        return {
            "landsat_inventory": rules.demo_inventory.output.landsat,
            "modis_inventory": rules.demo_inventory.output.modis,
        }
    return {
        key: ancient(config["inputs"][key])
        for key in ("landsat_inventory", "modis_inventory")
    }


# --- demo ---------------------------------------------------------------------

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


def demo_targets():
    """Demo outputs that the target 'all' asks for (none outside demo mode)."""
    if not DEMO:
        return []
    return [
        rules.demo_inventory.output,
        rules.demo_truth.output,
        rules.demo_truth_ndvi.output,
        rules.demo_samples.output,
        rules.demo_statistics.output,
    ]


# --- quality ------------------------------------------------------------------


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


def quality_targets():
    return per_tile(quality_outputs(tile_dir("quality"))["pairs"])


# --- fusion -------------------------------------------------------------------


def fusion_pairs_table(wildcards):
    """The pairs table that drives the fused product (fusion.pairs)."""
    folder = f"{R}/tiles/{wildcards.tile}/{wildcards.year}/quality"
    return quality_outputs(folder)[PAIRS_TABLE[config["fusion"]["pairs"]]]


def fusion_targets():
    return per_tile(fuse_outputs(tile_dir("fusion"))["ndvi"])


# --- time series --------------------------------------------------------------


def timeseries_targets():
    return per_tile(features_outputs(tile_dir("features"))["features"])


# --- aggregation --------------------------------------------------------------


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


#: Aggregation outputs shown in the report: output key -> caption (workflow/report/).
AGGREGATE_REPORTED = {
    "comparison_html": "comparison_table.rst",
    "summary": "comparison_summary.rst",
    "bars": "comparison_bars.rst",
    "scatter": "comparison_scatter.rst",
}


def aggregate_outputs():
    """Rule aggregate's named outputs (agrifactory.aggregate.rules), report ones flagged."""
    out = aggregate_rules.aggregate_outputs(
        f"{R}/aggregate/{{year}}", config["aggregate"]["levels"], compared_levels()
    )
    for level in compared_levels():
        for key, caption in AGGREGATE_REPORTED.items():
            out[f"{level}_{key}"] = report(
                out[f"{level}_{key}"],
                caption=f"../report/{caption}",
                category="Official statistics",
                subcategory=level,
                labels={"level": level, "what": key.replace("_", " ")},
            )
    return out


def accuracy_tables(year):
    """Area estimates of the accuracy assessment, where it runs (demo, or reference labels given)."""
    return [
        f"{R}/accuracy/{year}/{p}/areas.csv"
        for p in config["aggregate"]["products"]
        if SAMPLES and (DEMO or CLASSIFY["accuracy"]["reference"][p])
    ]


def aggregate_inputs(wildcards):
    inputs = {
        "partials": expand(
            f"{R}/tiles/{{tile}}/{wildcards.year}/aggregate/{aggregate_rules.PARTIAL}",
            tile=TILES,
        ),
        "province": rules.boundaries.output.provinces,
        "county": rules.boundaries.output.counties,
    }
    for level in compared_levels():
        inputs[f"statistics_{level}"] = config["inputs"]["statistics"][level]
    inputs["accuracy"] = accuracy_tables(wildcards.year)
    return inputs


def aggregate_targets():
    return expand(f"{R}/aggregate/{{year}}/{aggregate_rules.CONSERVATION}", year=YEARS)


# --- report -------------------------------------------------------------------

#: Mosaicked products and the per-tile file each one is made of (the report's contract).
MOSAIC_PRODUCTS = report_rules.MOSAIC_PRODUCTS


def mosaic_sources(product, year):
    return expand(f"{R}/tiles/{{tile}}/{year}/{MOSAIC_PRODUCTS[product]}", tile=TILES)


def mosaic_file(year="{year}", product="{product}"):
    """Rule mosaic's output (a VRT) of a product and year."""
    return f"{R}/mosaics/{year}/" + report_rules.MOSAIC.format(product=product)


def quicklook_file(year="{year}", product="{product}"):
    """The quicklook map of a product and year."""
    return f"{R}/report/{year}/" + report_rules.QUICKLOOK.format(product=product)


#: Rule qa_summaries' and rule provenance's outputs.
QA_SUMMARIES = report_rules.in_folder(f"{R}/report/qa", report_rules.QA_SUMMARIES)
PROVENANCE = report_rules.in_folder(f"{R}/report", report_rules.PROVENANCE)


def mosaic_targets():
    return [mosaic_file(y, p) for y in YEARS for p in MOSAIC_PRODUCTS]


def stac_products():
    """Every per-tile file the STAC catalog lists (agrifactory.report.catalog.PRODUCTS):
    inputs of rule stac, so the catalog never depends on which jobs happened to have
    finished."""
    return [
        f"{R}/tiles/{t}/{y}/{path}"
        for t in TILES
        for y in YEARS
        for path in report_rules.TILE_PRODUCTS.values()
    ]


def provenance_inputs(wildcards):
    """Inventories and other inputs whose summary and checksums go into the provenance."""
    inputs = {}
    if DEMO:
        inputs["inventories"] = [
            f"{DEMO_INPUTS}/{name}" for name in demo_rules.INVENTORIES.values()
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
    maps = [quicklook_file(y, p) for y in YEARS for p in MOSAIC_PRODUCTS]
    accuracy = [
        f"{R}/report/{y}/accuracy_{p}.html"
        for y in YEARS
        for p in CLASS_PRODUCTS
        if f"{R}/accuracy/{y}/{p}/areas.csv" in accuracy_tables(y)
    ]
    soil = (
        expand(f"{R}/report/{{year}}/map_soil_moisture.png", year=YEARS)
        if SM_ON
        else []
    )
    return [
        *maps,
        *accuracy,
        *soil,
        rules.qa_summaries.output,
        rules.provenance.output,
        rules.stac.output,
    ]


# --- classification -----------------------------------------------------------
# Settings, products and output names come from the stage's contract
# (agrifactory.classify.rules); SETTINGS.classify has checked the section already.

from agrifactory.classify import rules as classify_rules
from agrifactory.classify.regions import region_names, tile_regions

CLASSIFY = config["classify"]
CLASS_PRODUCTS = list(classify_rules.PRODUCTS)
SAMPLES = config["inputs"]["samples"]

try:
    TILE_REGION = tile_regions(TILES, config["grid"]["tile_km"], CLASSIFY["regions"])
except AgrifactoryError as exc:
    raise WorkflowError(f"agrifactory: {exc}") from None
REGIONS = region_names(TILE_REGION)
TRANSFER = CLASSIFY["transfer"]
for _name in (TRANSFER["source"], TRANSFER["target"]):
    if _name is not None and _name not in REGIONS:
        raise WorkflowError(
            f"agrifactory: classify.transfer region {_name!r} is not among the run's regions {REGIONS}"
        )
if not SAMPLES:
    import logging

    logging.getLogger("agrifactory").warning(
        "inputs.samples is not set: the classification rules are left out of 'all'"
    )


def classify_stack(tile, year):
    """The classifiers' inputs of a tile-year: feature stack and HANTS series."""
    return {
        "features": f"{R}/tiles/{tile}/{year}/features/features.tif",
        "smoothed": f"{R}/tiles/{tile}/{year}/smooth/ndvi_hants.tif",
    }


def training_set_inputs(wildcards):
    """Samples plus the feature stack and HANTS series of every tile (named <kind>_<tile>)."""
    inputs = {"samples": SAMPLES}
    for tile in TILES:
        for kind, path in classify_stack(tile, wildcards.year).items():
            inputs[f"{kind}_{tile}"] = path
    return inputs


def model_folder(product, region="{region}", year="{year}"):
    """Folder of a product's model, its baseline and reports for one region and year."""
    return f"{R}/models/{product}/{region}/{year}"


def model_dir(product, region, year, name="model"):
    return f"{model_folder(product, region, year)}/{classify_rules.TRAIN_OUTPUTS[name]}"


def train_outputs(product):
    """Outputs of rule train_<product>: model directories and their reports."""
    names = {"model", "validation"}
    names |= {"separability"} if product == "irrigation" else set()
    names |= {"baseline"} if product == "croptype" else set()
    out = classify_rules.outputs_in(model_folder(product), classify_rules.TRAIN_OUTPUTS)
    return {
        key: directory(path) if key in ("model", "baseline") else path
        for key, path in out.items()
        if key in names
    }


def accuracy_dir(year="{year}", product="{product}"):
    """Folder of a product's accuracy assessment for one year."""
    return f"{R}/accuracy/{year}/{product}"


def classify_inputs(wildcards):
    """A tile-year's inputs and the models of its region."""
    region = TILE_REGION[wildcards.tile]
    inputs = classify_stack(wildcards.tile, wildcards.year)
    for product in CLASS_PRODUCTS:
        inputs[product] = model_dir(product, region, wildcards.year)
    return inputs


def class_rasters(wildcards, suffix=""):
    """The product's class (or, with suffix '_proba', probability) raster of every tile."""
    name = classify_rules.CLASSIFY_OUTPUTS[f"{wildcards.product}{suffix}"]
    return {
        tile: f"{R}/tiles/{tile}/{wildcards.year}/classify/{name}" for tile in TILES
    }


def accuracy_reference(wildcards):
    """The labelled stratified sample: the truth labels it in the demo, a person otherwise."""
    if DEMO:
        folder = accuracy_dir(wildcards.year, wildcards.product)
        return f"{folder}/{classify_rules.ACCURACY_REFERENCE}"
    return CLASSIFY["accuracy"]["reference"][wildcards.product]


def simulation_inputs(wildcards):
    inputs = {
        "table": f"{R}/training/{wildcards.year}/{classify_rules.TRAINING_SET_OUTPUTS['table']}",
        "oracle": f"{DEMO_TRUTH}/{wildcards.product}.tif",
    }
    for tile in TILES:
        for kind, path in classify_stack(tile, wildcards.year).items():
            inputs[f"{kind}_{tile}"] = path
    return inputs


def classify_targets():
    """Models, class rasters, accuracy, active learning and transfer outputs of the run."""
    if not SAMPLES:
        return []
    al = CLASSIFY["active_learning"]["product"]
    targets = per_tile(
        f"{tile_dir('classify')}/{classify_rules.CLASSIFY_OUTPUTS['croptype']}"
    )
    for year in YEARS:
        folder = f"{R}/active_learning/{year}"
        targets.append(f"{folder}/{classify_rules.PROPOSALS.format(product=al)}")
        for product in CLASS_PRODUCTS:
            if DEMO or CLASSIFY["accuracy"]["reference"][product]:
                name = classify_rules.ACCURACY_OUTPUTS["areas"]
            else:
                name = classify_rules.ACCURACY_DESIGN_OUTPUTS["design"]
            targets.append(f"{accuracy_dir(year, product)}/{name}")
        if DEMO:
            plot = classify_rules.SIMULATION_OUTPUTS["plot"].format(product=al)
            targets.append(f"{folder}/{plot}")
        if TRANSFER["source"] is not None:
            name = classify_rules.TRANSFER_TABLE.format(**TRANSFER)
            targets.append(f"{R}/transfer/{year}/{name}")
    return targets


# --- soil moisture ------------------------------------------------------------

from agrifactory.soil_moisture import rules as sm_rules
from agrifactory.synthetic.soil_moisture import world_files as sm_world_files

# The section's settings, built when the Snakefile was parsed.
SM = SETTINGS.soil_moisture
SM_ON = SM.enabled
SM_DEMO_DIR = f"{DEMO_INPUTS}/soil_moisture"
SM_DEMO_TRUTH = f"{DEMO_TRUTH}/soil_moisture"
SM_DEMO_FILES = {
    k: str(v) for k, v in sm_world_files(SM_DEMO_DIR, SM_DEMO_TRUTH, YEARS[0]).items()
}
SM_WORLD = {
    "bbox": SM.region_bbox,
    "year": YEARS[0],
    "seed": config["seed"],
    "n_stations": SM.demo.n_stations,
    "n_source_stations": SM.demo.n_source_stations,
}
if SM_ON:
    try:
        sm_rules.check_inputs(SM, PLAN.tiles, YEARS, demo=DEMO, demo_dir=SM_DEMO_DIR)
    except AgrifactoryError as exc:
        raise WorkflowError(f"agrifactory: {exc}") from None


def sm_dir(year="{year}"):
    """Folder of the run-level soil-moisture tables and plots of a year."""
    return f"{R}/soil_moisture/{year}"


def sm_models(year="{year}"):
    """Folder of the soil-moisture models of a year."""
    return f"{R}/models/soil_moisture/{year}"


def sm_tile_outputs(tile="{tile}", year="{year}"):
    """The soil-moisture products of a tile-year, by key (sm_rules.TILE_OUTPUTS)."""
    return sm_rules.outputs(
        sm_rules.TILE_OUTPUTS, f"{R}/tiles/{tile}/{year}/soil_moisture"
    )


def sm_inputs(wildcards):
    """Reanalysis and driver files of a year (named inputs)."""
    return SM.input_files(int(wildcards.year))


def sm_driver_inputs(wildcards):
    """Driver files of a year (named inputs)."""
    return {k: v for k, v in sm_inputs(wildcards).items() if k.startswith("driver_")}


def sm_station_inputs(wildcards):
    """Reanalysis, drivers, target and source stations of a year, and the downscaler."""
    files = SM.input_files(int(wildcards.year), stations=True)
    model = sm_rules.outputs(sm_rules.MODEL_OUTPUTS, sm_models(wildcards.year))
    return {**files, "model": model["downscaler"]}


def sm_neighbours(wildcards):
    """Downscaled files of the run's tiles around a tile (the CNN's halo)."""
    return [
        sm_tile_outputs(t, wildcards.year)["downscaled"]
        for t in sm_rules.neighbours(wildcards.tile, TILES)
    ]


def sm_targets():
    """Soil-moisture products, evaluation and plots (and the demo's truth) when enabled."""
    if not SM_ON:
        return []
    targets = per_tile(sm_tile_outputs()["calibrated"])
    year_files = sm_rules.outputs(sm_rules.YEAR_OUTPUTS, sm_dir())
    targets += expand([year_files["evaluation"], year_files["plot"]], year=YEARS)
    if DEMO:
        targets += [SM_DEMO_FILES["truth"], SM_DEMO_FILES["stations_truth"]]
    return targets


# --- resources, groups, benchmarks -----------------------------------------------
# Rules declare what one job needs (docs/scaling.md), e.g.
#     threads: 1
#     resources:
#         mem_mb=mem_mb(300, per_mpx=90),
#         runtime=runtime_min(2, per_mpx=1.5),
#         gpu=gpus(1, backend=config["fusion"]["backend"]),
#     group: FEATURES_GROUP    (see the groups below)
#     benchmark: benchmark_file("ingest/{tile}_{year}")
# Memory and runtime scale with the pixels a job handles and grow with every retry
# (attempt), so a profile's `retries:` resubmits a job killed for memory or time
# with more of both.

#: Millions of 30 m pixels in one tile (16 for the 120 km tiles of all China).
TILE_MPX = (config["grid"]["tile_km"] * 1000 / 30) ** 2 / 1e6
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
#: MB taken in every cluster job by the Snakemake that runs the rule inside it
#: (measured: 263 MB for the test config, and the run plan, about 10 MB per 1000
#: inventory rows; tests/test_cluster.py keeps PyTorch out of the workflow's imports).
JOB_MB = 300 + 0.01 * len(PLAN.inventory)
#: Groups of small per-tile jobs. On a cluster, one tile-year's chain of jobs of one
#: group runs as one cluster job (profiles/slurm bundles several with
#: group-components). A group holds only per-tile rules that lie between the same two
#: fan-ins, or Snakemake refuses it (its jobs would feed a fan-in that feeds them):
#: TILE_GROUP before the quality scorer (ingest), FEATURES_GROUP between the scorer
#: and the classifier training (quality, fusion, smoothing, features). Per-tile rules
#: after the training (classification, aggregation per tile) are left ungrouped:
#: checking a group there costs Snakemake time that grows with tiles x tiles.
TILE_GROUP = "tile"
FEATURES_GROUP = "tile_features"


def mem_mb(base, per_mpx=0.0, per_input_mb=0.0, mpx=TILE_MPX):
    """Memory request (MB): JOB_MB + base + per_mpx x mpx + per_input_mb x input MB, x attempt.

    base and per_mpx come from the rule's measured peak (benchmark max_rss); mpx is
    the tile's millions of pixels unless the rule works on another grid.
    """

    fixed = JOB_MB + base + per_mpx * mpx

    def request(wildcards, attempt):
        return math.ceil(fixed * attempt)

    def request_by_input(wildcards, input, attempt):
        return math.ceil((fixed + per_input_mb * input.size_mb) * attempt)

    # Resources that read `input` are known only once the input exists.
    return request_by_input if per_input_mb else request


def runtime_min(base, per_mpx=0.0, per_tile=0.0, per_scene_mpx=0.0, mpx=TILE_MPX):
    """Time limit (minutes), x attempt: base + per_mpx x mpx + per_tile x tile-years
    + per_scene_mpx x Landsat scenes of the job's tile-year x mpx."""

    def request(wildcards, attempt):
        minutes = base + per_mpx * mpx + per_tile * len(TILES) * len(YEARS)
        if per_scene_mpx:
            scenes = len(
                PLAN.scene_records(wildcards.tile, int(wildcards.year), "landsat")
            )
            minutes += per_scene_mpx * scenes * mpx
        return math.ceil(minutes * attempt)

    return request


def gpus(n=1, backend="auto"):
    """GPUs a CuPy or CNN job asks for: n, none for backend 'numpy', at most what the run grants.

    Where the run grants none (`--resources gpu=0`, as profiles/slurm sets for clusters
    without GPUs), the job asks for none and must run its CPU back end.
    """
    if backend == "numpy":
        return 0
    if not workflow.is_main_process:
        # Inside a cluster job (e.g. a group job running its rules with srun): ask for a
        # GPU only where SLURM gave the job one, or srun refuses the step's gres.
        given = any(os.environ.get(v) for v in ("SLURM_JOB_GPUS", "SLURM_GPUS_ON_NODE"))
        return n if given else 0
    granted = workflow.global_resources.get("gpu")
    if granted is None or granted.value is None:
        return n
    return min(n, int(granted.value))


def benchmark_file(name):
    """Where Snakemake records a job's run time and peak memory (max_rss, MB)."""
    return f"{R}/benchmarks/{name}.tsv"


# --- cluster checks ----------------------------------------------------------------


def requested_partitions():
    """Every slurm_partition the run asks for: the default, and rules that ask for another."""
    found = {}
    default = workflow.resource_settings._parsed_default_resources.get(
        "slurm_partition"
    )
    if default is not None and isinstance(default.raw, str):
        found["default-resources"] = default.raw
    for r in workflow.rules:
        res = r.resources.get("slurm_partition")
        if (
            res is not None
            and isinstance(res.raw, str)
            and res.raw != found.get("default-resources")
        ):
            found[f"{r.name} (rule)"] = res.raw
    return found


def check_cluster():
    """Stop before any job when a requested SLURM partition does not exist (sinfo)."""
    if not workflow.is_main_process:
        return
    requested = requested_partitions()
    if not requested:
        return
    try:
        available = slurm_partitions()
        if available is None:
            logger.warning(
                "agrifactory: slurm_partition is set but sinfo is not on PATH; "
                "partitions not checked"
            )
            return
        check_partitions(requested, available)
    except AgrifactoryError as exc:
        raise WorkflowError(f"agrifactory: {exc}") from None


def declared_outputs():
    """Every rule's output patterns (a directory()'s with a trailing '/'), sorted: the
    files the manifest may hash (agrifactory.manifest.product_files)."""
    return sorted(
        {
            str(f) + ("/" if is_flagged(f, "directory") else "")
            for r in workflow.rules
            for f in r.output
        }
    )


def manifest_inputs(wildcards):
    """The other targets of `all`: the manifest runs last, and again when a product changes."""
    return [f for f in rules.all.input if f != rules.manifest.output[0]]
