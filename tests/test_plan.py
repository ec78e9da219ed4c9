"""The run plan: validation before any job runs."""

import pytest

from agrifactory.errors import ConfigError
from agrifactory.plan import build_plan, plan_tiles, read_tile_list


def _config(**overrides):
    cfg = {
        "demo": False,
        "seed": 1,
        "years": [2021],
        "grid": {
            "tile_km": 15,
            "mode": "aoi",
            "aoi_bbox": [114.0, 41.48, 114.28, 41.72],
            "tiles_file": None,
        },
        "inputs": {
            "landsat_inventory": None,
            "modis_inventory": None,
            "samples": None,
            "statistics": {},
        },
        "ingest": {"margin_days": 40},
    }
    cfg.update(overrides)
    return cfg


def test_tile_list_file_with_duplicates_is_refused(tmp_path):
    path = tmp_path / "tiles.txt"
    path.write_text("# a comment\nh249v098\nh250v098  # east\nh249v098\n")
    with pytest.raises(ConfigError, match="tiles.txt: duplicate tile ids h249v098"):
        read_tile_list(path)
    path.write_text("h249v098\nh250v098  # east\n")
    assert [t.id for t in plan_tiles({"tile_km": 15, "tiles_file": str(path), "mode": "aoi"})] == [
        "h249v098",
        "h250v098",
    ]


def test_china_tile_list_is_unique_and_complete(repo_root):
    ids = read_tile_list(repo_root / "config/tiles/china_120km.txt")
    assert len(ids) == 830


def test_missing_inventory_is_named_before_any_job(tmp_path):
    with pytest.raises(ConfigError, match="inputs.landsat_inventory is not set"):
        build_plan(_config())
    cfg = _config(
        inputs={
            "landsat_inventory": str(tmp_path / "nope.csv"),
            "modis_inventory": "x",
            "statistics": {},
        }
    )
    with pytest.raises(ConfigError, match="nope.csv does not exist"):
        build_plan(cfg)


def test_duplicate_years_and_multi_year_demo(tmp_path):
    with pytest.raises(ConfigError, match="lists a year twice"):
        build_plan(_config(years=[2021, 2021]))
