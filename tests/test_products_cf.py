"""The soil-moisture NetCDF passes the IOOS compliance-checker for CF with no errors
and no warnings: a small file written through the project's writer, and every
soil-moisture product of the test config's run."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from _checkers import require

from agrifactory.grid import Tile
from agrifactory.soil_moisture.netcdf import CONVENTIONS, write_sm_netcdf


def _cf_failures(path: Path, report: Path) -> dict[str, list[str]]:
    """Messages of the CF checks that fail, by priority (high = error, medium = warning)."""
    runner = require("compliance_checker.runner", "compliance-checker")
    runner.CheckSuite.load_all_available_checkers()
    runner.ComplianceChecker.run_checker(
        str(path), ["cf"], 0, "normal", output_filename=str(report), output_format="json"
    )
    result = json.loads(report.read_text())["cf"]
    return {
        level: [
            msg
            for check in result[f"{level}_priorities"]
            if check["value"][0] < check["value"][1]
            for msg in check["msgs"]
        ]
        for level in ("high", "medium")
    }


def _small_file(path: Path) -> Path:
    grid = Tile(300, 200, 6).grid(res=1000.0)
    days = [dt.date(2021, 7, 1) + dt.timedelta(days=i) for i in range(3)]
    surface = np.random.default_rng(0).uniform(0.05, 0.4, (3,) + grid.shape)
    surface[1, 2, 3] = np.nan
    return write_sm_netcdf(
        path,
        {"surface": surface, "rootzone": surface / 2},
        grid,
        days,
        depths={"surface": (0, 0.1), "rootzone": (0.1, 1.0)},
        title="CF check",
        attrs={"tile": "h300v200"},
    )


def test_written_file_passes_cf(tmp_path):
    failures = _cf_failures(_small_file(tmp_path / "sm.nc"), tmp_path / "cf.json")
    assert failures == {"high": [], "medium": []}


def test_conventions_name_a_version_the_checker_knows():
    require("compliance_checker.runner", "compliance-checker")
    from compliance_checker.runner import CheckSuite

    CheckSuite.load_all_available_checkers()
    assert CONVENTIONS.replace("CF-", "cf:") in CheckSuite.checkers


@pytest.mark.workflow
def test_run_products_pass_cf(demo_run, tmp_path):
    products = sorted((demo_run / "results" / "tiles").glob("*/*/soil_moisture/*.nc"))
    assert products, "the test config's run wrote no soil-moisture NetCDF"
    for path in products:
        failures = _cf_failures(path, tmp_path / "cf.json")
        assert failures == {"high": [], "medium": []}, path
