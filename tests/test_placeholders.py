"""Placeholder inventories for dry runs at scale."""

import datetime as dt
import shutil

import pytest
import shapely

from agrifactory.errors import ConfigError
from agrifactory.grid import Tile
from agrifactory.io import inventory
from agrifactory.plan import build_plan
from agrifactory.synthetic.placeholders import placeholder_config


def test_placeholders_cover_every_tile_on_the_mission_calendar(tmp_path):
    tiles = [Tile(c, r, 120) for c in (30, 31, 32) for r in (14, 15)]
    cfg = placeholder_config(tiles, 2021, 40, tmp_path)["inputs"]
    landsat = inventory.read_inventory(cfg["landsat_inventory"])
    modis = inventory.read_inventory(cfg["modis_inventory"])
    assert (landsat["sensor"] == "landsat").all() and (modis["sensor"] == "modis").all()
    lo, hi = dt.date(2020, 11, 22), dt.date(2022, 2, 9)
    assert landsat["date"].between(lo, hi).all() and modis["date"].between(lo, hi).all()
    # Two satellites 8 days apart: every path is seen every 8 days.
    one_path = landsat[landsat["id"].str.slice(10, 13) == landsat["id"].iloc[0][10:13]]
    days = sorted({d.toordinal() for d in one_path["date"]})
    assert set(b - a for a, b in zip(days, days[1:], strict=False)) == {8}
    fp = inventory.albers_footprints(landsat)
    for t in tiles:
        hits = shapely.intersects(fp, shapely.box(*t.bounds))
        assert hits.sum() >= 2 * 28  # at least one footprint every 16 days per satellite
    assert (tmp_path / "landsat").is_dir() and all(
        (tmp_path / "modis").joinpath(f"{i}.tif").exists() for i in modis["id"]
    )


def test_plan_answers_the_same_as_a_plain_filter(tmp_path):
    tiles = [Tile(c, 14, 120) for c in (30, 31)]
    inputs = placeholder_config(tiles, 2021, 40, tmp_path)["inputs"]
    config = {
        "demo": False,
        "years": [2021],
        "grid": {"tile_km": 120, "mode": "aoi", "tiles_file": None, "aoi_bbox": None},
        "inputs": {**inputs, "statistics": {}},
        "ingest": {"margin_days": 40},
    }
    tiles_file = tmp_path / "tiles.txt"
    tiles_file.write_text("\n".join(t.id for t in tiles))
    config["grid"]["tiles_file"] = str(tiles_file)
    plan = build_plan(config)
    fp = inventory.albers_footprints(plan.inventory)
    for t in tiles:
        for sensor in ("landsat", "modis"):
            expected = inventory.select(
                plan.inventory, t, sensor, dt.date(2020, 11, 22), dt.date(2022, 2, 9), fp
            )
            records = plan.scene_records(t.id, 2021, sensor)
            assert [r["id"] for r in records] == expected["id"].tolist()
            assert records and records[0]["date"] == expected["date"].iloc[0].isoformat()


def test_inventory_pointing_at_a_missing_folder_stops_the_plan(tmp_path):
    tiles = [Tile(30, 14, 120)]
    inputs = placeholder_config(tiles, 2021, 40, tmp_path)["inputs"]
    shutil.rmtree(tmp_path / "landsat")
    tiles_file = tmp_path / "tiles.txt"
    tiles_file.write_text(tiles[0].id)
    config = {
        "demo": False,
        "years": [2021],
        "grid": {"tile_km": 120, "mode": "aoi", "tiles_file": str(tiles_file)},
        "inputs": {**inputs, "statistics": {}},
        "ingest": {"margin_days": 40},
    }
    with pytest.raises(
        ConfigError, match=r"inputs.landsat_inventory .* lists 56 path\(s\) that do not exist"
    ):
        build_plan(config)
