"""Other cropland products on a tile's 30 m grid: find their files, check them, read them.

A product (:class:`~agrifactory.integration.rules.ProductSettings`) is a folder of ESA
WorldCover tiles, a folder of CLCD provinces, or a GeoTIFF file or glob. Its class codes
become cropland (1), other (0) or no data (NaN) through the config's legend, and its pixels
are averaged onto the grid: a finer product gives each 30 m pixel the share of its area
that is cropland, a coarser one the value of the pixel it falls in. Where no file has a
valid value the fraction is NaN, never 0.

``key`` is the product's config path (``integration.products[0]``); every message names it.
"""

from __future__ import annotations

import glob
import logging
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.warp import reproject
from rasterio.windows import Window

from agrifactory.errors import ConfigError, InputError
from agrifactory.grid import PixelGrid
from agrifactory.integration.rules import LegendSettings, ProductSettings
from agrifactory.io.raster import open_raster

log = logging.getLogger(__name__)

#: File names of the folder layouts (the year, and a WorldCover tile's lower-left corner).
NAME_PATTERNS: dict[str, re.Pattern] = {
    "worldcover": re.compile(
        r"^ESA_WorldCover_10m_(?P<year>\d{4})_v\d+_"
        r"(?P<ns>[NS])(?P<lat>\d{2})(?P<ew>[EW])(?P<lon>\d{3})_Map\.tif$"
    ),
    "clcd": re.compile(r"^CLCD_v01_(?P<year>\d{4})_albert_\w+\.tif$"),
}
#: What a product's path should hold, per layout (for messages).
EXPECTED: dict[str, str] = {
    "worldcover": "a folder of files named "
    "ESA_WorldCover_10m_<year>_v<version>_<N|S><lat:2 digits><E|W><lon:3 digits>_Map.tif",
    "clcd": "a folder of files named CLCD_v01_<year>_albert_<province>.tif",
    "geotiff": "a GeoTIFF file or a glob of them (e.g. data/gfsad/*.tif)",
}
#: Edge of a WorldCover tile in degrees.
WORLDCOVER_TILE_DEG = 3
_LEGEND_TAG = re.compile(r"^class_(-?\d+)$")


# --- files -----------------------------------------------------------------------


def find_files(product: ProductSettings, key: str) -> list[Path]:
    """The product's files (sorted); none is an :class:`InputError` naming ``<key>.path``."""
    if product.layout == "geotiff":
        files = _glob_files(product.path)
    else:
        files = _folder_files(product, key)
    if not files:
        raise InputError(
            product.path,
            f"no {product.layout} files found",
            f"{key}.path must be {EXPECTED[product.layout]}",
        )
    return files


def _folder_files(product: ProductSettings, key: str) -> list[Path]:
    folder = Path(product.path)
    if not folder.is_dir():
        raise InputError(
            folder, "folder not found", f"{key}.path must be {EXPECTED[product.layout]}"
        )
    pattern = NAME_PATTERNS[product.layout]
    return sorted(p for p in folder.iterdir() if pattern.match(p.name))


def _glob_files(path: str) -> list[Path]:
    if any(c in path for c in "*?["):
        return sorted(Path(p) for p in glob.glob(path) if Path(p).is_file())
    return [Path(path)] if Path(path).is_file() else []


def worldcover_tile_box(path: str | Path) -> tuple[float, float, float, float]:
    """(lon_min, lat_min, lon_max, lat_max) of a WorldCover tile, from its name (the name
    gives the lower-left corner of a 3 x 3 degree tile)."""
    m = NAME_PATTERNS["worldcover"].match(Path(path).name)
    if m is None:
        raise InputError(path, "not a WorldCover tile name", f"expected {EXPECTED['worldcover']}")
    lat = int(m["lat"]) * (1 if m["ns"] == "N" else -1)
    lon = int(m["lon"]) * (1 if m["ew"] == "E" else -1)
    return (lon, lat, lon + WORLDCOVER_TILE_DEG, lat + WORLDCOVER_TILE_DEG)


def _overlap(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether two (x_min, y_min, x_max, y_max) boxes share area (touching edges do not)."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def covering_files(product: ProductSettings, files: Sequence[Path], grid: PixelGrid) -> list[Path]:
    """The files that overlap the grid: WorldCover tiles by their names, others by their
    headers' bounds."""
    if product.layout == "worldcover":
        box = grid.bounds_in("EPSG:4326")
        return [f for f in files if _overlap(worldcover_tile_box(f), box)]
    out = []
    for f in files:
        with open_raster(f) as src:
            if _overlap(tuple(src.bounds), grid.bounds_in(src.crs)):
                out.append(Path(f))
    return out


# --- checks (headers only) -----------------------------------------------------------


def file_year(path: str | Path, layout: str) -> int | None:
    """The year a file maps: from its name (worldcover, clcd) or its ``year`` tag (geotiff);
    None when the tag is absent."""
    pattern = NAME_PATTERNS.get(layout)
    if pattern is not None:
        m = pattern.match(Path(path).name)
        return int(m["year"]) if m else None
    with open_raster(path) as src:
        value = src.tags().get("year")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise InputError(
            path, f"its 'year' tag {value!r} is not a year", "fix or remove the tag"
        ) from None


def check_product(product: ProductSettings, key: str) -> None:
    """Check a product's files before any job starts (headers, no pixels): their years,
    CRS and legends. (Its year against the run's is checked with the config:
    :meth:`~agrifactory.integration.rules.IntegrationSettings.check_years`.)"""
    for path in find_files(product, key):
        _check_file_year(product, key, path)
        with open_raster(path) as src:
            _check_resolution(product, key, path, src.crs)
            _check_legend_tags(product.legend, key, path, src.tags(), src.nodata)


def _check_file_year(product: ProductSettings, key: str, path: Path) -> None:
    year = file_year(path, product.layout)
    if year is not None and year != product.year:
        source = "its 'year' tag" if product.layout == "geotiff" else "its name"
        raise InputError(
            path,
            f"the file maps {year} ({source}) but {key}.year is {product.year}",
            f"set {key}.year to {year} or point {key}.path at the {product.year} edition",
        )


def _check_resolution(product: ProductSettings, key: str, path: Path, crs: CRS) -> None:
    if product.resolution_m is None and CRS.from_user_input(crs).is_geographic:
        raise ConfigError(
            f"{path}: the file is in a geographic CRS (degrees) and {key}.resolution_m is "
            "not set: set it to the native pixel size in metres, e.g. 10 for WorldCover"
        )


def file_legend(tags: Mapping[str, str]) -> dict[int, str]:
    """A file's own legend, from tags ``class_<code>=<name>`` (empty when it has none)."""
    out = {}
    for tag, name in tags.items():
        m = _LEGEND_TAG.match(tag)
        if m:
            out[int(m[1])] = name
    return out


def _check_legend_tags(
    legend: LegendSettings, key: str, path: Path, tags: Mapping[str, str], nodata: float | None
) -> None:
    classes = file_legend(tags)
    if not classes:
        return
    for group in ("cropland", "other", "nodata"):
        for code in getattr(legend, group):
            if code not in classes and not (group == "nodata" and code == nodata):
                raise InputError(
                    path,
                    f"{key}.legend declares code {code} ({group}) but the file's legend has "
                    f"no class {code} (it has {codes_text(classes)})",
                    f"the legend does not fit this product: correct {key}.legend or {key}.path",
                )


def codes_text(codes: Sequence[int] | Mapping[int, object]) -> str:
    """Codes as short text, runs of three or more as ranges: ``[1, 2, 3, 9]`` -> ``'1..3, 9'``."""
    runs: list[list[int]] = []
    for c in sorted(codes):
        if runs and c == runs[-1][-1] + 1:
            runs[-1].append(c)
        else:
            runs.append([c])
    parts = [f"{r[0]}..{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs]
    return ", ".join(parts)


# --- pixels ----------------------------------------------------------------------


def cropland_fraction(
    product: ProductSettings, key: str, files: Sequence[Path], grid: PixelGrid
) -> np.ndarray:
    """The product's cropland fraction on ``grid`` (float32; NaN where it has no valid data).

    Each file is read over the window that covers the grid (plus a pixel), its codes
    mapped through the legend and averaged onto the grid; where files overlap, the first
    with a value wins.
    """
    out = np.full(grid.shape, np.nan, dtype=np.float32)
    read = 0
    for path in files:
        fraction = _file_fraction(product.legend, key, Path(path), grid)
        if fraction is None:
            continue
        read += 1
        empty = np.isnan(out)
        out[empty] = fraction[empty]
    _log_fraction(product.name, read, len(files), out)
    return out


def _file_fraction(
    legend: LegendSettings, key: str, path: Path, grid: PixelGrid
) -> np.ndarray | None:
    """One file's fraction on the grid, or None when it does not reach the grid."""
    with open_raster(path) as src:
        window = grid_window(src, grid)
        if window is None:
            return None
        try:
            data = src.read(1, window=window)
        except RasterioError as exc:
            raise InputError(
                path, f"pixel data cannot be decoded ({exc})", "the file is corrupt: replace it"
            ) from None
        values = legend_values(data, src.nodata, legend, path, key)
        return _average_onto(values, src.window_transform(window), src.crs, grid, path)


def grid_window(src: rasterio.DatasetReader, grid: PixelGrid) -> Window | None:
    """The window of an open raster that covers the grid, grown by a pixel and clipped to
    the raster; None when they do not meet."""
    win = src.window(*grid.bounds_in(src.crs))
    col0 = max(math.floor(win.col_off) - 1, 0)
    row0 = max(math.floor(win.row_off) - 1, 0)
    col1 = min(math.ceil(win.col_off + win.width) + 1, src.width)
    row1 = min(math.ceil(win.row_off + win.height) + 1, src.height)
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


def legend_values(
    data: np.ndarray, nodata: float | None, legend: LegendSettings, path: Path, key: str
) -> np.ndarray:
    """Codes -> float32: cropland 1, other 0, nodata codes and the file's nodata NaN.

    A code in the data that the legend does not list is an :class:`InputError` naming
    the codes with their pixel counts.
    """
    unknown = _undeclared_codes(data, nodata, legend)
    if unknown:
        found = ", ".join(f"{c} ({n} pixels)" for c, n in unknown.items())
        raise InputError(
            path,
            f"codes not in {key}.legend found where it covers the grid: {found}",
            f"add them to {key}.legend as cropland, other or nodata",
        )
    values = np.full(data.shape, np.nan, dtype=np.float32)
    values[np.isin(data, legend.cropland)] = 1.0
    values[np.isin(data, legend.other)] = 0.0
    if nodata is not None:
        values[data == nodata] = np.nan
    return values


def _undeclared_codes(
    data: np.ndarray, nodata: float | None, legend: LegendSettings
) -> dict[int | float, int]:
    """Codes of ``data`` (with their pixel counts) that neither the legend nor the file's
    nodata accounts for."""
    if data.dtype in (np.uint8, np.uint16):
        counts = np.bincount(data.ravel())  # far faster than np.unique on large windows
        codes = np.flatnonzero(counts)
        counts = counts[codes]
    else:
        codes, counts = np.unique(data, return_counts=True)
    known = {*legend.cropland, *legend.other, *legend.nodata}
    return {
        c.item(): int(n)
        for c, n in zip(codes, counts, strict=True)
        if c not in known and c != nodata and not np.isnan(c)
    }


def _average_onto(
    values: np.ndarray, transform: object, crs: CRS, grid: PixelGrid, path: Path
) -> np.ndarray:
    """Area-weighted average of ``values`` (NaN = no data) onto the grid."""
    out = np.full(grid.shape, np.nan, dtype=np.float32)
    try:
        reproject(
            source=values,
            destination=out,
            src_transform=transform,
            src_crs=crs,
            src_nodata=np.nan,
            dst_transform=grid.transform,
            dst_crs=grid.crs,
            dst_nodata=np.nan,
            resampling=Resampling.average,
        )
    except RasterioError as exc:
        raise InputError(
            path, f"cannot be warped to the tile grid ({exc})", "the file may be corrupt"
        ) from None
    return out


def _log_fraction(name: str, read: int, listed: int, fraction: np.ndarray) -> None:
    covered = float(np.isfinite(fraction).mean())
    if covered == 0:
        log.warning("%s: no file (of %d) has data on the grid; its fraction is NaN", name, listed)
        return
    log.info(
        "%s: %d of %d files read, %.1f %% of the grid covered, mean cropland fraction %.3f",
        name,
        read,
        listed,
        100 * covered,
        float(np.nanmean(fraction)),
    )
