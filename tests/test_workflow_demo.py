"""Snakemake on the demo (the small test config) for real: outputs, grids, masks, no-op rerun."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import CRS
from workflow_helpers import snakemake

from agrifactory.grid import ALBERS, Tile
from agrifactory.io import landsat as l8
from agrifactory.io.raster import read_stack

pytestmark = pytest.mark.workflow
TILES = ["h625v245", "h626v245", "h625v246", "h626v246"]


@pytest.fixture(scope="module")
def run(demo_run) -> Path:
    return demo_run  # one run of the test config per session (tests/conftest.py)


def test_tile_index(run):
    index = gpd.read_file(run / "results/tiles.gpkg")
    assert sorted(index["tile"]) == sorted(TILES)
    assert index.crs.equals(ALBERS, ignore_axis_order=True)
    assert {"130000", "150000"} <= {a for codes in index["adcodes"] for a in codes.split(";")}
    for row in index.itertuples():
        overlaps = [float(v) for v in row.overlap_km2.split(";")]
        assert sum(overlaps) == pytest.approx(36.0, abs=1e-3)  # 6 km x 6 km, all in China


@pytest.mark.parametrize("tile", TILES)
def test_ingested_stacks_are_on_the_tile_grid_with_dates_and_masks(run, tile):
    folder = run / f"results/tiles/{tile}/2021/ingest"
    grid = Tile.from_id(tile, 6).grid()
    inventory = pd.read_csv(folder / "inventory.csv")
    ndvi, dates, meta = read_stack(folder / "landsat_ndvi.tif")
    assert ndvi.shape == (28, 200, 200)
    assert tuple(meta["transform"])[:6] == tuple(grid.transform)[:6]
    assert CRS.from_user_input(meta["crs"]).equals(ALBERS, ignore_axis_order=True)
    assert [d.isoformat() for d in dates] == inventory.query("sensor == 'landsat'")["date"].tolist()
    qa, qa_dates, _ = read_stack(folder / "landsat_qa_pixel.tif")
    assert qa_dates == dates
    flags = l8.decode_qa_pixel(qa.astype(np.uint16))
    assert not np.isfinite(ndvi[flags["cloud"] | flags["shadow"] | flags["snow"]]).any()
    assert np.isfinite(ndvi).mean() > 0.3
    modis, mdates, _ = read_stack(folder / "modis_ndvi.tif")
    assert len(mdates) == 56 and np.isfinite(modis).all()
    # MODIS cells (~174 m x 231 m) stay blocky on the 30 m grid: far fewer values than pixels.
    assert len(np.unique(modis[30])) < 200 * 200 / 25


def test_scanned_inventory_equals_the_plan(run):
    from agrifactory.io.inventory import read_inventory

    scanned = read_inventory(run / "results/demo/inputs/inventory/2021/landsat_inventory.csv")
    planned = pd.read_csv(run / "results/demo/inputs/inventory/2021/landsat_inventory.csv")
    assert len(scanned) == 28 and scanned["bands"].nunique() == 1
    assert (scanned["id"] == planned["id"]).all()


def test_demo_statistics_and_truth_exist(run):
    province = pd.read_csv(
        run / "results/demo/inputs/statistics/2021/province_cropland.csv", dtype={"adcode": str}
    )
    assert sorted(province["adcode"]) == ["130000", "150000"]
    for name in ("landcover", "cropland", "irrigation", "croptype"):
        assert (run / f"results/demo/truth/{name}.tif").exists()
    for name in ("croptype", "ndvi_8day"):
        assert (run / f"results/demo/truth/2021/{name}.tif").exists()


def test_every_job_wrote_a_log(run):
    logs = list((run / "results/logs").rglob("*.log"))
    assert len(logs) >= 4 + 28 + 6


def test_second_run_has_nothing_to_do(run):
    result = snakemake(run, "-n")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr
