"""Ingest of the green and SWIR bands: a scene with them, and one without (NaN and a QA record)."""

import numpy as np
import pandas as pd
from _ingest_scenes import CLEAR, NIR_DN, OTHER_SR, RED_DN, TILE, ingest_scenes, write_scene
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

from agrifactory.acquire.rules import BUILTIN_PROVIDERS
from agrifactory.ingest.qa import MISSING_BANDS
from agrifactory.ingest.rules import INGEST_STACKS
from agrifactory.io import landsat as l8
from agrifactory.io import modis
from agrifactory.io.inventory import scan_landsat, scan_modis, validate_inventory
from agrifactory.io.raster import read_stack, write_raster

PIDS = ("LC08_L2SP_124031_20210614_20210624_02_T1", "LC08_L2SP_124031_20210630_20210710_02_T1")
NEW = {"green": "SR_B3", "swir1": "SR_B6", "swir2": "SR_B7"}


def _world(tmp_path):
    base = {"SR_B4": RED_DN, "SR_B5": NIR_DN, "QA_PIXEL": CLEAR, "QA_RADSAT": 0}
    write_scene(tmp_path / "landsat", PIDS[0], {**base, **OTHER_SR})
    write_scene(tmp_path / "landsat", PIDS[1], {**base, "SR_B2": OTHER_SR["SR_B2"]})
    lon0, _, _, lat1 = transform_bounds(TILE.grid().crs, "EPSG:4326", *TILE.bounds)
    write_raster(
        tmp_path / "modis" / "MOD09Q1.A2021161.h26v04.061.NDVI.tif",
        np.full((40, 60), 5000, np.int16),
        transform=from_origin(lon0 - 0.01, lat1 + 0.01, 1 / 480, 1 / 480),
        crs="EPSG:4326",
        nodata=-3000,
        tags={modis.SCALE_TAG: modis.NDVI_SCALE},
    )
    inv = pd.concat([scan_landsat(tmp_path / "landsat"), scan_modis(tmp_path / "modis")])
    return validate_inventory(inv.reset_index(drop=True), "test")


def test_new_stacks_are_ingest_outputs():
    assert {"landsat_green", "landsat_swir1", "landsat_swir2"} <= set(INGEST_STACKS)
    assert [l8.band_suffix("oli", n) for n in NEW] == list(NEW.values())
    assert [l8.band_suffix("tm", n) for n in NEW] == ["SR_B2", "SR_B5", "SR_B7"]


def test_a_scene_with_the_bands_is_read_and_one_without_is_nan_and_recorded(tmp_path):
    table, out = ingest_scenes(_world(tmp_path), tmp_path)
    for name, suffix in NEW.items():
        stack, dates, meta = read_stack(out[f"landsat_{name}"])
        assert len(dates) == 2 and meta["units"] == ["reflectance"] * 2
        expected = OTHER_SR[suffix] * l8.SR_SCALE + l8.SR_OFFSET
        np.testing.assert_allclose(stack[0], expected, rtol=1e-6)  # every pixel: bilinear of one DN
        assert np.isnan(stack[1]).all()
    qa = pd.read_csv(out["qa"], keep_default_na=False)
    (record,) = qa.to_dict("records")  # once per scene, not per band
    assert (record["id"], record["problem"]) == (PIDS[1], MISSING_BANDS)
    assert record["detail"].startswith("no green, swir1, swir2 band file")
    rows = table.query("sensor == 'landsat'")["missing_files"].tolist()
    assert rows == ["thermal", "green;swir1;swir2;thermal"]
    ndvi, _, _ = read_stack(out["landsat_ndvi"])
    assert np.isfinite(ndvi).all()  # the missing bands do not mask NDVI


def test_provider_profiles_name_the_new_assets():
    for name in ("planetary-computer", "earth-search"):
        assets = BUILTIN_PROVIDERS[name].landsat.assets
        assert (assets["green"], assets["swir1"], assets["swir2"]) == ("green", "swir16", "swir22")
