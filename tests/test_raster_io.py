"""COG writing and checked reading: atomic writes, clear errors on bad files."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from agrifactory.errors import GridError, InputError
from agrifactory.grid import Tile
from agrifactory.io.files import atomic_path
from agrifactory.io.raster import (
    check_on_grid,
    open_raster,
    read_raster,
    read_stack,
    stack_writer,
    warp_to_grid,
    write_grid_raster,
    write_raster,
)

GRID = Tile(624, 246, 6).grid()


def test_written_cog_round_trips_with_metadata(tmp_path):
    data = np.arange(2 * 200 * 200, dtype=np.float32).reshape(2, 200, 200)
    data[0, 0, 0] = np.nan
    path = write_grid_raster(
        tmp_path / "a.tif",
        data,
        GRID,
        nodata=np.nan,
        band_names=["2021-01-01", "2021-01-09"],
        units="NDVI",
    )
    back, dates, meta = read_stack(path)
    np.testing.assert_array_equal(back, data)
    assert [d.isoformat() for d in dates] == ["2021-01-01", "2021-01-09"]
    assert meta["units"] == ["NDVI", "NDVI"]
    check_on_grid(meta, GRID, path, back.shape[-2:])
    with rasterio.open(path) as src:
        assert src.profile["tiled"] and src.profile["compress"] == "zstd"


def test_integer_nodata_becomes_nan_on_read(tmp_path):
    path = write_raster(
        tmp_path / "b.tif",
        np.array([[1, 255]], np.uint8),
        transform=from_origin(0, 1, 1, 1),
        crs="EPSG:4326",
        nodata=255,
    )
    data, _ = read_raster(path)
    assert data[0, 0, 0] == 1 and np.isnan(data[0, 0, 1])


def test_atomic_path_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_stack_writer_refuses_an_incomplete_stack(tmp_path):
    with pytest.raises(ValueError, match=r"bands \[2\] were never written"):
        with stack_writer(tmp_path / "s.tif", GRID, count=2, dtype=np.float32, nodata=np.nan) as w:
            w.write_band(1, np.zeros(GRID.shape))
    assert list(tmp_path.iterdir()) == []


def test_missing_corrupt_and_crs_less_files_name_the_file(tmp_path):
    with pytest.raises(InputError, match="missing.tif: file not found"):
        read_raster(tmp_path / "missing.tif")
    good = write_raster(
        tmp_path / "good.tif",
        np.ones((300, 300), np.float32),
        transform=from_origin(0, 300, 1, 1),
        crs="EPSG:32650",
        nodata=0,
    )
    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(good.read_bytes()[:400])
    with pytest.raises(
        InputError,
        match="corrupt.tif: .*corrupt or truncated|corrupt.tif: pixel data cannot be decoded",
    ):
        read_raster(corrupt)
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"this is not a tiff at all" * 10)
    with pytest.raises(InputError, match="junk.tif: cannot be read as a raster"):
        read_raster(junk)
    nocrs = tmp_path / "nocrs.tif"
    with rasterio.open(
        nocrs, "w", driver="GTiff", width=2, height=2, count=1, dtype="uint8"
    ) as dst:
        dst.write(np.ones((1, 2, 2), np.uint8))
    with pytest.raises(InputError, match="nocrs.tif: has no readable CRS"):
        with open_raster(nocrs):
            pass


def test_band_descriptions_must_be_dates(tmp_path):
    path = write_raster(
        tmp_path / "c.tif",
        np.ones((1, 2, 2), np.float32),
        transform=from_origin(0, 2, 1, 1),
        crs="EPSG:4326",
        nodata=np.nan,
        band_names=["july"],
    )
    with pytest.raises(InputError, match="band 1 description 'july' is not a date"):
        read_stack(path)


def test_grid_mismatch_is_a_grid_error(tmp_path):
    other = Tile(625, 246, 6).grid()
    path = write_grid_raster(
        tmp_path / "d.tif", np.zeros(other.shape, np.float32), other, nodata=np.nan
    )
    data, meta = read_raster(path)
    with pytest.raises(GridError, match="not on the expected tile grid"):
        check_on_grid(meta, GRID, path, data.shape[-2:])


def test_warp_from_utm_onto_the_tile_grid(tmp_path):
    from rasterio.warp import transform_bounds

    # A UTM raster with the value 1 in its western half and 2 in its eastern half.
    x0, y0, x1, y1 = transform_bounds(GRID.crs, "EPSG:32650", *GRID.bounds)
    x0, y1 = np.floor(x0) - 600, np.ceil(y1) + 600
    w = int((x1 - x0) // 30) + 40
    h = int((y1 - y0) // 30) + 40
    data = np.ones((h, w), np.float32)
    data[:, w // 2 :] = 2
    path = write_raster(
        tmp_path / "utm.tif",
        data,
        transform=from_origin(x0, y1, 30, 30),
        crs="EPSG:32650",
        nodata=0,
    )
    with open_raster(path) as src:
        out = warp_to_grid(src, 1, GRID)
    assert out.shape == GRID.shape and np.isfinite(out).all()
    assert set(np.unique(out)) == {1.0, 2.0}
    assert (out[:, :20] == 1).all() and (out[:, -20:] == 2).all()
