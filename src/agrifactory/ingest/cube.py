"""An NDVI cube given as one raster per date, put on a tile's grid as a dated stack.

``inputs.ndvi_cube`` replaces ingest, quality and fusion for data that are already
an NDVI time series on an equal-area grid (e.g. a MODIS MOD13Q1 cube in the MODIS
sinusoidal CRS, as the R package sits ships it). The stack written here has the
format of the fusion stage's ``ndvi_8day.tif`` (float32, NaN = no data, bands named
by ISO date), so HANTS smoothing, features and classification read it unchanged.
The cube's pixels must lie on the tile's grid (same CRS, pixel size and lattice):
nothing is resampled.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import numpy as np
from pyproj import CRS

from agrifactory.errors import ConfigError, InputError
from agrifactory.grid import PixelGrid
from agrifactory.io.raster import open_raster, stack_writer

log = logging.getLogger(__name__)

#: The placeholder of the date (YYYY-MM-DD) in ``inputs.ndvi_cube.pattern``.
DATE_FIELD = "{date}"


def cube_files(folder: str | Path, pattern: str) -> list[tuple[dt.date, Path]]:
    """The cube's files in ``folder`` whose names match ``pattern``, sorted by date."""
    if pattern.count(DATE_FIELD) != 1:
        raise ConfigError(
            f"inputs.ndvi_cube.pattern = {pattern!r} must hold {DATE_FIELD} once, "
            "e.g. 'TERRA_MODIS_012010_NDVI_{date}.jp2'"
        )
    head, tail = (re.escape(p) for p in pattern.split(DATE_FIELD))
    regex = re.compile(f"^{head}(\\d{{4}}-\\d{{2}}-\\d{{2}}){tail}$")
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "folder not found", "set inputs.ndvi_cube.folder")
    found = [(regex.match(p.name), p) for p in folder.iterdir()]
    files = sorted((dt.date.fromisoformat(m.group(1)), p) for m, p in found if m)
    if not files:
        raise InputError(folder, f"no file matches {pattern!r}", "check inputs.ndvi_cube.pattern")
    return files


def year_files(
    folder: str | Path, pattern: str, year: int, season_start_month: int = 1
) -> list[tuple[dt.date, Path]]:
    """The cube's files dated in ``year`` (its season, with ``season_start_month`` > 1,
    as timeseries.season_start_month); an error when there are none."""
    from agrifactory.timeseries.timeaxis import season_year

    files = [
        (d, p) for d, p in cube_files(folder, pattern) if season_year(d, season_start_month) == year
    ]
    if not files:
        raise InputError(
            folder,
            f"no file of {pattern!r} is dated in the year {year} "
            f"(season start month {season_start_month})",
            "check 'years' and timeseries.season_start_month",
        )
    return files


def _offset(path: Path, src_transform: object, grid: PixelGrid) -> tuple[int, int]:
    """Row and column of the file's first pixel on the grid; an error unless it lies on it."""
    t = src_transform
    col = (t.c - grid.x_min) / grid.res
    row = (grid.y_max - t.f) / grid.res
    aligned = abs(t.a - grid.res) < 1e-6 and abs(t.e + grid.res) < 1e-6
    aligned = aligned and abs(col - round(col)) < 1e-3 and abs(row - round(row)) < 1e-3
    if not aligned:
        raise InputError(
            path,
            f"its pixels (transform {tuple(t)[:6]}) are not on the tile grid "
            f"({grid.res} m from {grid.x_min}, {grid.y_max})",
            "set grid.crs, grid.origin and grid.fine_res to the cube's own grid",
        )
    return round(row), round(col)


def read_on_grid(path: Path, grid: PixelGrid, scale: float) -> np.ndarray:
    """One date of the cube on ``grid`` (float32 NDVI, NaN outside the file or at nodata)."""
    out = np.full(grid.shape, np.nan, dtype=np.float32)
    with open_raster(path) as src:
        if not CRS.from_user_input(src.crs).equals(grid.crs, ignore_axis_order=True):
            raise InputError(path, f"its CRS is not grid.crs ({grid.crs.name})", "set grid.crs")
        row, col = _offset(path, src.transform, grid)
        data = src.read(1, masked=True)
    r0, c0 = max(row, 0), max(col, 0)
    r1, c1 = min(row + data.shape[0], grid.height), min(col + data.shape[1], grid.width)
    if r1 <= r0 or c1 <= c0:
        raise InputError(path, "it lies outside the tile", "check grid.origin and the tile list")
    part = data[r0 - row : r1 - row, c0 - col : c1 - col]
    out[r0:r1, c0:c1] = np.ma.filled(part.astype(np.float64) * scale, np.nan)
    return out


def write_cube_stack(
    files: list[tuple[dt.date, Path]], grid: PixelGrid, scale: float, path: str | Path
) -> None:
    """Write the dated NDVI stack of one tile (one band per file, named by ISO date)."""
    names = [d.isoformat() for d, _ in files]
    with stack_writer(
        path, grid, count=len(files), dtype=np.float32, nodata=np.nan,
        band_names=names, units="NDVI", tags={"method": "NDVI cube (inputs.ndvi_cube)"},
    ) as out:  # fmt: skip
        for i, (_, file) in enumerate(files, start=1):
            out.write_window(read_on_grid(file, grid, scale), _whole(grid), index=i)
    log.info("NDVI cube: %d dates on a %s grid written to %s", len(files), grid.shape, path)


def _whole(grid: PixelGrid):
    from rasterio.windows import Window

    return Window(0, 0, grid.width, grid.height)
