"""A change of `years` does not rewrite the demo's files that do not depend on the year.

The demo world's land (its truth rasters), its sample points and its static
soil-moisture drivers (elevation, sand, clay) are the same for every year: their
rules take the world without the year, so after a complete run a dry run with
another year plans them not at all, while the NDVI truth (dated to the year) is
planned again. Runs only the demo rules involved (a minute or so).
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
NDVI = f"results/demo/truth/{demo_rules.TRUTH_NDVI}.tif"
SOIL = [f"results/demo/inputs/soil_moisture/drivers/{name}.tif" for name in STATIC_DRIVERS]
PRODUCTS = [  # the demo's other cropland products (editions of fixed years), reference blocks
    f"results/demo/inputs/{demo_rules.PRODUCTS_DIR}/{demo_rules.gfsad_file(2020)}",
    f"results/demo/inputs/{demo_rules.REFERENCE_BLOCKS}",
]


def planned_rules(workdir, configfile, *targets) -> set[str]:
    done = snakemake(workdir, "-n", *targets, configfile=configfile, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return set(re.findall(r"^\s*(?:local)?rule (\w+):$", done.stdout, re.M))


def test_a_new_year_does_not_plan_the_year_independent_demo_rules(tmp_path):
    workdir = prepare_workdir(tmp_path)
    targets = (*LAND, SAMPLES, *SOIL, *PRODUCTS, NDVI)
    done = snakemake(workdir, "--cores", "2", *targets)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert planned_rules(workdir, "config/test.yaml", *targets) == set()

    config = yaml.safe_load((workdir / "config/test.yaml").read_text())
    config["years"] = [2022]
    (workdir / "config/other_year.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    before = {p: (workdir / p).stat().st_mtime_ns for p in (*LAND, SAMPLES, *SOIL, *PRODUCTS)}
    planned = planned_rules(workdir, "config/other_year.yaml", *targets)
    assert planned == {"demo_truth_ndvi"}  # dated to the year: rerun, and only it
    assert {p: (workdir / p).stat().st_mtime_ns for p in before} == before
