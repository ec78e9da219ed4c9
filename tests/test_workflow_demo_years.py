"""Adding a year is incremental.

The demo world's land (its truth rasters), its sample points, its static soil-moisture
drivers and its other products do not depend on the run's years, and a year's
scenes, composites and truth are drawn from the world of their own dates: after a
complete run, adding a year plans only that year's jobs and the fan-ins that span
years, never a job of the year that is done, so its files stay as they are.
"""

from __future__ import annotations

import re

import pytest
import yaml
from workflow_helpers import prepare_workdir, snakemake

from agrifactory.synthetic import rules as demo_rules
from agrifactory.synthetic.soil_moisture import STATIC_DRIVERS

pytestmark = pytest.mark.workflow

LAND = [f"results/demo/truth/{name}.tif" for name in demo_rules.TRUTH_CLASSES]
SAMPLES = f"results/demo/inputs/{demo_rules.SAMPLES}"
NDVI = f"results/demo/truth/2021/{demo_rules.TRUTH_YEAR['ndvi']}"
NDVI_2022 = NDVI.replace("2021", "2022")
SOIL = [f"results/demo/inputs/soil_moisture/drivers/{name}.tif" for name in STATIC_DRIVERS]
PRODUCTS = [  # the demo's other cropland products (editions of fixed years), reference blocks
    f"results/demo/inputs/{demo_rules.PRODUCTS_DIR}/{demo_rules.gfsad_file(2020)}",
    f"results/demo/inputs/{demo_rules.REFERENCE_BLOCKS}",
]


def planned_rules(workdir, configfile, *targets) -> set[str]:
    done = snakemake(workdir, "-n", *targets, configfile=configfile, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return set(re.findall(r"^\s*(?:local)?rule (\w+):$", done.stdout, re.M))


def two_years(workdir, name="two_years.yaml"):
    """The test config with 2022 added: 2022 maps with 2021's models and the model
    adapted from 2021 in each region; soil moisture stays with 2021 (its demo world
    covers one year)."""
    config = yaml.safe_load((workdir / "config/test.yaml").read_text())
    config["years"] = [2021, 2022]
    config["classify"]["models_from"] = {2022: 2021}
    config["soil_moisture"]["years"] = [2021]
    config["adapt"]["cases"] = [
        {"source": "west_2021", "target": "west_2022"},
        {"source": "east_2021", "target": "east_2022"},
    ]
    config["adapt"]["maps"] = {"west_2022": "west_2021", "east_2022": "east_2021"}
    (workdir / "config" / name).write_text(yaml.safe_dump(config, sort_keys=False))
    return f"config/{name}"


def test_a_new_year_does_not_plan_the_year_independent_demo_rules(tmp_path):
    workdir = prepare_workdir(tmp_path)
    targets = (*LAND, SAMPLES, *SOIL, *PRODUCTS, NDVI)
    done = snakemake(workdir, "--cores", "2", *targets)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert planned_rules(workdir, "config/test.yaml", *targets) == set()

    before = {p: (workdir / p).stat().st_mtime_ns for p in (*LAND, SAMPLES, *SOIL, *PRODUCTS)}
    planned = planned_rules(workdir, two_years(workdir), *targets, NDVI_2022)
    assert planned == {"demo_truth_year"}  # the new year's truth, and only it
    assert {p: (workdir / p).stat().st_mtime_ns for p in before} == before


#: Rules whose one job spans the run's years (or is new with the year's cases): they
#: may rerun when a year is added.
SPANNING = {"all", "manifest", "headline", "provenance", "stac", "overview_map",
            "qa_summaries", "adapt", "adapt_summary"}  # fmt: skip


def planned_jobs(stdout: str) -> list[tuple[str, str, list[str]]]:
    """(rule, wildcards, outputs) of every job a dry run plans."""
    jobs = []
    for block in re.split(r"\n(?=\s*(?:local)?rule \w+:\n)", stdout):
        rule = re.search(r"^\s*(?:local)?rule (\w+):$", block, re.M)
        if not rule:
            continue
        wildcards = re.search(r"^\s*wildcards: (.*)$", block, re.M)
        outputs = re.search(r"^\s*output: (.*)$", block, re.M)
        jobs.append((
            rule[1],
            wildcards[1] if wildcards else "",
            outputs[1].split(", ") if outputs else [],
        ))  # fmt: skip
    return jobs


def test_adding_a_year_plans_only_that_years_jobs(demo_run):
    """With 2021 complete (the session's test run), adding 2022 plans no job that
    rewrites a file of 2021: every planned job is of 2022, new, or spans the years."""
    config = two_years(demo_run, "add_2022.yaml")
    done = snakemake(demo_run, "-n", configfile=config, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    jobs = planned_jobs(done.stdout)
    assert {"fuse", "classify", "change", "adapt"} <= {rule for rule, _, _ in jobs}
    for rule, wildcards, outputs in jobs:
        if rule in SPANNING:
            continue
        assert "year=2021" not in wildcards, (rule, wildcards)
        existing = [p for p in outputs if (demo_run / p).exists()]
        assert not existing, (rule, wildcards, existing[:3])
