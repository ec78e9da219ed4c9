"""Input checks of the run plan: deleted scenes, mission dates, years before MODIS, scene params."""

import os

import pandas as pd
import pytest
from _ingest_scenes import FOOTPRINT, PID, write_inventories
from test_plan import _config

from agrifactory.errors import ConfigError, InputError
from agrifactory.io import inventory, missions
from agrifactory.plan import FILES_FIELD, build_plan


def test_deleted_scene_stops_the_plan_naming_the_file_and_the_inventory(tmp_path):
    cfg = _config(inputs=write_inventories(tmp_path))
    plan = build_plan(cfg)
    assert len(plan.inventory) == 2
    deleted = tmp_path / "modis/MOD09Q1.A2021161.h26v04.061.NDVI.tif"
    deleted.unlink()
    with pytest.raises(ConfigError) as err:
        build_plan(cfg)
    message = str(err.value)
    assert str(deleted) in message and "inputs.modis_inventory" in message
    assert cfg["inputs"]["modis_inventory"] in message and "agrifactory inventory modis" in message


def test_year_before_modis_names_the_mission(tmp_path):
    with pytest.raises(ConfigError) as err:
        build_plan(_config(years=[1990]))
    message = str(err.value)
    assert "years [1990]" in message and missions.FIRST_MODIS.name in message
    assert missions.FIRST_MODIS.start.isoformat() in message and "fusion" in message


def test_year_before_modis_is_refused_in_the_demo_too():
    with pytest.raises(ConfigError, match="Terra MODIS data start on 2000-02-24"):
        build_plan(_config(demo=True, years=[1990]))


@pytest.mark.parametrize(
    ("sensor", "scene_id", "date", "mission"),
    [
        ("landsat", "LC09_L2SP_124031_20201101_20201111_02_T1", "2020-11-01", "Landsat 9"),
        ("landsat", "LT05_L2SP_124031_20150101_20150111_02_T1", "2015-01-01", "Landsat 5"),
        ("modis", "MYD09Q1.A2001001.h26v04.061.NDVI", "2001-01-01", "Aqua MODIS"),
        ("modis", "MOD09Q1.A1999001.h26v04.061.NDVI", "1999-01-01", "Terra MODIS"),
    ],
)
def test_acquisition_outside_the_mission_is_refused(sensor, scene_id, date, mission):
    table = pd.DataFrame([(sensor, scene_id, date, "x", "", FOOTPRINT)], columns=inventory.COLUMNS)
    with pytest.raises(
        InputError,
        match=f"inv.csv: row 2: {scene_id} is dated {date}, outside the {mission} mission",
    ):
        inventory.validate_inventory(table, "inv.csv")


def test_unknown_landsat_sensor_code_is_refused():
    table = pd.DataFrame(
        [("landsat", "LT06_L2SP_124031_19940101_19940111_02_T1", "1994-01-01", "x", "", FOOTPRINT)],
        columns=inventory.COLUMNS,
    )
    with pytest.raises(InputError, match="names no Landsat mission"):
        inventory.validate_inventory(table, "inv.csv")


def test_mission_table_spans():
    assert missions.landsat_mission(PID).name == "Landsat 8"
    assert missions.modis_mission("MYD13Q1.A2021001").name == "Aqua MODIS"
    assert missions.modis_mission("ndvi.A2021001").name == "Terra MODIS"  # held to the earliest
    assert not missions.LANDSAT["05"].covers(missions.LANDSAT["09"].start)


def test_scene_params_change_with_exactly_the_files_of_a_scene(tmp_path):
    other = "LC08_L2SP_124031_20210630_20210710_02_T1"
    cfg = _config(inputs=write_inventories(tmp_path, landsat_ids=(PID, other)))
    tile = build_plan(cfg).tile_ids[0]

    def params():
        plan = build_plan(cfg)
        return {r["id"]: r[FILES_FIELD] for r in plan.scene_params(tile, 2021, "landsat")}

    before = params()
    assert before[PID].split(";")[1].startswith("red:4:")  # name:size:mtime
    red = tmp_path / f"landsat/{PID}/{PID}_SR_B4.TIF"
    red.write_bytes(b"123456")
    st = os.stat(red)
    os.utime(red, (st.st_atime, st.st_mtime + 10))
    after = params()
    assert after[PID] != before[PID] and after[other] == before[other]
    red.unlink()
    assert "red:missing" in params()[PID]
    # The records the ingest reads are unchanged apart from the stats.
    plan = build_plan(cfg)
    plain = plan.scene_records(tile, 2021, "landsat")
    assert [
        {k: v for k, v in r.items() if k != FILES_FIELD}
        for r in plan.scene_params(tile, 2021, "landsat")
    ] == plain


def test_demo_scene_params_carry_no_stats():
    plan = build_plan(_config(demo=True, demo_world=_demo_world(), seed=2021))
    tile = plan.tile_ids[0]
    assert plan.scene_params(tile, 2021, "modis") == plan.scene_records(tile, 2021, "modis")


def _demo_world():
    from agrifactory.config import DemoWorldSettings

    return DemoWorldSettings().model_dump(mode="json")


@pytest.mark.parametrize("pid", [PID, "LE07_L2SP_124031_20010105_20200915_02_T1"])
def test_stat_files_are_the_files_the_ingest_reads(pid):
    from agrifactory.ingest.rules import LANDSAT_BANDS
    from agrifactory.plan import _read_files

    record = {
        "sensor": "landsat",
        "id": pid,
        "path": "/data/x",
        "bands": "SR_B1;SR_B3;SR_B4;SR_B5;QA_PIXEL;ST_B6",
    }
    expected = inventory.landsat_files(record, LANDSAT_BANDS)
    assert dict(_read_files(record)) == expected and expected
