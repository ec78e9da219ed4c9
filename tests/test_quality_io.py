"""Reading a tile's scene stacks from COGs, writing the mask stack and the quicklook."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from _quality_scenes import clear_scenes, dates

from agrifactory.errors import GridError, InputError
from agrifactory.grid import Tile
from agrifactory.io.landsat import encode_qa_pixel
from agrifactory.io.raster import write_grid_raster
from agrifactory.quality import masks
from agrifactory.quality.pairs import select_pairs
from agrifactory.quality.quicklook import quicklook_strip, scene_titles, scores_quicklook
from agrifactory.quality.scores import (
    QA_AND_SPECTRAL,
    SPECTRAL_ONLY,
    SceneStack,
    score_stack,
    write_quality_mask,
)

GRID = Tile(100, 50, 6).grid(res=30.0)  # 6 km tile: 200 x 200 pixels at 30 m


def _write(tmp_path, name, data, band_dates, nodata=np.nan):
    return write_grid_raster(
        tmp_path / f"{name}.tif",
        data,
        GRID,
        nodata=nodata,
        band_names=[d.isoformat() for d in band_dates],
    )


@pytest.fixture
def tile_files(tmp_path):
    d = dates(3)
    scenes = clear_scenes(3, shape=GRID.shape)
    scenes[2, :, :, :50] = np.nan  # a quarter of the last scene (50 columns) is fill
    shape = (3, *GRID.shape)
    cloud = np.zeros(shape, bool)
    cloud[0, :, :20] = True
    qa = encode_qa_pixel(
        fill=~np.isfinite(scenes[:, 0]),
        cloud=cloud,
        shadow=np.zeros(shape, bool),
        snow=np.zeros(shape, bool),
        water=np.zeros(shape, bool),
    )
    files = {
        "blue": _write(tmp_path, "blue", scenes[:, 0], d),
        "red": _write(tmp_path, "red", scenes[:, 1], d),
        "nir": _write(tmp_path, "nir", scenes[:, 2], d),
        # QA_PIXEL only for the first and last scene: the middle one has none.
        "qa_pixel": _write(tmp_path, "qa", qa[[0, 2]], [d[0], d[2]], nodata=1),
        "thermal": _write(tmp_path, "st", np.full((1, *GRID.shape), 295.0, np.float32), [d[0]]),
    }
    return files, d


def test_stack_from_files_matches_by_date(tile_files):
    files, d = tile_files
    stack = SceneStack.from_files(**files)
    assert stack.dates == d
    assert stack.has_qa.tolist() == [True, False, True]
    assert stack.qa_pixel.dtype == np.uint16
    assert np.isfinite(stack.thermal[0]).all() and np.isnan(stack.thermal[1:]).all()
    table = score_stack(stack).table
    assert table.qa_source.tolist() == [QA_AND_SPECTRAL, SPECTRAL_ONLY, QA_AND_SPECTRAL]
    assert table.qa_cloud_fraction.iloc[0] == pytest.approx(0.1)
    assert table.valid_fraction.iloc[2] == pytest.approx(0.75)
    assert "no thermal data for this scene" in table.notes.iloc[1]
    assert table.cold_fraction.iloc[0] == 0


def test_corrupt_file_is_named(tile_files, tmp_path):
    files, _ = tile_files
    bad = tmp_path / "broken.tif"
    data = files["red"].read_bytes()
    bad.write_bytes(data[: len(data) // 2])  # truncated: header fine, pixels missing
    with pytest.raises(InputError, match=r"broken.tif: pixel data cannot be decoded.*corrupt"):
        SceneStack.from_files(**{**files, "red": bad})
    bad.write_bytes(b"GIF89a not a raster")
    with pytest.raises(InputError, match="broken.tif: cannot be read as a raster"):
        SceneStack.from_files(**{**files, "qa_pixel": bad})


def test_stacks_must_share_dates_and_grid(tile_files, tmp_path):
    files, d = tile_files
    other = _write(tmp_path, "nir2", np.zeros((2, *GRID.shape), np.float32), d[:2])
    with pytest.raises(InputError, match="nir dates"):
        SceneStack.from_files(**{**files, "nir": other})
    extra = _write(tmp_path, "qa2", np.ones((1, *GRID.shape), np.uint16), [dates(5)[4]], nodata=1)
    with pytest.raises(InputError, match="that the reflectance stacks lack"):
        SceneStack.from_files(**{**files, "qa_pixel": extra})
    wrong_type = _write(tmp_path, "qa3", np.ones((1, *GRID.shape), np.float32), [d[0]])
    with pytest.raises(InputError, match="expected uint16"):
        SceneStack.from_files(**{**files, "qa_pixel": wrong_type})
    shifted = Tile(101, 50, 6).grid(res=30.0)
    moved = write_grid_raster(
        tmp_path / "moved.tif",
        np.zeros((3, *GRID.shape), np.float32),
        shifted,
        nodata=np.nan,
        band_names=[x.isoformat() for x in d],
    )
    with pytest.raises(GridError, match="moved.tif"):
        SceneStack.from_files(**{**files, "blue": moved})


def test_quality_mask_cog(tile_files, tmp_path):
    files, d = tile_files
    stack = SceneStack.from_files(**files)
    res = score_stack(stack)
    path = write_quality_mask(
        tmp_path / "mask.tif", res.mask, stack.dates, transform=stack.transform, crs=stack.crs
    )
    with rasterio.open(path) as src:
        assert src.count == 3 and src.dtypes[0] == "uint8"
        assert list(src.descriptions) == [x.isoformat() for x in d]
        assert "128=saturated" in src.tags()["quality_mask_bits"]
        np.testing.assert_array_equal(src.read(), res.mask)
    assert (res.mask[0][:, :20] & masks.QA_CLOUD).all()
    assert (res.mask[2][:, :50] == masks.FILL).all()


def test_quicklook_strip(tmp_path):
    imgs = [np.random.default_rng(k).uniform(-0.1, 0.9, (20, 20)) for k in range(3)]
    imgs[1][:5] = np.nan
    titles = scene_titles(dates(3), [0.9, 0.5, 0.0])
    assert titles[0] == "2021-06-01\nscore 0.90"
    path = quicklook_strip(imgs, titles, tmp_path / "strip.png", highlight=[True, False, False])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="3 images but 2 titles"):
        quicklook_strip(imgs, titles[:2], tmp_path / "x.png")


def test_scores_quicklook_of_a_tile(tile_files, tmp_path):
    files, _ = tile_files
    stack = SceneStack.from_files(**files)
    table = score_stack(stack).table
    pairs = select_pairs(table, [dates(3)[1]])
    chosen = [*pairs.pair1_date, *pairs.pair2_date]
    path = scores_quicklook(stack.ndvi_stack(), table, tmp_path / "tile.png", chosen)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
