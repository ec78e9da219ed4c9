"""Ingest on hand-made scenes: warping, QA masking, NDVI, missing files, bad files."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

from agrifactory.errors import DataError, InputError
from agrifactory.grid import Tile
from agrifactory.ingest import IngestParams, ingest_tile, masked_ndvi
from agrifactory.io.inventory import scan_landsat, scan_modis, validate_inventory
from agrifactory.io.raster import read_stack, write_raster

TILE = Tile(624, 246, 6)
# Reflectance 0.1 and 0.4 as Collection 2 DN: (0.1 + 0.2) / 2.75e-5 = 10909.1; (0.4 + 0.2) / 2.75e-5 = 21818.2
RED_DN, NIR_DN = 10909, 21818
RED, NIR = RED_DN * 2.75e-5 - 0.2, NIR_DN * 2.75e-5 - 0.2
NDVI = (NIR - RED) / (NIR + RED)  # 0.6000 to 5 decimals
CLEAR, CLOUD = 21824, 22280


def _utm_grid():
    x0, y0, x1, y1 = transform_bounds(TILE.grid().crs, "EPSG:32650", *TILE.bounds)
    x0, y1 = np.floor(x0 / 30) * 30 - 900, np.ceil(y1 / 30) * 30 + 900
    w, h = int((x1 - x0) // 30) + 60, int((y1 - y0) // 30) + 60
    return from_origin(x0, y1, 30, 30), w, h


def _scene(root, pid, bands):
    transform, w, h = _utm_grid()
    for suffix, value in bands.items():
        data = np.asarray(value(w, h) if callable(value) else np.full((h, w), value), np.uint16)
        write_raster(
            root / pid / f"{pid}_{suffix}.TIF",
            data,
            transform=transform,
            crs="EPSG:32650",
            nodata=None if suffix.startswith("QA") else 0,
        )


def _cloud_right_half(w, h):
    qa = np.full((h, w), CLEAR, np.uint16)
    qa[:, w // 2 :] = CLOUD
    return qa


@pytest.fixture()
def scenes(tmp_path):
    landsat = tmp_path / "landsat"
    _scene(
        landsat,
        "LC08_L2SP_124031_20210614_20210624_02_T1",
        {"SR_B4": RED_DN, "SR_B5": NIR_DN, "QA_PIXEL": _cloud_right_half, "QA_RADSAT": 0},
    )
    _scene(
        landsat,
        "LC08_L2SP_124031_20210630_20210710_02_T1",
        {"SR_B4": RED_DN, "SR_B5": NIR_DN, "QA_RADSAT": 1 << 4},
    )  # NIR (B5) saturated, no QA_PIXEL
    modis_dir = tmp_path / "modis"
    dn = np.full((40, 60), 5000, np.int16)
    dn[:, :30] = -3000
    lon0, _, _, lat1 = transform_bounds(TILE.grid().crs, "EPSG:4326", *TILE.bounds)
    write_raster(
        modis_dir / "MOD09Q1.A2021161.h26v04.061.NDVI.tif",
        dn,
        transform=from_origin(lon0 - 0.01, lat1 + 0.01, 1 / 480, 1 / 480),
        crs="EPSG:4326",
        nodata=-3000,
    )
    inv = pd.concat([scan_landsat(landsat), scan_modis(modis_dir)], ignore_index=True)
    return validate_inventory(inv, "test"), tmp_path


def _outputs(root):
    names = [
        "landsat_blue",
        "landsat_red",
        "landsat_nir",
        "landsat_thermal",
        "landsat_qa_pixel",
        "landsat_qa_radsat",
        "landsat_ndvi",
        "modis_ndvi",
    ]
    return {
        **{n: root / "out" / f"{n}.tif" for n in names},
        "inventory": root / "out" / "inventory.csv",
    }


def test_ingest_masks_and_computes_ndvi(scenes):
    inv, root = scenes
    out = _outputs(root)
    table = ingest_tile(
        TILE,
        2021,
        inv[inv.sensor == "landsat"],
        inv[inv.sensor == "modis"],
        out,
        IngestParams(resampling="nearest"),
    )
    ndvi, dates, meta = read_stack(out["landsat_ndvi"])
    assert dates == [dt.date(2021, 6, 14), dt.date(2021, 6, 30)]
    assert (
        meta["crs"] is not None and tuple(meta["transform"])[:6] == tuple(TILE.grid().transform)[:6]
    )
    assert ndvi.shape == (2, 200, 200)
    # Date 1: clear pixels carry the exact NDVI; the cloudy (UTM-east) half is masked.
    clear = np.isfinite(ndvi[0])
    np.testing.assert_allclose(ndvi[0][clear], NDVI, rtol=1e-5)
    assert 0.3 < clear.mean() < 0.7 and clear[:, :20].all() and not clear[:, -20:].any()
    # Date 2: no QA_PIXEL, NIR saturated everywhere -> all masked, and the inventory says why.
    assert np.isnan(ndvi[1]).all()
    row = table.set_index("date").loc["2021-06-30"]
    assert row["missing_files"] == "QA_PIXEL;blue;thermal" and row["saturated_fraction"] == 1.0
    assert (
        abs(table.set_index("date").loc["2021-06-14", "cloud_fraction"] - (1 - clear.mean())) < 1e-9
    )
    red, _, _ = read_stack(out["landsat_red"])
    np.testing.assert_allclose(red[0], RED, rtol=1e-5)  # reflectance stacks are not masked
    qa, _, _ = read_stack(out["landsat_qa_pixel"])
    assert set(np.unique(qa[0])) == {CLEAR, CLOUD}
    modis, mdates, _ = read_stack(out["modis_ndvi"])
    assert mdates == [dt.date(2021, 6, 10)]
    vals = modis[0][np.isfinite(modis[0])]
    assert vals.size and np.allclose(vals, 0.5)  # fill (-3000) became NaN, never a value
    assert np.isnan(modis[0]).any()


def test_corrupt_scene_file_is_named(scenes):
    inv, root = scenes
    bad = next((root / "landsat").rglob("*20210614*_SR_B4.TIF"))
    bad.write_bytes(bad.read_bytes()[:300])
    with pytest.raises(InputError, match="20210614_20210624_02_T1_SR_B4.TIF"):
        ingest_tile(
            TILE, 2021, inv[inv.sensor == "landsat"], inv[inv.sensor == "modis"], _outputs(root)
        )
    assert not (root / "out" / "landsat_ndvi.tif").exists()
    assert not list((root / "out").glob("*.tmp*"))


def test_no_scene_is_a_clear_error(scenes):
    inv, root = scenes
    with pytest.raises(DataError, match="no Landsat scene in the inventory covers it"):
        ingest_tile(TILE, 2021, inv.iloc[0:0], inv[inv.sensor == "modis"], _outputs(root))


def test_masked_ndvi_worked_by_hand():
    red = np.array([0.1, 0.1, 0.0, 0.2])
    nir = np.array([0.4, 0.4, 0.0, 0.2])
    masks = {"cloud": np.array([False, True, False, False])}
    out = masked_ndvi(red, nir, masks, ["cloud"])
    assert out[0] == pytest.approx(0.6) and np.isnan(out[1]) and np.isnan(out[2]) and out[3] == 0.0


def test_unknown_mask_flag_is_refused():
    with pytest.raises(ValueError, match="unknown flag"):
        IngestParams(mask=("cloud", "haze"))
