"""Block-wise raster I/O: grid blocks with halo, windowed reads, window-by-window stack writing."""

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.windows import Window

from agrifactory.errors import InputError
from agrifactory.grid import PixelGrid
from agrifactory.io.raster import (
    gdal_cache,
    grid_blocks,
    open_stack,
    read_raster,
    read_stack,
    stack_writer,
    uncovered_pixels,
    write_grid_raster,
)

GRID = PixelGrid(x_min=0.0, y_max=3000.0, res=30.0, width=37, height=29)
DATES = [dt.date(2021, 1, 1) + dt.timedelta(days=8 * i) for i in range(4)]


def test_blocks_by_hand():
    blocks = grid_blocks((10, 7), 4, halo=1)
    assert [(b.core.row_off, b.core.col_off, b.core.height, b.core.width) for b in blocks] == [
        (0, 0, 4, 4), (0, 4, 4, 3), (4, 0, 4, 4), (4, 4, 4, 3), (8, 0, 2, 4), (8, 4, 2, 3),
    ]  # fmt: skip
    middle = blocks[3]  # core rows 4-7, cols 4-6: one pixel of halo above, below and left
    assert (middle.read.row_off, middle.read.col_off) == (3, 3)
    assert (middle.read.height, middle.read.width) == (6, 4)
    assert middle.inner == (slice(1, 5), slice(1, 4))
    (whole,) = grid_blocks((10, 7), None, halo=5)
    assert whole.core == whole.read == Window(0, 0, 7, 10)
    rows = grid_blocks((10, 7), (3, 7))
    assert [b.core.height for b in rows] == [3, 3, 3, 1] and all(b.core.width == 7 for b in rows)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    br=st.integers(1, 15),
    bc=st.integers(1, 15),
    halo=st.integers(0, 6),
)
def test_block_cores_tile_the_grid_and_halos_hold_the_neighbourhood(rows, cols, br, bc, halo):
    grid = np.arange(rows * cols).reshape(rows, cols)
    hits = np.zeros((rows, cols), dtype=int)
    for b in grid_blocks((rows, cols), (br, bc), halo):
        c, r = b.core, b.read
        hits[c.row_off : c.row_off + c.height, c.col_off : c.col_off + c.width] += 1
        assert c.row_off % br == 0 and c.col_off % bc == 0
        read = grid[r.row_off : r.row_off + r.height, r.col_off : r.col_off + r.width]
        core = grid[c.row_off : c.row_off + c.height, c.col_off : c.col_off + c.width]
        np.testing.assert_array_equal(read[b.inner], core)
        # The halo reaches `halo` pixels beyond the core wherever the grid goes on.
        assert r.row_off == max(c.row_off - halo, 0) and r.col_off == max(c.col_off - halo, 0)
        assert r.row_off + r.height == min(c.row_off + c.height + halo, rows)
        assert r.col_off + r.width == min(c.col_off + c.width + halo, cols)
    assert (hits == 1).all()


def test_uncovered_pixels_by_hand():
    assert uncovered_pixels([], 4, 5) == 20
    assert uncovered_pixels([Window(0, 0, 5, 4)], 4, 5) == 0
    # Two overlapping windows: rows 0-1 x cols 0-2 and rows 1-3 x cols 2-4 cover 6 + 9 - 1.
    assert uncovered_pixels([Window(0, 0, 3, 2), Window(2, 1, 3, 3)], 4, 5) == 20 - 14


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 8), st.integers(0, 6), st.integers(1, 9), st.integers(1, 7)),
        max_size=6,
    )
)
def test_uncovered_pixels_equals_a_painted_mask(spans):
    height, width = 6, 8
    windows, painted = [], np.zeros((height, width), dtype=bool)
    for c0, r0, w, h in spans:
        w, h = min(w, width - c0), min(h, height - r0)
        if w < 1 or h < 1:
            continue
        windows.append(Window(c0, r0, w, h))
        painted[r0 : r0 + h, c0 : c0 + w] = True
    assert uncovered_pixels(windows, height, width) == int((~painted).sum())


def _stack(tmp_path, dtype=np.float32, nodata=np.nan):
    rng = np.random.default_rng(1)
    data = rng.random((len(DATES), *GRID.shape)).astype(dtype)
    if dtype == np.float32:
        data[1, 3:5, 7:9] = np.nan
    path = write_grid_raster(
        tmp_path / "stack.tif", data, GRID, nodata=nodata, band_names=[d.isoformat() for d in DATES]
    )
    return path, data


def test_windowed_reads_equal_slices_of_the_whole_stack(tmp_path):
    path, _ = _stack(tmp_path)
    whole, dates, _ = read_stack(path)
    with open_stack(path) as stack:
        assert stack.dates == DATES and stack.shape == GRID.shape and stack.count == 4
        for b in grid_blocks(GRID.shape, 10, halo=3):
            r = b.read
            expect = whole[:, r.row_off : r.row_off + r.height, r.col_off : r.col_off + r.width]
            np.testing.assert_array_equal(stack.read(r), expect)
        one = stack.read(Window(5, 2, 6, 4), bands=stack.band(DATES[1]))
        np.testing.assert_array_equal(one, whole[1, 2:6, 5:11])
        np.testing.assert_array_equal(stack.read(bands=[4, 1]), whole[[3, 0]])
        with pytest.raises(InputError, match="has no band dated 2022-01-01"):
            stack.band(dt.date(2022, 1, 1))
        with pytest.raises(ValueError, match="does not lie inside the grid"):
            stack.read(Window(30, 0, 10, 5))


def test_windowed_read_turns_integer_nodata_into_nan(tmp_path):
    data = np.full((1, *GRID.shape), 7, np.uint8)
    data[0, 2, 3] = 255
    path = write_grid_raster(tmp_path / "u8.tif", data, GRID, nodata=255)
    with open_stack(path, dated=False) as stack:
        assert stack.dates is None
        block = stack.read(Window(0, 0, 5, 5), bands=1)
    assert block.dtype == np.float32 and np.isnan(block[2, 3]) and block[0, 0] == 7


def test_stack_written_window_by_window_round_trips(tmp_path):
    _, data = _stack(tmp_path)
    out = tmp_path / "out.tif"
    names = [d.isoformat() for d in DATES]
    with (
        gdal_cache(16),
        stack_writer(
            out, GRID, count=4, dtype=np.float32, nodata=np.nan, band_names=names, units="NDVI"
        ) as w,
    ):
        for b in grid_blocks(GRID.shape, (8, 16)):
            c = b.core
            rows, cols = (
                slice(c.row_off, c.row_off + c.height),
                slice(c.col_off, c.col_off + c.width),
            )
            for i in range(3):
                w.write_window(data[i, rows, cols], c, index=i + 1)
        w.write_band(4, data[3])
        with pytest.raises(ValueError, match="for one band over window"):
            w.write_window(data[0, :2, :2], Window(0, 0, 3, 2), index=1)
    back, dates, meta = read_stack(out)
    np.testing.assert_array_equal(back, data)
    assert dates == DATES and meta["units"] == ["NDVI"] * 4
    rows_out = tmp_path / "rows.tif"
    with stack_writer(rows_out, GRID, count=4, dtype=np.float32, nodata=np.nan) as w:
        for b in grid_blocks(GRID.shape, (5, GRID.width)):
            c = b.core
            w.write_window(data[:, c.row_off : c.row_off + c.height], c)
    np.testing.assert_array_equal(read_raster(rows_out)[0], data)


def test_stack_writer_refuses_a_band_written_only_in_part(tmp_path):
    out = tmp_path / "part.tif"
    with pytest.raises(ValueError, match=r"bands \[2\] were only partly written .*band 2: 1 of"):
        with stack_writer(out, GRID, count=2, dtype=np.uint8, nodata=None) as w:
            w.write_band(1, np.zeros(GRID.shape))
            for b in grid_blocks(GRID.shape, 10):
                c = b.core
                if (c.row_off, c.col_off) == (20, 30):  # the last block: leave one pixel out
                    w.write_window(np.ones((c.height, c.width - 1)), Window(30, 20, c.width - 1, c.height), 2)  # fmt: skip
                    w.write_window(np.ones((c.height - 1, 1)), Window(36, 20, 1, c.height - 1), 2)
                else:
                    w.write_window(np.ones((c.height, c.width)), c, 2)
    assert list(tmp_path.iterdir()) == []
