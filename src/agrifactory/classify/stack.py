"""The classifiers' input stack of a tile-year: the feature stack, the HANTS series and
the monthly composites.

The ``features`` rule writes named bands (harmonics, monthly medians
``ndvi_med_01..12``, phenology ``pheno_*``); the ``smooth`` rule writes the
HANTS-smoothed 8-day NDVI, one band per date. Here both are read as one
stack whose HANTS bands are named by
day of year, ``hants_doy001 .. hants_doy361``, so a model trained in one year
applies to the same 8-day calendar of another. The ``composites`` rule writes the
monthly composites of several bands, ``monthly_{band}_{MM}`` (NaN: no value); when
given, they are read as a third file and keep their names. The files must lie on one
grid (the tile's, when ``tile_km`` is given) and the HANTS dates in one year.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS
from rasterio.windows import Window

from agrifactory.classify.cnn2d import MONTHLY_PREFIX
from agrifactory.classify.training import grid_bounds, point_pixels
from agrifactory.errors import GridError, InputError
from agrifactory.grid import DEFAULT_GRID, GridSpec, Tile
from agrifactory.io.raster import band_dates, open_raster
from agrifactory.timeseries.timeaxis import season_year

#: Prefix of the HANTS series bands in the classifiers' stack.
HANTS_PREFIX = "hants_doy"


def hants_names(
    descriptions: list[str], path: str | Path, year: int | None, season_start_month: int = 1
) -> list[str]:
    """``hants_doyNNN`` names of a dated stack's bands; every date in ``year`` (if given),
    or in its season when ``season_start_month`` > 1 (timeseries.season_start_month)."""
    dates = band_dates(descriptions, path)
    years = sorted({season_year(d, season_start_month) for d in dates})
    if year is not None and years != [int(year)]:
        raise GridError(
            f"{path}: the smoothed series is dated in {years}, expected the year {year}; "
            "features and samples must be of the same year"
        )
    return [f"{HANTS_PREFIX}{d.timetuple().tm_yday:03d}" for d in dates]


def _meta(src: rasterio.DatasetReader) -> dict:
    return {
        "transform": src.transform,
        "crs": CRS.from_user_input(src.crs),
        "shape": (src.height, src.width),
        "descriptions": [d or "" for d in src.descriptions],
    }


def monthly_names(descriptions: list[str], path: str | Path) -> list[str]:
    """The band names of a monthly composites file, checked to be ``monthly_*``."""
    bad = [i + 1 for i, d in enumerate(descriptions) if not d.startswith(MONTHLY_PREFIX)]
    if bad:
        raise InputError(
            path,
            f"bands {bad[:10]} are not named '{MONTHLY_PREFIX}<band>_<MM>' "
            f"(names: {[descriptions[i - 1] for i in bad[:5]]})",
            "rerun the composites rule",
        )
    return list(descriptions)


def _check_same_grid(features: Path, a: dict, smoothed: Path, b: dict) -> None:
    same = (
        a["crs"].equals(b["crs"], ignore_axis_order=True)
        and a["transform"].almost_equals(b["transform"], precision=1e-6)
        and a["shape"] == b["shape"]
    )
    if not same:
        raise GridError(
            f"{features} and {smoothed} are on different grids (transform "
            f"{tuple(a['transform'])[:6]} vs {tuple(b['transform'])[:6]}, shape {a['shape']} vs "
            f"{b['shape']}); rerun the features stage"
        )


def _check_tile_grid(
    path: Path, meta: dict, tile_id: str, tile_km: int, spec: GridSpec = DEFAULT_GRID
) -> None:
    grid = Tile.from_id(tile_id, tile_km, spec).grid()
    same = (
        meta["crs"].equals(grid.crs, ignore_axis_order=True)
        and meta["transform"].almost_equals(grid.transform, precision=1e-6)
        and meta["shape"] == grid.shape
    )
    if not same:
        raise GridError(
            f"{path}: not on the grid of tile {tile_id} (transform {tuple(meta['transform'])[:6]} "
            f"vs {tuple(grid.transform)[:6]}, shape {meta['shape']} vs {grid.shape}); the "
            "features belong to another tile or tile size"
        )


class TileStack:
    """The two or three rasters of a tile-year, checked, with the combined band names.

    Parameters
    ----------
    features, smoothed
        ``features/features.tif`` and ``smooth/ndvi_hants.tif`` of one tile-year.
    monthly
        ``composites/monthly.tif`` of the tile-year (bands ``monthly_{band}_{MM}``), or
        None.
    tile_id
        The tile; with ``tile_km`` the grids are checked against the tile's grid (on
        the lattice ``grid``, China Albers by default).
    year
        Every HANTS date must lie in this year (its season, with ``season_start_month``).
    """

    def __init__(
        self,
        features: str | Path,
        smoothed: str | Path,
        tile_id: str,
        *,
        monthly: str | Path | None = None,
        year: int | None = None,
        tile_km: int | None = None,
        grid: GridSpec = DEFAULT_GRID,
        season_start_month: int = 1,
    ) -> None:
        self.features = Path(features)
        self.smoothed = Path(smoothed)
        self.monthly = None if monthly is None else Path(monthly)
        self.tile_id = tile_id
        metas = {}
        for path in self.paths:
            with open_raster(path) as src:
                metas[path] = _meta(src)
        fmeta, smeta = metas[self.features], metas[self.smoothed]
        unnamed = [i + 1 for i, d in enumerate(fmeta["descriptions"]) if not d]
        if unnamed:
            raise InputError(
                self.features, f"bands {unnamed} have no name", "feature bands must be named"
            )
        for path, meta in metas.items():
            if tile_km is not None:
                _check_tile_grid(path, meta, tile_id, tile_km, grid)
            _check_same_grid(self.features, fmeta, path, meta)
        self.year = year
        self.transform = fmeta["transform"]
        self.crs = fmeta["crs"]
        self.shape = fmeta["shape"]
        self.feature_names = fmeta["descriptions"] + hants_names(
            smeta["descriptions"], self.smoothed, year, season_start_month
        )
        if self.monthly is not None:
            self.feature_names += monthly_names(metas[self.monthly]["descriptions"], self.monthly)
        if len(set(self.feature_names)) != len(self.feature_names):
            raise InputError(self.features, "has duplicate band names", "rerun the features stage")

    @property
    def paths(self) -> tuple[Path, ...]:
        """The stack's files, in the order of their bands."""
        return (self.features, self.smoothed) + (() if self.monthly is None else (self.monthly,))

    def read(self, window: Window | None = None) -> np.ndarray:
        """``float32 (features, rows, cols)`` of the window (whole tile by default)."""
        parts = []
        for path in self.paths:
            with open_raster(path) as src:
                data = src.read(window=window).astype(np.float32)
                if src.nodata is not None and not np.isnan(src.nodata):
                    data[data == src.nodata] = np.nan
            parts.append(data)
        return np.concatenate(parts)

    @property
    def source(self) -> str:
        """The file named in errors: the feature stack."""
        return str(self.features)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return grid_bounds(self.transform, self.shape)

    def values_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``float32 (points, features)`` at the pixels holding points ``(x, y)``.

        Only the feature file's internal blocks that hold a point are read, one at a
        time (every band of the stack), so memory stays at one block's whatever the
        tile's size, and each compressed block is decoded once.
        """
        rows, cols = point_pixels(self, x, y)
        out = np.empty((len(rows), len(self.feature_names)), np.float32)
        with open_raster(self.features) as src:
            bh, bw = src.block_shapes[0]
        height, width = self.shape
        blocks = np.stack([rows // bh, cols // bw], axis=1)
        for br, bc in np.unique(blocks, axis=0):
            at = (blocks[:, 0] == br) & (blocks[:, 1] == bc)
            r0, c0 = int(br * bh), int(bc * bw)
            data = self.read(Window(c0, r0, min(bw, width - c0), min(bh, height - r0)))
            out[at] = data[:, rows[at] - r0, cols[at] - c0].T
        return out

    def row_blocks(self, block_rows: int) -> Iterator[tuple[slice, np.ndarray]]:
        """``(rows, data)`` for consecutive blocks of ``block_rows`` rows (bounds memory)."""
        height, width = self.shape
        for r0 in range(0, height, block_rows):
            n = min(block_rows, height - r0)
            yield slice(r0, r0 + n), self.read(Window(0, r0, width, n))
