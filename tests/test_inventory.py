"""Inventories: discovery from folders, validation, selection per tile and time."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import shapely
from rasterio.transform import from_origin

from agrifactory.errors import InputError
from agrifactory.grid import Tile
from agrifactory.io import inventory
from agrifactory.io.modis import (
    composite_containing,
    composite_dates,
    composite_starts,
    date_from_name,
)
from agrifactory.io.raster import write_raster

TILE = Tile(624, 246, 6)


def _utm_file(path, value=10000):
    # 30 km x 30 km around the tile in UTM 50N.
    write_raster(
        path,
        np.full((100, 100), value, np.uint16),
        transform=from_origin(250_000, 4_620_000, 300, 300),
        crs="EPSG:32650",
        nodata=0,
    )


def test_scan_landsat_finds_scenes_and_their_bands(tmp_path):
    for pid in (
        "LC08_L2SP_124031_20210614_20210624_02_T1",
        "LC08_L2SP_124031_20210630_20210710_02_T1",
    ):
        for band in ("SR_B4", "SR_B5", "QA_PIXEL"):
            _utm_file(tmp_path / "landsat" / pid / f"{pid}_{band}.TIF")
    # A scene without QA_PIXEL is still found; its row says which files it has.
    pid = "LC08_L2SP_124031_20210716_20210726_02_T1"
    for band in ("SR_B4", "SR_B5"):
        _utm_file(tmp_path / "landsat" / pid / f"{pid}_{band}.TIF")
    (tmp_path / "landsat" / "README.txt").write_text("not a scene")
    table = inventory.scan_landsat(tmp_path / "landsat")
    assert list(table["date"]) == ["2021-06-14", "2021-06-30", "2021-07-16"]
    assert list(table["bands"]) == ["QA_PIXEL;SR_B4;SR_B5", "QA_PIXEL;SR_B4;SR_B5", "SR_B4;SR_B5"]
    inventory.write_inventory(table, tmp_path / "inv.csv")
    back = inventory.read_inventory(tmp_path / "inv.csv")
    assert back["date"].iloc[0] == dt.date(2021, 6, 14)
    files = inventory.landsat_files(back.iloc[2], ["red", "nir", "QA_PIXEL"])
    assert sorted(files) == ["nir", "red"] and files["red"].endswith("_SR_B4.TIF")


def test_scan_modis_reads_dates_from_names(tmp_path):
    _utm_file(tmp_path / "MOD09Q1.A2021201.h26v04.061.NDVI.tif")
    table = inventory.scan_modis(tmp_path)
    assert table["date"].tolist() == ["2021-07-20"]
    (tmp_path / "undated.tif").write_bytes(b"")
    with pytest.raises(InputError, match=r"undated.tif: no MODIS date \(.AYYYYDDD.\)"):
        inventory.scan_modis(tmp_path)


def test_missing_folders_are_named(tmp_path):
    with pytest.raises(InputError, match="nowhere: Landsat directory not found"):
        inventory.scan_landsat(tmp_path / "nowhere")


def _table(**overrides):
    row = {
        "sensor": "landsat",
        "id": "LC08_L2SP_124031_20210614_20210624_02_T1",
        "date": "2021-06-14",
        "path": "x",
        "bands": "SR_B4",
        "footprint": "POLYGON ((114 41, 115 41, 115 42, 114 42, 114 41))",
    }
    row.update(overrides)
    return pd.DataFrame([row])


def test_validation_names_the_bad_row(tmp_path):
    with pytest.raises(InputError, match="row 2: date '2021-13-01' is not YYYY-MM-DD"):
        inventory.validate_inventory(_table(date="2021-13-01"), "inv.csv")
    with pytest.raises(InputError, match="unknown sensor 'sentinel'"):
        inventory.validate_inventory(_table(sensor="sentinel"), "inv.csv")
    with pytest.raises(InputError, match="duplicate id"):
        inventory.validate_inventory(pd.concat([_table(), _table()]), "inv.csv")
    path = tmp_path / "inv.csv"
    _table().drop(columns=["bands"]).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"missing column\(s\) \['bands'\]"):
        inventory.read_inventory(path)


def test_select_by_tile_and_time_window():
    far = "POLYGON ((100 30, 101 30, 101 31, 100 31, 100 30))"
    table = inventory.validate_inventory(
        pd.concat(
            [
                _table(),
                _table(id="LC08_L2SP_124031_20201101_20201111_02_T1", date="2020-11-01"),
                _table(
                    id="LC08_L2SP_124031_20210630_20210710_02_T1", date="2021-06-30", footprint=far
                ),
            ],
            ignore_index=True,
        ),
        "t",
    )
    start, end = inventory.year_window(2021, 40)
    assert (start, end) == (dt.date(2020, 11, 22), dt.date(2022, 2, 9))
    sel = inventory.select(table, TILE, "landsat", start, end)
    assert sel["id"].tolist() == ["LC08_L2SP_124031_20210614_20210624_02_T1"]


def test_equal_footprints_are_parsed_and_projected_once():
    # Rows with one footprint text share one geometry; the projection of each row is the
    # one the row gets on its own (the all-China DAG parses ~600 distinct of 35,000).
    far = "POLYGON ((100 30, 101 30, 101 31, 100 31, 100 30))"
    ids = [f"LC08_L2SP_124031_2021{m:02d}14_2021{m:02d}24_02_T1" for m in (3, 4, 5)]
    rows = [_table(id=i, date=f"2021-{m:02d}-14") for i, m in zip(ids, (3, 4, 5), strict=True)]
    rows.insert(1, _table(id="LC08_L2SP_130040_20210614_20210624_02_T1", footprint=far))
    table = inventory.validate_inventory(pd.concat(rows, ignore_index=True), "t")
    geoms = table["geometry"].tolist()
    assert geoms[0] is geoms[2] is geoms[3]
    assert geoms[1] is not geoms[0]
    projected = inventory.albers_footprints(table, max_segment_deg=0.25)
    for i in range(len(table)):
        alone = inventory.albers_footprints(table.iloc[[i]], max_segment_deg=0.25)
        assert shapely.equals_exact(projected[i], alone[0], tolerance=0)
    assert shapely.equals_exact(projected[0], projected[3], tolerance=0)
    assert not shapely.equals_exact(projected[0], projected[1], tolerance=1.0)


def test_modis_calendar_worked_by_hand():
    starts = composite_starts(2021)
    assert (
        len(starts) == 46
        and starts[0] == dt.date(2021, 1, 1)
        and starts[-1] == dt.date(2021, 12, 27)
    )
    assert len(composite_starts(2020)) == 46  # leap year: still DOY 1..361
    assert composite_containing(dt.date(2021, 1, 16)) == dt.date(2021, 1, 9)
    assert composite_dates(2021, 10)[0] == dt.date(2020, 12, 26)  # DOY 361 of 2020
    assert date_from_name("MOD09Q1.A2021201.h26v04.061.NDVI.tif") == dt.date(2021, 7, 20)


def test_scan_reads_every_band_header_not_only_one(tmp_path):
    pid = "LC08_L2SP_124031_20210614_20210624_02_T1"
    for band in ("SR_B4", "SR_B5", "QA_PIXEL"):
        _utm_file(tmp_path / "landsat" / pid / f"{pid}_{band}.TIF")
    assert len(inventory.scan_landsat(tmp_path / "landsat")) == 1
    bad = tmp_path / "landsat" / pid / f"{pid}_QA_PIXEL.TIF"
    bad.write_bytes(bad.read_bytes()[:300])  # the footprint comes from SR_B4, which is fine
    with pytest.raises(InputError, match=f"{bad.name}: cannot be read as a raster"):
        inventory.scan_landsat(tmp_path / "landsat")


def test_scan_counts_composites_without_a_scale_tag(tmp_path, caplog):
    _utm_file(tmp_path / "MOD09Q1.A2021201.h26v04.061.NDVI.tif")
    with caplog.at_level("WARNING", logger="agrifactory"):
        inventory.scan_modis(tmp_path)
    assert "1 of 1 MODIS composites have no 'scale_factor' tag" in caplog.text
    assert "MOD09Q1.A2021201.h26v04.061.NDVI.tif" in caplog.text


def test_degrees_under_a_metric_crs_tag_are_refused_at_the_scan(tmp_path):
    # A composite on a 0.0025 degree grid over the demo area, tagged Web Mercator
    # without being reprojected: its footprint would fall near (0, 0) and cover no tile.
    path = tmp_path / "MOD09Q1.A2021201.h26v04.061.NDVI.tif"
    write_raster(
        path,
        np.full((40, 40), 5000, np.int16),
        transform=from_origin(114.0, 41.7, 0.0025, 0.0025),
        crs="EPSG:3857",
        nodata=-3000,
    )
    with pytest.raises(InputError, match=r"EPSG:3857\) is projected but the pixels are 0.0025"):
        inventory.scan_modis(tmp_path)


def test_scan_notes_and_checks_the_metadata_file(tmp_path):
    from agrifactory.io.landsat import parse_product_id
    from agrifactory.io.landsat_mtl import write_mtl_json

    pid = "LC08_L2SP_124031_20210614_20210624_02_T1"
    for band in ("SR_B4", "SR_B5"):
        _utm_file(tmp_path / "landsat" / pid / f"{pid}_{band}.TIF")
    mtl = write_mtl_json(tmp_path / "landsat" / pid, parse_product_id(pid), ["SR_B4", "SR_B5"])
    table = inventory.scan_landsat(tmp_path / "landsat")
    assert table["bands"].tolist() == ["MTL;SR_B4;SR_B5"]
    files = inventory.landsat_files(table.iloc[0], ["red", "nir"])  # MTL is no band file
    assert sorted(files) == ["nir", "red"]
    # Another scene's metadata file, or one without the NIR band's scaling, is named at the scan.
    other = parse_product_id("LC08_L2SP_124031_20210630_20210710_02_T1")
    mtl.write_text(mtl.read_text().replace(pid, other.text))
    with pytest.raises(InputError, match=f"{mtl.name}: LANDSAT_PRODUCT_ID is {other.text}"):
        inventory.scan_landsat(tmp_path / "landsat")
    write_mtl_json(tmp_path / "landsat" / pid, parse_product_id(pid), ["SR_B4"])
    with pytest.raises(InputError, match=f"{mtl.name}: no scale/offset for band SR_B5"):
        inventory.scan_landsat(tmp_path / "landsat")
