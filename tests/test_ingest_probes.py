"""The fault probe's input cases on hand-made scenes: a mislabelled CRS, a missing scale tag,
truncated bands under ``ingest.bad_scene: fail`` and ``skip``."""

import json
import logging

import numpy as np
import pandas as pd
import pytest
import rasterio
from _ingest_scenes import CLEAR, NIR_DN, OTHER_SR, RED_DN, TILE, ingest_scenes, write_scene
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

from agrifactory.errors import InputError
from agrifactory.ingest.qa import NO_MTL, NO_SCALE_TAG, NO_VALID_PIXELS, QA_COLUMNS, UNREADABLE
from agrifactory.io import landsat as l8
from agrifactory.io import modis
from agrifactory.io.inventory import scan_landsat, scan_modis, validate_inventory
from agrifactory.io.landsat_mtl import SR_GROUP
from agrifactory.io.raster import read_stack, write_raster

PIDS = ("LC08_L2SP_124031_20210614_20210624_02_T1", "LC08_L2SP_124031_20210630_20210710_02_T1")
COMPOSITES = ("MOD09Q1.A2021161.h26v04.061.NDVI.tif", "MOD09Q1.A2021169.h26v04.061.NDVI.tif")


def _noisy(w, h):
    """Incompressible reflectance, so a truncated file loses data blocks, not only its header."""
    return np.random.default_rng(0).integers(9000, 12000, (h, w))


def _modis(path, *, crs="EPSG:4326", tags=True):
    lon0, _, _, lat1 = transform_bounds(TILE.grid().crs, "EPSG:4326", *TILE.bounds)
    write_raster(
        path,
        np.full((40, 60), 5000, np.int16),
        transform=from_origin(lon0 - 0.01, lat1 + 0.01, 1 / 480, 1 / 480),
        crs=crs,
        nodata=-3000,
        tags={modis.SCALE_TAG: modis.NDVI_SCALE} if tags else None,
    )


@pytest.fixture()
def world(tmp_path):
    """Two Landsat dates and two tagged MODIS composites over the tile, and their inventory."""
    for pid in PIDS:
        bands = {"SR_B4": _noisy, "SR_B5": NIR_DN, **OTHER_SR, "QA_PIXEL": CLEAR, "QA_RADSAT": 0}
        write_scene(tmp_path / "landsat", pid, bands)
    for name in COMPOSITES:
        _modis(tmp_path / "modis" / name)
    inv = pd.concat([scan_landsat(tmp_path / "landsat"), scan_modis(tmp_path / "modis")])
    return validate_inventory(inv.reset_index(drop=True), "test"), tmp_path


def _ingest(inv, root, **settings):
    table, out = ingest_scenes(inv, root, **settings)
    return table, pd.read_csv(out["qa"], keep_default_na=False), out


def test_clean_inputs_leave_an_empty_qa_table(world):
    inv, root = world
    _, qa, _ = _ingest(inv, root)
    assert list(qa.columns) == QA_COLUMNS and qa.empty


def test_mislabelled_crs_is_a_warning_and_a_qa_record(world, caplog):
    # Degrees tagged as Web Mercator metres: the warp finds nothing over the tile.
    inv, root = world
    bad = root / "modis" / COMPOSITES[1]
    _modis(bad, crs="EPSG:3857")
    with caplog.at_level(logging.WARNING, logger="agrifactory"):
        table, qa, out = _ingest(inv, root)
    (record,) = qa.to_dict("records")
    assert record["problem"] == NO_VALID_PIXELS and record["file"] == str(bad)
    assert "EPSG:3857" in record["detail"] and "miss the tile" in record["detail"]
    assert any(COMPOSITES[1] in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    # The good composite is still there; the bad date is empty.
    assert table.query("sensor == 'modis'")["valid_fraction"].tolist() == [1.0, 0.0]
    stack, _, _ = read_stack(out["modis_ndvi"])
    assert np.isfinite(stack[0]).all() and np.isnan(stack[1]).all()


def test_missing_scale_tag_uses_the_default_with_a_warning_and_a_record(world, caplog):
    inv, root = world
    untagged = root / "modis" / COMPOSITES[0]
    _modis(untagged, tags=False)
    with caplog.at_level(logging.WARNING, logger="agrifactory"):
        _, qa, out = _ingest(inv, root)
    (record,) = qa.to_dict("records")
    assert record["problem"] == NO_SCALE_TAG and record["file"] == str(untagged)
    assert f"{modis.NDVI_SCALE:g}" in record["detail"]
    assert any(
        COMPOSITES[0] in r.getMessage() and NO_SCALE_TAG in r.getMessage() for r in caplog.records
    )
    stack, _, _ = read_stack(out["modis_ndvi"])
    np.testing.assert_allclose(stack[0], 5000 * modis.NDVI_SCALE, rtol=1e-6)


def _truncate(path, keep):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep) if keep < 1 else keep])


def test_truncated_band_fails_naming_the_file_under_fail(world):
    inv, root = world
    bad = root / "landsat" / PIDS[1] / f"{PIDS[1]}_SR_B4.TIF"
    _truncate(bad, 300)
    with pytest.raises(InputError, match=f"{bad.name}.*ingest.bad_scene: skip"):
        _ingest(inv, root)
    assert not list((root / "out").glob("*.tif"))  # checked before any stack is written


@pytest.mark.parametrize("keep", [300, 0.6], ids=["header", "data blocks"])
def test_truncated_band_is_skipped_and_recorded_under_skip(world, keep):
    inv, root = world
    bad = root / "landsat" / PIDS[1] / f"{PIDS[1]}_SR_B4.TIF"
    _truncate(bad, keep)
    if keep < 1:  # the header still opens: the damage shows only when the data are read
        with rasterio.open(bad) as src:
            assert src.width > 0
    table, qa, out = _ingest(inv, root, bad_scene="skip")
    (record,) = qa.to_dict("records")
    assert record["problem"] == UNREADABLE and record["id"] == PIDS[1]
    assert record["file"] == str(bad) and "skipped" in record["detail"]
    # The tile completes: the good date has data, the skipped one is empty.
    ndvi, dates, _ = read_stack(out["landsat_ndvi"])
    assert np.isfinite(ndvi[0]).all()
    if keep < 1:  # skipped while warping: its date stays, empty
        assert len(dates) == 2 and np.isnan(ndvi[1]).all()
        assert table.query("sensor == 'landsat'")["valid_fraction"].tolist() == [1.0, 0.0]
    else:  # skipped before any work: its date is left out
        assert len(dates) == 1 and table.query("sensor == 'landsat'")["ids"].tolist() == [PIDS[0]]


def test_an_unreadable_composite_is_skipped_under_skip(world):
    inv, root = world
    bad = root / "modis" / COMPOSITES[0]
    bad.unlink()
    table, qa, _ = _ingest(inv, root, bad_scene="skip")
    assert qa["problem"].tolist() == [UNREADABLE] and qa["file"].tolist() == [str(bad)]
    assert "file not found" in qa["detail"].iloc[0]
    assert table.query("sensor == 'modis'")["ids"].tolist() == [COMPOSITES[1].removesuffix(".tif")]


def test_scenes_are_scaled_by_their_mtl_or_by_the_constants_with_a_record(tmp_path, caplog):
    # Scene 0's metadata file says NIR DN x 5e-5 - 0.2; scene 1 has no metadata file.
    for pid, mtl in zip(PIDS, (True, False), strict=True):
        bands = {"SR_B4": RED_DN, "SR_B5": NIR_DN, **OTHER_SR, "QA_PIXEL": CLEAR, "QA_RADSAT": 0}
        write_scene(tmp_path / "landsat", pid, bands, mtl=mtl)
    path = tmp_path / "landsat" / PIDS[0] / f"{PIDS[0]}_MTL.json"
    doc = json.loads(path.read_text())
    doc["LANDSAT_METADATA_FILE"][SR_GROUP]["REFLECTANCE_MULT_BAND_5"] = "5e-05"
    path.write_text(json.dumps(doc))
    for name in COMPOSITES:
        _modis(tmp_path / "modis" / name)
    inv = pd.concat([scan_landsat(tmp_path / "landsat"), scan_modis(tmp_path / "modis")])
    assert inv["bands"].tolist()[:2] == [
        "MTL;QA_PIXEL;QA_RADSAT;SR_B2;SR_B3;SR_B4;SR_B5;SR_B6;SR_B7",
        "QA_PIXEL;QA_RADSAT;SR_B2;SR_B3;SR_B4;SR_B5;SR_B6;SR_B7",
    ]
    with caplog.at_level(logging.WARNING, logger="agrifactory"):
        _, qa, out = _ingest(validate_inventory(inv.reset_index(drop=True), "test"), tmp_path)
    (record,) = qa.to_dict("records")
    assert (record["id"], record["problem"]) == (PIDS[1], NO_MTL)
    assert record["file"] == str(tmp_path / "landsat" / PIDS[1])
    assert any(NO_MTL in r.getMessage() and PIDS[1] in r.getMessage() for r in caplog.records)
    nir, _, _ = read_stack(out["landsat_nir"])
    red, _, _ = read_stack(out["landsat_red"])
    # 21818 x 5e-5 - 0.2 = 0.8909 (the file's scale); 21818 x 2.75e-5 - 0.2 = 0.399995 (constants)
    np.testing.assert_allclose(nir[0], 0.8909, rtol=1e-6)
    np.testing.assert_allclose(nir[1], 0.399995, rtol=1e-6)
    assert np.unique(red).tolist() == [l8.reflectance(np.array([RED_DN]))[0]]
