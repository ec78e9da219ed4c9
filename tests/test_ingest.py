"""Ingest on hand-made scenes: warping, QA masking, NDVI, missing files, bad files."""

import datetime as dt

import numpy as np
import pytest
from _ingest_scenes import CLEAR, CLOUD, NDVI, RED, TILE, ingest_scenes, make_scenes

from agrifactory.errors import ConfigError, DataError, InputError
from agrifactory.ingest.rules import OUTPUTS, IngestSettings
from agrifactory.ingest.scenes import masked_ndvi
from agrifactory.ingest.tile import ingest_tile
from agrifactory.io.raster import read_stack


@pytest.fixture()
def scenes(tmp_path):
    return make_scenes(tmp_path)


def _outputs(root):
    return {name: root / "out" / file for name, file in OUTPUTS.items()}


def test_ingest_masks_and_computes_ndvi(scenes):
    inv, root = scenes
    table, out = ingest_scenes(inv, root, resampling="nearest")
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
    with pytest.raises(ConfigError, match=r"ingest.mask\[1\] = 'haze'"):
        IngestSettings.build({"mask": ["cloud", "haze"]}, "ingest")
