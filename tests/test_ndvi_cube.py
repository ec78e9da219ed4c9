"""An NDVI cube put on a tile's grid (agrifactory.ingest.cube): the real MOD13Q1 cube
of Sinop (R package sits, INPE; /work/shared/data/sits_mod13q1)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from agrifactory.errors import ConfigError, InputError
from agrifactory.grid import GridSpec, Tile
from agrifactory.ingest.cube import cube_files, write_cube_stack
from agrifactory.io.raster import open_stack

PATTERN = "TERRA_MODIS_012010_NDVI_{date}.jp2"
#: The cube's own grid, read from its files (sinusoidal, 231.656 m, its upper-left corner).
SINOP_GRID = {
    "crs": "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs",
    "origin": [-6073798.057320992, -1278279.7849004474],
    "fine_res": 231.65635826385406,
}


@pytest.fixture
def cube(shared_data):
    folder = shared_data / "sits_mod13q1"
    if not folder.is_dir():
        pytest.skip("sits_mod13q1 not in the shared data")
    return folder


def test_the_cube_on_its_tile_keeps_the_jp2_values(cube, tmp_path):
    files = cube_files(cube, PATTERN)
    assert len(files) == 12
    assert (files[0][0].isoformat(), files[-1][0].isoformat()) == ("2013-09-14", "2014-08-29")
    tile = Tile.from_id("h000v000", 60, GridSpec.from_config(SINOP_GRID))
    out = tmp_path / "ndvi.tif"
    write_cube_stack(files, tile.grid(), 1e-4, out)
    with open_stack(out) as stack:
        assert [d.isoformat() for d in stack.dates] == [d.isoformat() for d, _ in files]
        values = stack.read(rasterio.windows.Window(0, 0, 259, 259))
    assert values.shape == (12, 259, 259)
    for row, col in [(10, 20), (100, 200)]:
        for i, (_, path) in enumerate(files):
            with rasterio.open(path) as src:
                raw = int(src.read(1)[row, col])
            assert values[i, row, col] == pytest.approx(raw * 1e-4, abs=1e-7)
    # The cube is 255 x 147 pixels; the rest of the 259 x 259 tile is NaN.
    assert np.isnan(values[:, 147:, :]).all() and np.isnan(values[:, :, 255:]).all()
    assert not np.isnan(values[:, :147, :255]).any()


def test_a_cube_off_the_grid_or_without_files_is_refused(cube, tmp_path):
    files = cube_files(cube, PATTERN)
    shifted = {**SINOP_GRID, "origin": [SINOP_GRID["origin"][0] - 100.0, SINOP_GRID["origin"][1]]}
    grid = Tile.from_id("h000v000", 60, GridSpec.from_config(shifted)).grid()
    with pytest.raises(InputError, match="not on the tile grid"):
        write_cube_stack(files[:1], grid, 1e-4, tmp_path / "x.tif")
    with pytest.raises(InputError, match="no file matches"):
        cube_files(cube, "MOD13Q1_{date}.tif")
    with pytest.raises(ConfigError, match="must hold"):
        cube_files(cube, "TERRA_MODIS.jp2")
