"""The integration stage (CropLayer) in the real run of the test config: its products,
and that none of its jobs read the demo's truth."""

from __future__ import annotations

import base64
import json
import pkgutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

import agrifactory.integration
from agrifactory.grid import Tile
from agrifactory.integration.rules import (
    BLOCKS_OUTPUTS,
    INTEGRATE_OUTPUTS,
    INTEGRATION_MODEL_OUTPUTS,
    SEMANTIC_OUTPUTS,
)

pytestmark = pytest.mark.workflow
TILES = ["h625v245", "h626v245", "h625v246", "h626v246"]
MAPS = ["factory", "worldcover", "clcd", "gfsad", "majority", "integrated"]
RULES = ("semantic_blocks", "semantic_model", "integration_model", "integrate")


@pytest.fixture(scope="module")
def run(demo_run) -> Path:
    return demo_run  # one run of the test config per session (tests/conftest.py)


@pytest.mark.parametrize("tile", TILES)
def test_integrated_maps_are_on_the_tile_grid(run, tile):
    folder = run / f"results/tiles/{tile}/2021/integration"
    grid = Tile.from_id(tile, 6).grid()
    with rasterio.open(folder / INTEGRATE_OUTPUTS["maps"]) as src:
        assert list(src.descriptions) == MAPS
        assert tuple(src.transform)[:6] == tuple(grid.transform)[:6]
        maps = src.read()
    assert set(np.unique(maps)) <= {0, 1, 255}
    with rasterio.open(folder / INTEGRATE_OUTPUTS["cropland"]) as src:
        np.testing.assert_array_equal(src.read(1), maps[-1])
    with rasterio.open(folder / BLOCKS_OUTPUTS["sources"]) as src:
        assert list(src.descriptions) == MAPS[1:4]
        fractions = src.read()
    assert np.nanmin(fractions) >= 0 and np.nanmax(fractions) <= 1
    blocks = pd.read_parquet(folder / BLOCKS_OUTPUTS["blocks"])
    assert len(blocks) == 16  # 6 km tiles in blocks of 1.5 km


def test_every_map_is_scored_on_the_validation_samples(run):
    folder = run / "results/integration/2021"
    accuracy = pd.read_csv(folder / INTEGRATION_MODEL_OUTPUTS["accuracy"])
    assert accuracy["source"].tolist() == MAPS
    assert (accuracy["n"] == accuracy["n"].iloc[0]).all() and accuracy["n"].iloc[0] > 50
    metrics = pd.read_csv(folder / SEMANTIC_OUTPUTS["metrics"])
    assert metrics["split"].tolist()[:3] == ["train", "validation", "validation, majority answer"]
    assert metrics["map"].tolist() == ["all"] * 3 + MAPS  # then each map's held-out blocks
    table = pd.read_csv(folder / SEMANTIC_OUTPUTS["correctness"])
    assert len(table) == 4 * 16 * len(MAPS) and table["p_correct"].between(0, 1).all()


def test_the_croplayer_table_holds_every_map(run):
    summary = pd.read_csv(run / "results/aggregate/2021/county_sources_summary.csv")
    assert summary["source"].tolist() == MAPS


def test_the_cropland_simulation_has_the_correctness_ranking(run):
    curve = pd.read_csv(run / "results/active_learning/2021/cropland_simulation.csv")
    assert set(curve["strategy"]) == {"uncertainty", "random", "correctness"}


def _job_inputs(run: Path, rule: str) -> list[str]:
    """The input files Snakemake recorded for the jobs of ``rule`` (its metadata)."""
    inputs = []
    for entry in (run / ".snakemake/metadata").iterdir():
        record = json.loads(entry.read_text())
        if record.get("rule") == rule:
            inputs += record["input"]
    return inputs


@pytest.mark.parametrize("rule", RULES)
def test_integration_never_reads_the_demo_truth(run, rule):
    inputs = _job_inputs(run, rule)
    assert inputs, f"no job of {rule} recorded"
    assert not [p for p in inputs if p.startswith("results/demo/truth")]


def test_the_integration_library_does_not_import_the_demo_world():
    package = Path(agrifactory.integration.__file__).parent
    for module in pkgutil.iter_modules([str(package)]):
        text = (package / f"{module.name}.py").read_text()
        assert "agrifactory.synthetic" not in text and "demo/truth" not in text, module.name


def test_metadata_names_are_output_paths(run):
    # The guard above reads Snakemake's metadata: one file per output, named by its path.
    names = {
        base64.b64decode(e.name.replace("@", "/")).decode()
        for e in (run / ".snakemake/metadata").iterdir()
    }
    assert "results/integration/2021/accuracy.csv" in names
