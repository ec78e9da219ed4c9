"""MOD09Q1 and MOD13Q1 composites as the ingest reads them: NDVI with the quality layer applied."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from _ingest_scenes import TILE, utm_grid

from agrifactory.errors import InputError
from agrifactory.ingest.qa import NO_VALID_PIXELS, QC_ALL_BAD, QaLog
from agrifactory.ingest.scenes import read_modis_composite
from agrifactory.io.raster import write_raster

# MOD09Q1 reflectance DN x 1e-4: red 0.1, NIR 0.4 -> NDVI (0.4 - 0.1) / 0.5 = 0.6.
RED_DN, NIR_DN = 1000, 4000
# sur_refl_qc_250m: MODLAND 0 "ideal quality", cloud state 0 clear, both bands' quality 0,
# bit 12 "atmospheric correction performed" set: 1 << 12 = 4096.
QC_GOOD = 4096
# The same with cloud state (bits 2-3) = 1, "cloudy": 4096 + (1 << 2) = 4100.
QC_CLOUDY = 4100


def _write(path, value, dtype):
    transform, w, h = utm_grid()
    data = np.full((h, w), value, dtype)
    write_raster(path, data, transform=transform, crs="EPSG:32650", nodata=None)
    return str(path)


def _row(tmp_path, name, assets):
    files = {k: _write(tmp_path / f"{name}_{k}.tif", v, t) for k, (v, t) in assets.items()}
    return pd.Series(
        {
            "sensor": "modis",
            "id": f"MOD09Q1.A2021161.h26v04.061.{name}",
            "date": dt.date(2021, 6, 10),
            "path": f"https://example.org/items/{name}",
            "bands": ";".join(sorted(files)),
            "assets": json.dumps(files),
        }
    )


def test_mod09q1_good_qc_gives_the_ndvi_of_the_reflectances(tmp_path):
    row = _row(
        tmp_path,
        "good",
        {"red": (RED_DN, np.int16), "nir": (NIR_DN, np.int16), "qc": (QC_GOOD, np.uint16)},
    )
    qa = QaLog(TILE.id, 2021)
    ndvi = read_modis_composite(row, TILE.grid(), qa)
    assert ndvi.shape == TILE.grid().shape
    np.testing.assert_allclose(ndvi, 0.6, atol=1e-6)
    assert qa.records == []


def test_mod09q1_all_cloudy_is_a_qa_record_and_the_date_is_nan(tmp_path):
    row = _row(
        tmp_path,
        "cloudy",
        {"red": (RED_DN, np.int16), "nir": (NIR_DN, np.int16), "qc": (QC_CLOUDY, np.uint16)},
    )
    qa = QaLog(TILE.id, 2021)
    ndvi = read_modis_composite(row, TILE.grid(), qa)
    assert np.isnan(ndvi).all()
    (record,) = qa.records
    assert record["problem"] == QC_ALL_BAD
    assert record["file"].endswith("cloudy_qc.tif")
    assert f"all {TILE.grid().shape[0] * TILE.grid().shape[1]} pixels" in record["detail"]


def test_mod13q1_reliability_keeps_good_and_marginal_only(tmp_path):
    good = _row(tmp_path, "m13good", {"ndvi": (6000, np.int16), "reliability": (1, np.int8)})
    snow = _row(tmp_path, "m13snow", {"ndvi": (6000, np.int16), "reliability": (2, np.int8)})
    qa = QaLog(TILE.id, 2021)
    np.testing.assert_allclose(read_modis_composite(good, TILE.grid(), qa), 0.6, atol=1e-6)
    assert np.isnan(read_modis_composite(snow, TILE.grid(), qa)).all()
    assert [r["problem"] for r in qa.records] == [QC_ALL_BAD]


def test_fill_everywhere_is_no_valid_pixels_not_qc(tmp_path):
    # -28672 is MOD09Q1's fill; with it as the file's nodata the warp gives NaN.
    transform, w, h = utm_grid()
    files = {}
    for name, value in (("red", -28672), ("nir", -28672), ("qc", 0)):
        path = tmp_path / f"fill_{name}.tif"
        nodata = -28672 if name != "qc" else None
        write_raster(
            path,
            np.full((h, w), value, np.int16),
            transform=transform,
            crs="EPSG:32650",
            nodata=nodata,
        )
        files[name] = str(path)
    row = pd.Series(
        {
            "id": "MOD09Q1.A2021161.h26v04.061.fill",
            "date": dt.date(2021, 6, 10),
            "path": "x",
            "assets": json.dumps(files),
        }
    )
    qa = QaLog(TILE.id, 2021)
    assert np.isnan(read_modis_composite(row, TILE.grid(), qa)).all()
    assert [r["problem"] for r in qa.records] == [NO_VALID_PIXELS]


def test_an_unknown_asset_set_names_the_item(tmp_path):
    row = _row(tmp_path, "odd", {"red": (RED_DN, np.int16), "nir": (NIR_DN, np.int16)})
    with pytest.raises(InputError, match="lists the assets \\['nir', 'red'\\]"):
        read_modis_composite(row, TILE.grid(), QaLog(TILE.id, 2021))


def test_scanned_mod09q1_layers_make_one_row_the_ingest_reads(tmp_path):
    from agrifactory.io.inventory import from_records, read_inventory, scan_modis, write_inventory

    stem = "MOD09Q1.A2021161.h26v04.061.2021170041532"
    _write(tmp_path / f"{stem}.sur_refl_b01.tif", RED_DN, np.int16)
    _write(tmp_path / f"{stem}.sur_refl_b02.tif", NIR_DN, np.int16)
    _write(tmp_path / f"{stem}.sur_refl_qc_250m.tif", QC_GOOD, np.uint16)
    table = scan_modis(tmp_path)
    assert table["id"].tolist() == ["MOD09Q1.A2021161.h26v04.061"]
    assert table["bands"].tolist() == ["nir;qc;red"]
    write_inventory(table, tmp_path / "inv.csv")
    records = read_inventory(tmp_path / "inv.csv").drop(columns=["geometry", "footprint"])
    row = from_records(records.astype({"date": str}).to_dict("records")).iloc[0]
    ndvi = read_modis_composite(row, TILE.grid(), QaLog(TILE.id, 2021))
    np.testing.assert_allclose(ndvi, 0.6, atol=1e-6)


def test_a_granule_missing_a_layer_is_named_when_scanned(tmp_path):
    from agrifactory.io.inventory import scan_modis

    stem = "MOD09Q1.A2021161.h26v04.061"
    _write(tmp_path / f"{stem}.sur_refl_b01.tif", RED_DN, np.int16)
    _write(tmp_path / f"{stem}.sur_refl_qc_250m.tif", QC_GOOD, np.uint16)
    with pytest.raises(InputError, match="granule MOD09Q1.A2021161.h26v04.061 has the layers"):
        scan_modis(tmp_path)


def test_a_mod13q1_ndvi_file_beside_its_reliability_is_one_granule(tmp_path):
    from agrifactory.io.inventory import scan_modis

    stem = "MOD13Q1.A2021161.h26v04.061"
    _write(tmp_path / f"{stem}.NDVI.tif", 6000, np.int16)
    _write(tmp_path / f"{stem}.pixel_reliability.tif", 0, np.int8)
    table = scan_modis(tmp_path)
    assert table["id"].tolist() == [stem] and table["bands"].tolist() == ["ndvi;reliability"]


def test_an_untagged_ndvi_file_takes_the_given_scale_and_is_recorded(tmp_path):
    # DN 3000 x the profile's 2e-4 = 0.6 (the documented 1e-4 would give 0.3).
    row = _row(tmp_path, "untagged", {"ndvi": (3000, np.int16)})
    qa = QaLog(TILE.id, 2021)
    np.testing.assert_allclose(read_modis_composite(row, TILE.grid(), qa, 2e-4), 0.6, atol=1e-6)
    (record,) = qa.records
    assert (
        record["problem"] == "no_scale_tag" and record["detail"] == "scaled by the default 0.0002"
    )
