# Helpers shared by the rule files: the run plan and target lists.
# Everything that computes lives in the agrifactory library.

from agrifactory.errors import AgrifactoryError
from agrifactory.plan import DEMO_INPUTS, DEMO_TRUTH, build_plan
from snakemake.exceptions import WorkflowError

R = "results"
LOGS = f"{R}/logs"

try:
    PLAN = build_plan(config)
except AgrifactoryError as exc:
    raise WorkflowError(f"agrifactory: {exc}") from None

TILES = PLAN.tile_ids
YEARS = PLAN.years
DEMO = PLAN.demo


wildcard_constraints:
    tile=r"h\d{3,4}v\d{3,4}",
    year=r"\d{4}",


def tile_dir(stage):
    """Output folder pattern of a per-tile, per-year stage."""
    return f"{R}/tiles/{{tile}}/{{year}}/{stage}"


def per_tile(pattern):
    """Expand a {tile}/{year} pattern over the run's tiles and years."""
    return expand(pattern, tile=TILES, year=YEARS)
