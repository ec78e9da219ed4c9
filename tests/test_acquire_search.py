"""STAC items to inventory rows: asset keys of a provider profile, product ids, dates, errors."""

from __future__ import annotations

import datetime as dt
import json

import pystac
import pytest

from agrifactory.acquire.rules import (
    BUILTIN_PROVIDERS,
    AcquireSettings,
    LandsatCollection,
    ModisCollection,
)
from agrifactory.acquire.search import landsat_filter, landsat_row, modis_date, modis_row
from agrifactory.errors import ConfigError, InputError
from agrifactory.io import inventory

BASE = (
    "https://landsateuwest.blob.core.windows.net/landsat-c2/level-2/standard/oli-tirs/2021/124/031"
)
PID = "LC08_L2SP_124031_20210105_20210115_02_T1"
GEOMETRY = {
    "type": "Polygon",
    "coordinates": [[[115.0, 40.0], [117.5, 40.0], [117.5, 42.0], [115.0, 42.0], [115.0, 40.0]]],
}


def _item(item_id: str, assets: dict[str, str], **properties) -> pystac.Item:
    item = pystac.Item(
        id=item_id,
        geometry=GEOMETRY,
        bbox=[115.0, 40.0, 117.5, 42.0],
        datetime=dt.datetime(2021, 1, 5, 3, 0, tzinfo=dt.UTC),
        properties=dict(properties),
    )
    for key, href in assets.items():
        item.add_asset(key, pystac.Asset(href=href, media_type=pystac.MediaType.COG))
    return item


def _landsat_item(pid: str = PID, drop: tuple[str, ...] = ()) -> pystac.Item:
    # Planetary Computer's keys and file names for a Landsat 8 scene.
    keys = {
        "blue": "SR_B2",
        "red": "SR_B4",
        "nir08": "SR_B5",
        "lwir11": "ST_B10",
        "qa_pixel": "QA_PIXEL",
        "qa_radsat": "QA_RADSAT",
    }
    assets = {k: f"{BASE}/{pid}/{pid}_{s}.TIF" for k, s in keys.items() if k not in drop}
    return _item(pid[:25] + pid[34:], assets, platform="landsat-8", **{"eo:cloud_cover": 12.5})


def test_landsat_row_maps_provider_keys_to_band_suffixes():
    row = landsat_row(_landsat_item(), LandsatCollection())
    sensor, scene_id, date, _path, bands, footprint, assets = row
    assert (sensor, scene_id, date) == ("landsat", PID, "2021-01-05")
    assert bands == "QA_PIXEL;QA_RADSAT;SR_B2;SR_B4;SR_B5;ST_B10"
    assert json.loads(assets)["SR_B5"] == f"{BASE}/{PID}/{PID}_SR_B5.TIF"
    assert footprint.startswith("POLYGON ((115 40, 117.5 40")


def test_landsat_5_takes_the_tm_band_numbers_and_the_second_thermal_key():
    pid = "LT05_L2SP_124031_20090610_20200827_02_T1"
    item = _landsat_item(pid)
    # Landsat 4-7 items name the thermal band 'lwir' (ST_B6) and red is SR_B3.
    item.assets["lwir"] = item.assets.pop("lwir11")
    item.assets["lwir"].href = f"{BASE}/{pid}/{pid}_ST_B6.TIF"
    item.assets["red"].href = f"{BASE}/{pid}/{pid}_SR_B3.TIF"
    item.assets["nir08"].href = f"{BASE}/{pid}/{pid}_SR_B4.TIF"
    item.assets["blue"].href = f"{BASE}/{pid}/{pid}_SR_B1.TIF"
    assets = json.loads(landsat_row(item, LandsatCollection())[-1])
    assert sorted(assets) == ["QA_PIXEL", "QA_RADSAT", "SR_B1", "SR_B3", "SR_B4", "ST_B6"]
    assert assets["SR_B3"].endswith("_SR_B3.TIF")


def test_optional_band_missing_is_left_out_but_red_missing_names_item_and_key():
    row = landsat_row(_landsat_item(drop=("qa_radsat",)), LandsatCollection())
    assert "QA_RADSAT" not in json.loads(row[-1])
    with pytest.raises(InputError) as err:
        landsat_row(_landsat_item(drop=("red",)), LandsatCollection())
    text = str(err.value)
    assert "LC08_L2SP_124031_20210105_02_T1" in text and "'red'" in text
    assert "acquire.providers" in text


def test_red_file_name_without_product_id_is_an_error():
    item = _landsat_item()
    item.assets["red"].href = "https://example.org/scene/red.tif"
    with pytest.raises(InputError, match="no Collection 2 product id"):
        landsat_row(item, LandsatCollection())


def test_modis_row_uses_start_datetime_and_canonical_names():
    item = _item(
        "MOD09Q1.A2021009.h26v04.061.2021018041532",
        {
            "sur_refl_b01": "https://x/MOD09Q1_b01.tif",
            "sur_refl_b02": "https://x/MOD09Q1_b02.tif",
            "sur_refl_qc_250m": "https://x/MOD09Q1_qc.tif",
        },
        start_datetime="2021-01-09T00:00:00Z",
        end_datetime="2021-01-16T23:59:59Z",
    )
    assert modis_date(item) == dt.date(2021, 1, 9)
    row = modis_row(item, ModisCollection())
    assert row[2] == "2021-01-09" and row[4] == "nir;qc;red"
    assert json.loads(row[-1])["qc"] == "https://x/MOD09Q1_qc.tif"
    del item.assets["sur_refl_qc_250m"]
    with pytest.raises(InputError, match="no asset 'sur_refl_qc_250m' for the qc band"):
        modis_row(item, ModisCollection())


def test_rows_make_a_valid_inventory_that_round_trips(tmp_path):
    import pandas as pd

    rows = [landsat_row(_landsat_item(), LandsatCollection())]
    table = pd.DataFrame(rows, columns=inventory.COLUMNS_WITH_ASSETS)
    inventory.write_inventory(table, tmp_path / "inv.csv")
    back = inventory.read_inventory(tmp_path / "inv.csv")
    files = inventory.landsat_files(back.iloc[0], ["red", "nir", "QA_PIXEL"])
    assert files["nir"] == f"{BASE}/{PID}/{PID}_SR_B5.TIF"
    assert files["QA_PIXEL"].endswith("_QA_PIXEL.TIF")


def test_landsat_filter_is_cql2_on_platform_and_cloud_cover():
    spec = LandsatCollection(platforms=["landsat-9"], max_cloud_cover=30)
    assert landsat_filter(spec) == {
        "op": "and",
        "args": [
            {"op": "in", "args": [{"property": "platform"}, ["landsat-9"]]},
            {"op": "<=", "args": [{"property": "eo:cloud_cover"}, 30.0]},
        ],
    }


def test_settings_name_unknown_provider_and_products_need_their_assets():
    with pytest.raises(ConfigError, match="provider 'pc' is not a profile"):
        AcquireSettings.build({"provider": "pc"}, "acquire")
    with pytest.raises(ConfigError, match="needs the assets"):
        AcquireSettings.build(
            {
                "provider": "mine",
                "providers": {
                    "mine": {"api_url": "http://x", "modis": {"product": "mod13q1"}},
                },
            },
            "acquire",
        )
    mine = AcquireSettings.build(
        {"provider": "mine", "providers": {"mine": {"api_url": "http://x"}}}, "acquire"
    )
    assert mine.profile().landsat.assets["nir"] == "nir08"
    assert BUILTIN_PROVIDERS["planetary-computer"].signing == "planetary-computer"
