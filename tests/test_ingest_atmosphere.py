"""The Level-2 atmosphere bands as optional masks: Landsat 4-7 haze, Landsat 8-9 aerosol."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from _ingest_scenes import CLEAR, NIR_DN, RED_DN, TILE, make_scenes, write_scene

from agrifactory.ingest.qa import QaLog
from agrifactory.ingest.rules import DEFAULT_MASK, IngestSettings, ingest_outputs
from agrifactory.ingest.scenes import landsat_masks, read_landsat_date
from agrifactory.ingest.tile import ingest_tile
from agrifactory.io.inventory import scan_landsat, validate_inventory

TM = "LT05_L2SP_124031_20090610_20200827_02_T1"
OLI = "LC08_L2SP_124031_20210614_20210624_02_T1"
# TM red and NIR are SR_B3 and SR_B4. Opacity DN 400 = 0.4 > 0.3: hazy; 300 = 0.3: not.
# SR_QA_AEROSOL 194 = bit 1 (valid retrieval, 2) + level 3 in bits 6-7 (192): high.
# 66 = 2 + level 1 (64): low.


def _left_right(left, right):
    def make(w, h):
        out = np.full((h, w), right)
        out[:, : w // 2] = left
        return out

    return make


def _rows(tmp_path, pid, bands):
    write_scene(tmp_path / "landsat", pid, bands)
    return validate_inventory(scan_landsat(tmp_path / "landsat"), "test")


@pytest.mark.parametrize(
    ("pid", "red_nir", "band", "left", "right", "flag"),
    [
        (TM, ("SR_B3", "SR_B4"), "SR_ATMOS_OPACITY", 400, 300, "hazy"),
        (OLI, ("SR_B4", "SR_B5"), "SR_QA_AEROSOL", 194, 66, "high_aerosol"),
    ],
)
def test_an_atmosphere_flag_masks_where_its_band_says(
    tmp_path, pid, red_nir, band, left, right, flag
):
    bands = {red_nir[0]: RED_DN, red_nir[1]: NIR_DN, "QA_PIXEL": CLEAR, "QA_RADSAT": 0}
    rows = _rows(tmp_path, pid, {**bands, band: _left_right(left, right)})
    grid = TILE.grid()
    settings = IngestSettings(mask=(*DEFAULT_MASK, flag))
    scene = read_landsat_date(rows, grid, settings, QaLog(TILE.id, 2021))
    family = "tm" if pid.startswith("LT05") else "oli"
    mask = landsat_masks(scene, family, settings.mask)[flag]
    # The scene is in UTM, the tile in Albers: the mask's edge runs down the tile, and
    # every masked pixel is where the band says so (looked up through the same warp).
    assert 0.2 < mask.mean() < 0.8
    assert (scene.bands[band][mask] == left).all() and (scene.bands[band][~mask] == right).all()
    # Without the flag the band is not even read, and the default masks are unchanged.
    plain = read_landsat_date(rows, grid, IngestSettings(), QaLog(TILE.id, 2021))
    assert band not in plain.bands and flag not in landsat_masks(plain, family, DEFAULT_MASK)


def test_a_scene_without_the_band_is_not_masked_by_its_flag(tmp_path):
    rows = _rows(tmp_path, OLI, {"SR_B4": RED_DN, "SR_B5": NIR_DN, "QA_PIXEL": CLEAR})
    settings = IngestSettings(mask=(*DEFAULT_MASK, "high_aerosol"))
    scene = read_landsat_date(rows, TILE.grid(), settings, QaLog(TILE.id, 2021))
    assert "SR_QA_AEROSOL" in scene.missing
    assert not landsat_masks(scene, "oli", settings.mask)["high_aerosol"].any()


def test_the_flag_reaches_the_ndvi_stack_and_the_inventory(tmp_path):
    bands = {"SR_B4": RED_DN, "SR_B5": NIR_DN, "QA_PIXEL": CLEAR, "QA_RADSAT": 0}
    write_scene(tmp_path / "landsat", OLI, {**bands, "SR_QA_AEROSOL": 194})
    inv, _ = make_scenes(tmp_path / "other")  # its MODIS composite covers the tile
    modis = inv[inv["sensor"] == "modis"]
    landsat = validate_inventory(scan_landsat(tmp_path / "landsat"), "test")
    outputs = ingest_outputs(str(tmp_path / "ingest"))
    settings = IngestSettings(mask=(*DEFAULT_MASK, "high_aerosol"))
    table = ingest_tile(TILE, 2021, landsat, modis, outputs, settings)
    with rasterio.open(outputs["landsat_ndvi"]) as src:
        assert np.isnan(src.read(1)).all()
    row = table[table["sensor"] == "landsat"].iloc[0]
    assert row["high_aerosol_fraction"] == 1.0
    assert "hazy_fraction" not in table.columns
