"""The demo scenes' green and SWIR bands: old bands unchanged, crops' signatures, files."""

import datetime as dt
import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest
import rasterio

from agrifactory import legend
from agrifactory.grid import Tile
from agrifactory.io import landsat as l8
from agrifactory.synthetic.landsat import SCENE_FILES, plan_scenes, render_scene, write_scene
from agrifactory.synthetic.spectra import EXTRA_BANDS, SIGNATURES, extra_bands
from agrifactory.synthetic.world import WorldSpec, build_world

SPEC = WorldSpec(tiles=(Tile(625, 245, 6),), year=2021, seed=7, margin_km=0.6)
OLD_BANDS = ("blue", "red", "nir", "thermal", "qa_pixel", "qa_radsat")
# SHA-256 of the world's arrays and of the old bands of every 2021 scene, computed with the
# generator before green and SWIR existed (commit 40adfc7), on this repository's numpy.
WORLD_SHA = "7955ba8a5dd7d33f87dbe18d103432e2d939bcd950ff9695be1aafe2b328e7c2"
SCENES_SHA = "d55cd9dea24914b5a5b51039ffa691c482a9ce85d2ef11aa0fd473368379d331"


@pytest.fixture(scope="module")
def world():
    return build_world(SPEC)


def _plans():
    return plan_scenes(2021, dt.date(2021, 1, 5), 16, 0, (124, 31))


def test_world_and_old_bands_are_byte_identical_to_the_generator_before(world):
    h = hashlib.sha256()
    for k in ("landcover", "croptype", "irrigation", "field_id", "elevation", "region"):
        h.update(np.ascontiguousarray(getattr(world, k)).tobytes())
    h.update(np.ascontiguousarray(world.brightness).tobytes())
    for k in sorted(world.params):
        h.update(np.ascontiguousarray(world.params[k]).tobytes())
    assert h.hexdigest() == WORLD_SHA
    h = hashlib.sha256()
    for p in _plans():  # 23 scenes: clouds, shadows, snow, haze, a gap, saturation
        bands = render_scene(world, p.date, p.product_id)
        for k in OLD_BANDS:
            h.update(np.ascontiguousarray(bands[k]).tobytes())
    assert h.hexdigest() == SCENES_SHA


def _field_means(world, bands, crop):
    sel = world.croptype == legend.code_of(legend.CROPTYPE, crop)
    return {k: float(np.mean(bands[k][sel])) for k in ("green", "nir", "swir1", "red")}


def _clear_sky(world, date):
    """Red, NIR (as render_scene makes them) and the new bands of a date without atmosphere."""
    ndvi = world.ndvi(date)
    red = world.brightness * (1.0 - ndvi) / 2.0
    nir = world.brightness * (1.0 + ndvi) / 2.0
    return {"red": red, "nir": nir, **extra_bands(world, date, ndvi, red, nir, "test")}


def test_new_bands_are_float32_reflectance_and_deterministic(world):
    p = _plans()[12]
    a = render_scene(world, p.date, p.product_id)
    b = render_scene(world, p.date, p.product_id)
    for k in EXTRA_BANDS:
        assert a[k].dtype == np.float32 and a[k].shape == world.grid.shape
        np.testing.assert_array_equal(a[k], b[k])
        valid = a[k][np.isfinite(a[k])]
        # Dark water's SWIR plus noise may dip below 0, as Collection 2 SR does.
        assert -0.03 <= valid.min() and valid.max() <= 1.0


def test_canopy_water_and_dry_down_order_the_rainfed_crops(world):
    ratio = {}
    for doy in (200, 230, 250):
        bands = _clear_sky(world, dt.date(2021, 1, 1) + dt.timedelta(days=doy - 1))
        for crop in ("potato", "oat", "wheat", "flax"):
            m = _field_means(world, bands, crop)
            ratio[crop, doy] = m["swir1"] / m["nir"]
    # Irrigated potato's full canopy holds more water (lower SWIR1/NIR) than the sparse
    # cereals, whose soil shows through.
    assert ratio["potato", 200] < min(ratio["oat", 200], ratio["wheat", 200]) - 0.3
    # Wheat dries (ripe straw, bright in SWIR) in the weeks before DOY 250, before oat.
    assert ratio["wheat", 250] > ratio["wheat", 230] + 0.05
    assert ratio["wheat", 250] > ratio["oat", 250] + 0.08
    assert ratio["oat", 250] < ratio["flax", 250] < ratio["wheat", 250]


@pytest.mark.parametrize(("crop", "sign"), [("sunflower", 1), ("flax", -1)])
def test_flowering_shows_in_green_at_bloom(world, crop, sign):
    sel = world.croptype == legend.code_of(legend.CROPTYPE, crop)
    t1 = float(np.median(world.params["t1"][sel]))
    bloom = dt.date(2021, 1, 1) + dt.timedelta(days=round(t1 + SIGNATURES[crop].flower_lag) - 1)
    assert np.all(np.sign(world.spectra.flower[sel]) == sign)
    ndvi = world.ndvi(bloom)
    red = world.brightness * (1.0 - ndvi) / 2.0
    nir = world.brightness * (1.0 + ndvi) / 2.0
    no_bloom = replace(world.spectra, flower=np.zeros_like(world.spectra.flower))
    green = {
        t: extra_bands(world, bloom, ndvi, red, nir, "test", traits)["green"][sel].mean()
        for t, traits in (("bloom", None), ("none", no_bloom))
    }
    # Same noise stream: the difference is the flowers' alone, a few hundredths at most.
    assert 0.003 < sign * (green["bloom"] - green["none"]) < 0.04


def test_scene_files_carry_the_new_bands_and_the_mtl_lists_them(world, tmp_path):
    p = _plans()[12]
    written = write_scene(tmp_path, p, world)
    names = {w.name.removeprefix(p.product_id + "_") for w in written}
    assert {"SR_B3.TIF", "SR_B6.TIF", "SR_B7.TIF"} <= names and len(SCENE_FILES) == 9
    with rasterio.open(tmp_path / p.product_id / f"{p.product_id}_SR_B6.TIF") as src:
        dn = src.read(1)
        assert src.dtypes[0] == "uint16" and src.nodata == 0
    refl = l8.reflectance(dn[dn > 0].astype(np.float64))
    assert 0.0 < np.median(refl) < 0.5
    mtl = json.loads((tmp_path / p.product_id / f"{p.product_id}_MTL.json").read_text())
    text = json.dumps(mtl)
    for n in (3, 6, 7):
        assert f"FILE_NAME_BAND_{n}" in text and f"REFLECTANCE_MULT_BAND_{n}" in text
