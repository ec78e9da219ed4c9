"""`agrifactory acquire` against the live local STAC API: inventories, and an item missing a key."""

from __future__ import annotations

import pandas as pd
import yaml
from _stac_demo import MODIS_COLLECTION, collection, local_provider

from agrifactory.cli import main

PID = "LC08_L2SP_124031_20210614_20210624_02_T1"
# Over the AOI of config/test.yaml (114.169..114.282 E, 41.64..41.71 N).
GEOMETRY = {
    "type": "Polygon",
    "coordinates": [[[113.5, 41.0], [115.0, 41.0], [115.0, 42.5], [113.5, 42.5], [113.5, 41.0]]],
}
FAR = {
    "type": "Polygon",
    "coordinates": [[[100.0, 30.0], [101.0, 30.0], [101.0, 31.0], [100.0, 31.0], [100.0, 30.0]]],
}


def _item(cid, item_id, geometry, assets, **properties):
    xs, ys = zip(*geometry["coordinates"][0], strict=True)
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": item_id,
        "collection": cid,
        "geometry": geometry,
        "bbox": [min(xs), min(ys), max(xs), max(ys)],
        "properties": properties,
        "links": [],
        "assets": {k: {"href": v} for k, v in assets.items()},
    }


def _landsat(pid, geometry, keys=("red", "nir08", "qa_pixel"), cloud=10.0, platform="landsat-8"):
    suffix = {"red": "SR_B4", "nir08": "SR_B5", "qa_pixel": "QA_PIXEL"}
    assets = {k: f"http://example.org/{pid}/{pid}_{suffix[k]}.TIF" for k in keys}
    date = f"{pid[17:21]}-{pid[21:23]}-{pid[23:25]}T03:00:00Z"
    item_id = pid[:25] + pid[34:]
    return _item(
        "landsat-c2-l2",
        item_id,
        geometry,
        assets,
        datetime=date,
        platform=platform,
        **{"eo:cloud_cover": cloud},
    )


def _config(tmp_path, services):
    config = {
        "grid": {"tile_km": 6, "mode": "aoi", "aoi_bbox": [114.169, 41.64, 114.282, 41.71]},
        "years": [2021],
        "acquire": {**local_provider(services.api_url), "retries": 0},
    }
    path = tmp_path / "acquire.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_acquire_writes_the_inventories_of_the_tiles_and_year(stac_services, tmp_path):
    other = PID.replace("20210614_20210624", "20210530_20210608")
    cloudy = PID.replace("20210614_20210624", "20210716_20210725")
    items = [
        _landsat(PID, GEOMETRY),
        _landsat(other, FAR),  # elsewhere
        _landsat(cloudy, GEOMETRY, cloud=95.0),  # over acquire's max_cloud_cover (80)
        _landsat(PID.replace("LC08", "LE07"), GEOMETRY, platform="landsat-7"),  # not asked for
        _item(
            MODIS_COLLECTION,
            "MOD09Q1.A2021161.h26v04.061.NDVI",
            GEOMETRY,
            {"ndvi": "http://example.org/m.tif"},
            datetime=None,
            start_datetime="2021-06-10T00:00:00Z",
            end_datetime="2021-06-17T23:59:59Z",
        ),
    ]
    stac_services.load([collection("landsat-c2-l2", "t"), collection(MODIS_COLLECTION, "t")], items)
    out = tmp_path / "acquire"
    assert (
        main(["acquire", "--configfile", str(_config(tmp_path, stac_services)), "-o", str(out)])
        == 0
    )
    landsat = pd.read_csv(out / "2021/landsat_inventory.csv")
    assert landsat["id"].tolist() == [PID]
    assert landsat["bands"].tolist() == ["QA_PIXEL;SR_B4;SR_B5"]
    modis = pd.read_csv(out / "2021/modis_inventory.csv")
    assert modis["date"].tolist() == ["2021-06-10"]


def test_an_item_missing_an_asset_key_stops_naming_it(stac_services, tmp_path, capsys):
    pid = PID.replace("20210614_20210624", "20210817_20210826")
    stac_services.load([collection("landsat-c2-l2", "t")], [_landsat(pid, GEOMETRY, keys=("red",))])
    out = tmp_path / "acquire"
    assert (
        main(["acquire", "--configfile", str(_config(tmp_path, stac_services)), "-o", str(out)])
        == 2
    )
    err = capsys.readouterr().err
    assert "LC08_L2SP_124031_20210817_02_T1" in err and "'nir08'" in err
    assert "acquire.providers" in err
    assert not (out / "2021/landsat_inventory.csv").exists()
