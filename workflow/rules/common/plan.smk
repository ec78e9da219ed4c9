# The run plan and what the .smk files share: imports, paths, the plan's tiles and
# years. The other helpers are split by concern in this folder: demo.smk (demo mode),
# inputs_*.smk (input functions per stage), targets.smk (what `all` asks for),
# resources.smk (resources, groups, benchmarks, cluster checks). Everything that
# computes lives in the agrifactory library; output names come from each stage's
# contract (agrifactory.<stage>.rules).

import math
import os

from agrifactory.acquire.rules import acquire_outputs
from agrifactory.aggregate import rules as aggregate_rules
from agrifactory.classify import rules as classify_rules
from agrifactory.classify.regions import region_names, tile_regions
from agrifactory.cluster import check_partitions, slurm_partitions
from agrifactory.config import build_settings, retype_text
from agrifactory.errors import AgrifactoryError
from agrifactory.fusion.rules import PAIRS_TABLE, fuse_outputs
from agrifactory.ingest.cube import year_files as cube_year_files
from agrifactory.ingest.rules import CUBE_OUTPUTS, LANDSAT_REFLECTANCE, ingest_outputs
from agrifactory.io.files import in_folder
from agrifactory.io.modis import COMPOSITE_DAYS as MODIS_COMPOSITE_DAYS
from agrifactory.io.modis import modis_name_pattern
from agrifactory.plan import DEMO_INPUTS, DEMO_TRUTH, build_plan
from agrifactory.quality.rules import QUALITY_STACKS, quality_outputs, scorer_outputs
from agrifactory.report import rules as report_rules
from agrifactory.soil_moisture import rules as sm_rules
from agrifactory.synthetic import demo as synthetic_demo
from agrifactory.synthetic import rules as demo_rules
from agrifactory.synthetic.landsat import SCENE_FILES, SCENE_MTL
from agrifactory.synthetic.soil_moisture import STATIC_DRIVERS as sm_static_drivers
from agrifactory.synthetic.soil_moisture import world_files as sm_world_files
from agrifactory.timeseries.rules import features_outputs, smooth_outputs
from snakemake.exceptions import WorkflowError
from snakemake.io import is_flagged
from snakemake.logging import logger
from snakemake.utils import validate

R = "results"
LOGS = f"{R}/logs"
ENV = "../../envs/agrifactory.yaml"


def planned(check, *args, **kwargs):
    """Run a check of the run plan; a factory error stops the run as one WorkflowError."""
    try:
        return check(*args, **kwargs)
    except AgrifactoryError as exc:
        raise WorkflowError(f"agrifactory: {exc}") from None


# Every stage's settings first: a bad value stops the run before any job, in one
# line per key; then Snakemake's schema validation, which fills in the defaults.
SETTINGS = planned(build_settings, config)
retype_text(config, SETTINGS)
validate(config, "../../schemas/config.schema.yaml")
PLAN = planned(build_plan, config)
TILES = PLAN.tile_ids
YEARS = PLAN.years
DEMO = PLAN.demo
STAC = PLAN.stac
# Sections read at module level below.
SM = SETTINGS.soil_moisture
SM_ON = SM.enabled
#: The run years that produce soil moisture (soil_moisture.years, else all).
SM_YEARS = sm_rules.run_years(SM, YEARS)
CLASSIFY = config["classify"]
SAMPLES = config["inputs"]["samples"]
#: The NDVI cube that replaces ingest, quality and fusion (inputs.ndvi_cube), or None.
CUBE = config["inputs"].get("ndvi_cube")
#: Params of the rules that check dates against the year: the month a year's season
#: starts in (timeseries.season_start_month) where it is not January, so a calendar-year
#: run keeps its params (and does not rerun).
SEASON = config["timeseries"]["season_start_month"]
SEASON_PARAMS = {"season_start_month": SEASON} if SEASON != 1 else {}
#: The tile lattice (grid.crs, grid.origin, and grid.fine_res where it is not 30 m), a
#: param of every job that places a tile on the ground (agrifactory.grid.job_grid).
GRID = {k: config["grid"][k] for k in ("crs", "origin")}
if config["grid"]["fine_res"] != 30:
    GRID["fine_res"] = config["grid"]["fine_res"]


def tile_dir(stage):
    """Output folder pattern of a per-tile, per-year stage."""
    return f"{R}/tiles/{{tile}}/{{year}}/{stage}"


def tile_year_dir(tile, year, stage):
    """Output folder of one tile-year's stage."""
    return f"{R}/tiles/{tile}/{year}/{stage}"


def per_tile(pattern):
    """Expand a {tile}/{year} pattern over the run's tiles and years."""
    return expand(pattern, tile=TILES, year=YEARS)
