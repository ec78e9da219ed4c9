"""The 1 km Albers lattice and its relation to the lon/lat reanalysis cells.

Every 1 km product pixel is a cell of the factory's global 1 km lattice in
China Albers (columns and rows counted from :data:`agrifactory.grid.ORIGIN_X`,
:data:`~agrifactory.grid.ORIGIN_Y`), so a pixel is the same ground in every
tile and every run. A pixel belongs to the reanalysis cell that holds its
centre. The downscaler's residual correction works on whole reanalysis cells:
:func:`cell_members` lists every lattice pixel of a cell, whichever tile it
falls in, so a tile and a station patch see identical values for a shared
pixel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from affine import Affine
from pyproj import Transformer

from agrifactory.errors import GridError
from agrifactory.grid import ALBERS, COARSE_RES, ORIGIN_X, ORIGIN_Y, PixelGrid


@cache
def _to_lonlat() -> Transformer:
    return Transformer.from_crs(ALBERS, "EPSG:4326", always_xy=True)


@cache
def _to_albers() -> Transformer:
    return Transformer.from_crs("EPSG:4326", ALBERS, always_xy=True)


def lattice_centres(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Albers x, y of the centres of global 1 km lattice pixels."""
    x = ORIGIN_X + (np.asarray(cols) + 0.5) * COARSE_RES
    y = ORIGIN_Y - (np.asarray(rows) + 0.5) * COARSE_RES
    return x, y


def lattice_lonlat(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lon, lat of the centres of global 1 km lattice pixels."""
    x, y = lattice_centres(rows, cols)
    lon, lat = _to_lonlat().transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def lattice_pixel_of(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global 1 km lattice (row, col) of the pixels holding lon/lat points."""
    x, y = _to_albers().transform(np.asarray(lon, float), np.asarray(lat, float))
    col = np.floor((np.asarray(x) - ORIGIN_X) / COARSE_RES).astype(np.int64)
    row = np.floor((ORIGIN_Y - np.asarray(y)) / COARSE_RES).astype(np.int64)
    return row, col


def grid_lattice_origin(grid: PixelGrid) -> tuple[int, int]:
    """(row, col) of a 1 km grid's top-left pixel on the global lattice; off-lattice is an error."""
    if abs(grid.res - COARSE_RES) > 1e-6:
        raise GridError(f"soil-moisture grids are {COARSE_RES:.0f} m, got {grid.res} m")
    c = (grid.x_min - ORIGIN_X) / COARSE_RES
    r = (ORIGIN_Y - grid.y_max) / COARSE_RES
    if abs(c - round(c)) > 1e-6 or abs(r - round(r)) > 1e-6:
        raise GridError(f"grid {grid} is not on the global 1 km lattice")
    return round(r), round(c)


def grid_pixels(grid: PixelGrid) -> tuple[np.ndarray, np.ndarray]:
    """Lattice rows and cols of every pixel of a 1 km grid, row-major (flattened)."""
    r0, c0 = grid_lattice_origin(grid)
    rr, cc = np.meshgrid(np.arange(grid.height) + r0, np.arange(grid.width) + c0, indexing="ij")
    return rr.ravel(), cc.ravel()


@dataclass(frozen=True)
class CoarseGrid:
    """A north-up lon/lat grid of reanalysis cells (cell index = row * width + col)."""

    transform: Affine
    shape: tuple[int, int]

    @property
    def n_cells(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        h, w = self.shape
        t = self.transform
        return (t.c, t.f + t.e * h, t.c + t.a * w, t.f)

    def cell_of(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Flat cell index of each point, -1 outside the grid."""
        col, row = ~self.transform @ (np.asarray(lon, float), np.asarray(lat, float))
        col = np.floor(col).astype(np.int64)
        row = np.floor(row).astype(np.int64)
        h, w = self.shape
        inside = (row >= 0) & (row < h) & (col >= 0) & (col < w)
        return np.where(inside, row * w + col, -1)

    def cell_box(self, cell: int) -> tuple[float, float, float, float]:
        """(lon_min, lat_min, lon_max, lat_max) of one cell."""
        h, w = self.shape
        row, col = divmod(int(cell), w)
        t = self.transform
        lon0 = t.c + t.a * col
        lat1 = t.f + t.e * row
        return (lon0, lat1 + t.e, lon0 + t.a, lat1)


@dataclass(frozen=True)
class Pixels:
    """A set of 1 km lattice pixels with their centres and reanalysis cells."""

    row: np.ndarray
    col: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    cell: np.ndarray

    def __len__(self) -> int:
        return int(self.row.size)

    @property
    def key(self) -> np.ndarray:
        return pixel_key(self.row, self.col)


def pixel_key(row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """One int64 per lattice pixel (for look-ups)."""
    return np.asarray(row, np.int64) * 1_000_000 + np.asarray(col, np.int64)


def make_pixels(rows: np.ndarray, cols: np.ndarray, coarse: CoarseGrid) -> Pixels:
    """Lattice pixels with their lon/lat and reanalysis cell (-1 outside the region)."""
    lon, lat = lattice_lonlat(rows, cols)
    return Pixels(
        np.asarray(rows, np.int64), np.asarray(cols, np.int64), lon, lat, coarse.cell_of(lon, lat)
    )


def cell_members(coarse: CoarseGrid, cells: Sequence[int]) -> Pixels:
    """Every 1 km lattice pixel whose centre lies in one of ``cells``, sorted by cell."""
    out_r, out_c = [], []
    for cell in sorted({int(c) for c in cells if c >= 0}):
        lon0, lat0, lon1, lat1 = coarse.cell_box(cell)
        x0, y0, x1, y1 = _to_albers().transform_bounds(lon0, lat0, lon1, lat1, densify_pts=21)
        c0 = int(np.floor((x0 - ORIGIN_X) / COARSE_RES))
        c1 = int(np.ceil((x1 - ORIGIN_X) / COARSE_RES))
        r0 = int(np.floor((ORIGIN_Y - y1) / COARSE_RES))
        r1 = int(np.ceil((ORIGIN_Y - y0) / COARSE_RES))
        rr, cc = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
        rr, cc = rr.ravel(), cc.ravel()
        lon, lat = lattice_lonlat(rr, cc)
        inside = coarse.cell_of(lon, lat) == cell
        out_r.append(rr[inside])
        out_c.append(cc[inside])
    if not out_r:
        empty = np.zeros(0, np.int64)
        return Pixels(empty, empty, np.zeros(0), np.zeros(0), empty)
    return make_pixels(np.concatenate(out_r), np.concatenate(out_c), coarse)


def lookup(support: Pixels, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Index of each (row, col) in ``support``, -1 where absent."""
    keys = support.key
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    want = pixel_key(rows, cols)
    pos = np.clip(np.searchsorted(sorted_keys, want), 0, max(len(keys) - 1, 0))
    found = len(keys) > 0
    hit = found & (sorted_keys[pos] == want) if found else np.zeros(want.shape, bool)
    return np.where(hit, order[pos], -1)
