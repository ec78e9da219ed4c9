# Resources, groups and benchmark records of the rules, and the cluster checks made
# when the workflow is parsed (docs/scaling.md).
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
            scenes = landsat_scene_count(wildcards.tile, int(wildcards.year))
            minutes += per_scene_mpx * scenes * mpx
        return math.ceil(minutes * attempt)

    return request


def landsat_scene_count(tile, year):
    """Landsat scenes of a tile-year (0 while rule acquire has not yet found them)."""
    if not STAC:
        return len(PLAN.scene_records(tile, year, "landsat"))
    found = acquire_outputs(f"{R}/acquire/{year}")
    if not all(os.path.exists(p) for p in found.values()):
        return 0
    plan = PLAN.acquired(year, found["landsat"], found["modis"])
    return len(plan.scene_records(tile, year, "landsat"))


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
    # default_resources is a mapping of raw values or, once parsed, Resources.
    defaults = workflow.resource_settings.default_resources or {}
    default = getattr(
        defaults.get("slurm_partition"), "raw", defaults.get("slurm_partition")
    )
    if isinstance(default, str):
        found["default-resources"] = default
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
    available = planned(slurm_partitions)
    if available is None:
        logger.warning(
            "agrifactory: slurm_partition is set but sinfo is not on PATH; "
            "partitions not checked"
        )
        return
    planned(check_partitions, requested, available)
