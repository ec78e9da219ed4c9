"""The 1 km lattice and reanalysis cells: membership and look-up."""

from __future__ import annotations

import numpy as np
from affine import Affine

from agrifactory.grid import Tile
from agrifactory.soil_moisture.lattice import (
    CoarseGrid,
    cell_members,
    grid_pixels,
    lattice_lonlat,
    lattice_pixel_of,
    lookup,
    make_pixels,
)

COARSE = CoarseGrid(Affine(0.25, 0, 114.0, 0, -0.25, 41.5), (2, 2))


def test_cell_members_partition_the_cells():
    members = cell_members(COARSE, range(4))
    keys = members.key
    assert np.unique(keys).size == keys.size  # no pixel in two cells
    lon, lat = lattice_lonlat(members.row, members.col)
    np.testing.assert_array_equal(COARSE.cell_of(lon, lat), members.cell)
    # brute force over a box around the region: every pixel with its centre inside is a member
    r0, c0 = lattice_pixel_of(np.array([113.9]), np.array([41.6]))
    r1, c1 = lattice_pixel_of(np.array([114.6]), np.array([40.9]))
    rr, cc = np.meshgrid(
        np.arange(r0[0] - 5, r1[0] + 5), np.arange(c0[0] - 5, c1[0] + 5), indexing="ij"
    )
    box = make_pixels(rr.ravel(), cc.ravel(), COARSE)
    assert (box.cell >= 0).sum() == len(members)
    # a 0.25 degree cell at 41 N holds about 21 x 28 km of 1 km pixels
    assert 500 < np.bincount(members.cell).min() <= np.bincount(members.cell).max() < 650


def test_lookup_and_tile_pixels():
    members = cell_members(COARSE, [0])
    idx = lookup(members, members.row[::-1], members.col[::-1])
    np.testing.assert_array_equal(idx, np.arange(len(members))[::-1])
    assert lookup(members, np.array([0]), np.array([0]))[0] == -1
    grid = Tile(1, 2, 15).grid(res=1000.0)
    rows, cols = grid_pixels(grid)
    assert rows.size == 225 and (rows[0], cols[0]) == (30, 15)
