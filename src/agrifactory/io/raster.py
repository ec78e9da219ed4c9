"""Raster input and output: COG writing, checked reading, warping onto the tile grid.

Every raster the factory writes is a tiled, compressed Cloud-Optimized GeoTIFF
with nodata, CRS, band descriptions (dates for time stacks) and units, written
to a temporary name and renamed when complete.

Tiles too large for memory are processed in blocks: :func:`grid_blocks` cuts a
grid into core windows (each with a halo of context for windowed stages),
:func:`open_stack` reads any window of a stack, and :func:`stack_writer` writes
a stack window by window and checks at close that every pixel of every band was
written. :func:`gdal_cache` bounds the memory GDAL keeps for decoded blocks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError, RasterioIOError
from rasterio.warp import reproject
from rasterio.windows import Window

from agrifactory.errors import GridError, InputError
from agrifactory.grid import PixelGrid
from agrifactory.io import remote
from agrifactory.io.files import atomic_path, remove_stale_temporaries, temporary_sibling

DATE_FORMAT = "%Y-%m-%d"

#: GDAL block cache used by the block-wise stages, in MiB. GDAL's own default is 5 %
#: of the machine's memory (6.4 GB on a 128 GB node), all of which counts against a job.
GDAL_CACHE_MB = 64


def _compression_options(dtype: np.dtype, max_z_error: float | None) -> dict[str, Any]:
    if np.issubdtype(dtype, np.floating) and max_z_error is not None:
        return {"COMPRESS": "LERC_ZSTD", "MAX_Z_ERROR": max_z_error}
    return {"COMPRESS": "ZSTD", "PREDICTOR": "YES", "LEVEL": 6}


def write_raster(
    path: str | Path,
    data: np.ndarray,
    *,
    transform: Affine,
    crs: CRS | str,
    nodata: float | int | None,
    band_names: Sequence[str] | None = None,
    units: str | Sequence[str] | None = None,
    tags: dict[str, Any] | None = None,
    band_tags: Sequence[dict[str, Any]] | None = None,
    max_z_error: float | None = None,
    colormap: dict[int, tuple[int, ...]] | None = None,
) -> Path:
    """Write a 2-D or (bands, rows, cols) array as a COG, atomically.

    Parameters
    ----------
    path
        Output ``.tif`` path.
    data
        The pixels; 2-D arrays are written as one band.
    transform, crs
        Georeferencing of the grid.
    nodata
        Value marking missing pixels (``np.nan`` for floats).
    band_names
        One description per band (a date as ``YYYY-MM-DD`` for time stacks).
    units
        One unit string for all bands, or one per band.
    tags, band_tags
        Dataset-level and per-band metadata.
    max_z_error
        For float data, store with LERC_ZSTD within this absolute error; ``None``
        (the default) stores losslessly with ZSTD and a floating-point predictor.
    colormap
        Colours of band 1's values, ``{value: (r, g, b[, a])}``, for viewers
        (8- or 16-bit unsigned data).
    """
    arr = np.asarray(data)
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    if arr.ndim != 3:
        raise ValueError(f"expected a 2-D or 3-D array, got shape {arr.shape}")
    count, height, width = arr.shape
    if band_names is not None and len(band_names) != count:
        raise ValueError(f"{len(band_names)} band names for {count} bands")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    if isinstance(units, str):
        units = [units] * count
    profile = {
        "driver": "COG",
        "width": width,
        "height": height,
        "count": count,
        "dtype": arr.dtype,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "BLOCKSIZE": 256,
        "OVERVIEWS": "NONE",
        "BIGTIFF": "IF_SAFER",
        **_compression_options(arr.dtype, max_z_error),
    }
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr)
            if band_names is not None:
                for i, name in enumerate(band_names, start=1):
                    dst.set_band_description(i, str(name))
            if units is not None:
                dst.units = tuple(units)
            if tags:
                dst.update_tags(**{k: str(v) for k, v in tags.items()})
            for i, bt in enumerate(band_tags or [], start=1):
                dst.update_tags(i, **{k: str(v) for k, v in bt.items()})
            if colormap:
                dst.write_colormap(1, colormap)
    return Path(path)


def write_grid_raster(path: str | Path, data: np.ndarray, grid: PixelGrid, **kwargs: Any) -> Path:
    """:func:`write_raster` on a tile :class:`~agrifactory.grid.PixelGrid`."""
    arr = np.asarray(data)
    if arr.shape[-2:] != grid.shape:
        raise GridError(f"array of shape {arr.shape} does not fit the grid {grid.shape}")
    return write_raster(path, arr, transform=grid.transform, crs=grid.crs, **kwargs)


@contextlib.contextmanager
def open_raster(path: str | Path, *, need_crs: bool = True) -> Iterator[rasterio.DatasetReader]:
    """Open a raster for reading, turning GDAL's errors into :class:`InputError`.

    A missing file, a corrupt or truncated file and a raster whose CRS cannot be
    read each get a message that names the file and says what to do. A URL is read
    through GDAL's range requests (:mod:`agrifactory.io.remote`), signed first where
    the provider needs it; an HTTP error names the URL and says what to do.
    """
    if remote.is_url(path):
        try:
            src = rasterio.open(remote.local_copy(str(path)))
        except RasterioIOError as exc:
            raise InputError(str(path), *remote.http_problem(str(exc))) from None
    else:
        path = Path(path)
        if not path.exists():
            raise InputError(path, "file not found", "check the path in the config or inventory")
        try:
            src = rasterio.open(path)
        except RasterioIOError as exc:
            raise InputError(
                path,
                f"cannot be read as a raster ({exc})",
                "the file is corrupt or truncated: download or regenerate it",
            ) from None
    with src:
        if need_crs and src.crs is None:
            raise InputError(
                path,
                "has no readable CRS",
                "georeference it (e.g. gdal_edit.py -a_srs) or replace it",
            )
        yield src


def read_raster(
    path: str | Path, *, masked_to_nan: bool = True
) -> tuple[np.ndarray, dict[str, Any]]:
    """Read all bands of a raster as float32 with nodata as NaN.

    Returns
    -------
    data
        Array of shape (bands, rows, cols).
    meta
        ``transform``, ``crs``, ``nodata``, ``descriptions``, ``units``, ``tags``.
    """
    with open_raster(path) as src:
        try:
            data = src.read()
        except RasterioError as exc:
            raise InputError(
                path, f"pixel data cannot be decoded ({exc})", "the file is corrupt: replace it"
            ) from None
        meta = _metadata(src)
    if masked_to_nan:
        return _nodata_to_nan(data, src.nodata), meta
    return data, meta


def _metadata(src: rasterio.DatasetReader) -> dict[str, Any]:
    return {
        "transform": src.transform,
        "crs": src.crs,
        "nodata": src.nodata,
        "descriptions": list(src.descriptions),
        "units": list(src.units),
        "tags": src.tags(),
        "dtype": src.dtypes[0],
    }


def _nodata_to_nan(data: np.ndarray, nodata: float | None) -> np.ndarray:
    """float32 with nodata as NaN; ``data`` (freshly read) is reused when already float32."""
    out = data.astype(np.float32, copy=False)
    if nodata is not None and not np.isnan(nodata):
        out[data == nodata] = np.nan
    return out


def band_dates(descriptions: Sequence[str | None], path: str | Path) -> list[dt.date]:
    """Parse ``YYYY-MM-DD`` band descriptions of a time stack; an error names the band."""
    dates = []
    for i, d in enumerate(descriptions, start=1):
        try:
            dates.append(dt.datetime.strptime(str(d), DATE_FORMAT).date())
        except ValueError:
            raise InputError(
                path,
                f"band {i} description {d!r} is not a date (YYYY-MM-DD)",
                "time stacks name each band by its date",
            ) from None
    return dates


def read_stack(path: str | Path) -> tuple[np.ndarray, list[dt.date], dict[str, Any]]:
    """Read a time stack written by the factory: data, band dates and metadata."""
    data, meta = read_raster(path)
    return data, band_dates(meta["descriptions"], path), meta


@dataclass(frozen=True)
class Block:
    """A piece of a grid: the ``core`` window it produces and the ``read`` window it needs.

    ``read`` is ``core`` grown by the halo on every side and clipped to the grid.
    """

    core: Window
    read: Window

    @property
    def inner(self) -> tuple[slice, slice]:
        """The core as (row, column) slices of an array read over ``read``."""
        r = self.core.row_off - self.read.row_off
        c = self.core.col_off - self.read.col_off
        return slice(r, r + self.core.height), slice(c, c + self.core.width)


def grid_blocks(
    shape: tuple[int, int], size: int | tuple[int, int] | None, halo: int = 0
) -> list[Block]:
    """Cut a (rows, cols) grid into blocks, row by row from the top-left corner.

    Parameters
    ----------
    shape
        (rows, cols) of the grid.
    size
        Core size: an edge for square blocks or (rows, cols); ``None`` gives one
        block. Blocks start at multiples of ``size``; the last in a row or column
        are smaller.
    halo
        Pixels of context read around each core (clipped at the grid's edge).
    """
    rows, cols = shape
    if size is None:
        size = (rows, cols)
    br, bc = (size, size) if isinstance(size, int) else size
    if br < 1 or bc < 1 or halo < 0:
        raise ValueError(f"block size {size} must be positive and halo {halo} >= 0")
    out = []
    for r0 in range(0, rows, br):
        for c0 in range(0, cols, bc):
            r1, c1 = min(r0 + br, rows), min(c0 + bc, cols)
            h0, h1 = max(r0 - halo, 0), min(r1 + halo, rows)
            g0, g1 = max(c0 - halo, 0), min(c1 + halo, cols)
            out.append(
                Block(
                    core=Window(c0, r0, c1 - c0, r1 - r0),
                    read=Window(g0, h0, g1 - g0, h1 - h0),
                )
            )
    return out


def _check_window(window: Window, height: int, width: int, what: str) -> None:
    inside = (
        window.row_off >= 0
        and window.col_off >= 0
        and window.height >= 1
        and window.width >= 1
        and window.row_off + window.height <= height
        and window.col_off + window.width <= width
    )
    if not inside:
        raise ValueError(f"{what}: window {window} does not lie inside the grid {(height, width)}")


class StackReader:
    """Windowed reading of one open stack (see :func:`open_stack`).

    Attributes
    ----------
    path
        The file.
    meta
        As from :func:`read_raster`.
    count, shape
        Number of bands and (rows, cols).
    dates
        Band dates of a time stack, or ``None`` when opened with ``dated=False``.
    """

    def __init__(self, src: rasterio.DatasetReader, path: Path, dated: bool) -> None:
        self._src = src
        self.path = path
        self.meta = _metadata(src)
        self.count = src.count
        self.shape = (src.height, src.width)
        self.dates = band_dates(self.meta["descriptions"], path) if dated else None

    def band(self, date: dt.date) -> int:
        """The 1-based band index of ``date``; an :class:`InputError` if the stack lacks it."""
        if self.dates is None or date not in self.dates:
            raise InputError(self.path, f"has no band dated {date.isoformat()}")
        return self.dates.index(date) + 1

    def read(
        self, window: Window | None = None, bands: int | Sequence[int] | None = None
    ) -> np.ndarray:
        """Read ``bands`` (1-based; all if ``None``) over ``window`` as float32, nodata as NaN.

        Returns (bands, rows, cols), or (rows, cols) when ``bands`` is one int.
        """
        if window is None:
            window = Window(0, 0, self.shape[1], self.shape[0])
        _check_window(window, *self.shape, str(self.path))
        indexes = list(range(1, self.count + 1)) if bands is None else bands
        try:
            data = self._src.read(indexes, window=window)
        except RasterioError as exc:
            raise InputError(
                self.path,
                f"pixel data cannot be decoded ({exc})",
                "the file is corrupt: replace it",
            ) from None
        return _nodata_to_nan(data, self._src.nodata)


@contextlib.contextmanager
def open_stack(path: str | Path, *, dated: bool = True) -> Iterator[StackReader]:
    """Open a stack for reading window by window (bands named by date unless ``dated=False``).

    Examples
    --------
    >>> with open_stack("ndvi.tif") as stack:  # doctest: +SKIP
    ...     block = stack.read(Window(0, 0, 512, 512))  # (bands, 512, 512), NaN = nodata
    """
    with open_raster(path) as src:
        yield StackReader(src, Path(path), dated)


def gdal_cache(megabytes: int = GDAL_CACHE_MB) -> rasterio.Env:
    """A context in which GDAL keeps at most ``megabytes`` of decoded raster blocks."""
    return rasterio.Env(GDAL_CACHEMAX=int(megabytes) * 2**20)


def check_on_grid(
    meta: dict[str, Any], grid: PixelGrid, path: str | Path, shape: tuple[int, int]
) -> None:
    """Raise :class:`GridError` unless a raster read by :func:`read_raster` lies on ``grid``."""
    same_crs = CRS.from_user_input(meta["crs"]).equals(grid.crs, ignore_axis_order=True)
    same_transform = meta["transform"].almost_equals(grid.transform, precision=1e-6)
    if not (same_crs and same_transform and tuple(shape) == grid.shape):
        raise GridError(
            f"{path}: not on the expected tile grid (CRS equal: {same_crs}, transform "
            f"{tuple(meta['transform'])[:6]} vs {tuple(grid.transform)[:6]}, shape {tuple(shape)} "
            f"vs {grid.shape}); rerun the stage that produced it"
        )


def warp_to_grid(
    src: rasterio.DatasetReader,
    band: int,
    grid: PixelGrid,
    *,
    resampling: Resampling = Resampling.nearest,
    dtype: type = np.float32,
    dst_nodata: float | int = np.nan,
) -> np.ndarray:
    """Warp one band of an open raster onto a tile grid.

    Pixels the source does not cover, and source nodata, come out as ``dst_nodata``.
    """
    out = np.full(grid.shape, dst_nodata, dtype=dtype)
    try:
        reproject(
            source=rasterio.band(src, band),
            destination=out,
            src_nodata=src.nodata,
            dst_transform=grid.transform,
            dst_crs=grid.crs,
            dst_nodata=dst_nodata,
            resampling=resampling,
        )
    except RasterioError as exc:
        raise InputError(
            src.name,
            f"band {band} cannot be warped to the tile grid ({exc})",
            "the file may be corrupt",
        ) from None
    return out


def uncovered_pixels(windows: Sequence[Window], height: int, width: int) -> int:
    """Number of pixels of a (height, width) grid that no window covers.

    The windows' edges cut the grid into rectangles that each window covers
    wholly or not at all, so the count is exact whatever the overlaps.
    """
    if not windows:
        return height * width
    spans = [(w.row_off, w.row_off + w.height, w.col_off, w.col_off + w.width) for w in windows]
    rows = np.unique([0, height, *(v for s in spans for v in s[:2])])
    cols = np.unique([0, width, *(v for s in spans for v in s[2:])])
    covered = np.zeros((rows.size - 1, cols.size - 1), dtype=bool)
    for r0, r1, c0, c1 in spans:
        i0, i1 = np.searchsorted(rows, [r0, r1])
        j0, j1 = np.searchsorted(cols, [c0, c1])
        covered[i0:i1, j0:j1] = True
    area = np.outer(np.diff(rows), np.diff(cols))
    return int(area[~covered].sum())


class StackWriter:
    """Band- or window-wise writer used inside :func:`stack_writer`.

    It records every window written, so that the stack can be checked at close
    for pixels never written.
    """

    def __init__(self, dataset: rasterio.io.DatasetWriter) -> None:
        self._ds = dataset
        self.shape = (dataset.height, dataset.width)
        self.windows: dict[int, list[Window]] = {}

    @property
    def written(self) -> set[int]:
        """The bands that received at least one write."""
        return set(self.windows)

    def write_band(self, index: int, data: np.ndarray) -> None:
        """Write band ``index`` (1-based) whole."""
        self.write_window(data, Window(0, 0, self.shape[1], self.shape[0]), index)

    def write_window(self, data: np.ndarray, window: Window, index: int | None = None) -> None:
        """Write ``data`` over ``window``.

        A 2-D array goes to band ``index`` (1-based); a (count, rows, cols) array,
        with ``index=None``, to every band.
        """
        arr = np.asarray(data, dtype=self._ds.dtypes[0])
        _check_window(window, *self.shape, self._ds.name)
        want = (int(window.height), int(window.width))
        if index is None:
            if arr.shape != (self._ds.count, *want):
                raise ValueError(f"data of shape {arr.shape} for all bands over window {want}")
            indexes = list(range(1, self._ds.count + 1))
        else:
            if arr.shape != want:
                raise ValueError(f"data of shape {arr.shape} for one band over window {want}")
            if not 1 <= index <= self._ds.count:
                raise ValueError(f"band {index} outside 1..{self._ds.count}")
            indexes = [index]
        self._ds.write(arr, index, window=window)
        for i in indexes:
            self.windows.setdefault(i, []).append(window)

    def incomplete(self) -> dict[int, int]:
        """Bands with pixels never written, and how many (bands never touched included)."""
        out = {}
        for i in range(1, self._ds.count + 1):
            missing = uncovered_pixels(self.windows.get(i, []), *self.shape)
            if missing:
                out[i] = missing
        return out


@contextlib.contextmanager
def stack_writer(
    path: str | Path,
    grid: PixelGrid,
    *,
    count: int,
    dtype: Any,
    nodata: float | int | None,
    band_names: Sequence[str] | None = None,
    units: str | Sequence[str] | None = None,
    tags: dict[str, Any] | None = None,
) -> Iterator[StackWriter]:
    """Write a many-band COG band by band or window by window, never holding the whole stack.

    Bands go to a temporary tiled GeoTIFF; on success it is copied to a COG
    (GDAL streams the copy block by block) under a temporary name and renamed.
    Every pixel of every band must have been written (checked from the windows
    written, see :meth:`StackWriter.incomplete`); otherwise nothing is kept.
    """
    from rasterio.shutil import copy as rio_copy

    if count < 1:
        raise ValueError("a stack needs at least one band")
    path = Path(path)
    dtype = np.dtype(dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path, tag="staging")
    staging = temporary_sibling(path, tag="staging")
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": count,
        "dtype": dtype,
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "zstd",
        "zstd_level": 1,
        "bigtiff": "IF_SAFER",
        "interleave": "band",
    }
    try:
        with rasterio.open(staging, "w", **profile) as dst:
            writer = StackWriter(dst)
            yield writer
            incomplete = writer.incomplete()
            never = [i for i in sorted(incomplete) if i not in writer.written]
            if never:
                raise ValueError(f"{path}: bands {never} were never written")
            if incomplete:
                first = min(incomplete)
                raise ValueError(
                    f"{path}: bands {sorted(incomplete)} were only partly written "
                    f"(band {first}: {incomplete[first]} of {grid.width * grid.height} pixels "
                    "never written)"
                )
            for i, name in enumerate(band_names or [], start=1):
                dst.set_band_description(i, str(name))
            if units is not None:
                dst.units = tuple([units] * count if isinstance(units, str) else units)
            if tags:
                dst.update_tags(**{k: str(v) for k, v in tags.items()})
        with atomic_path(path) as tmp:
            rio_copy(
                staging,
                tmp,
                driver="COG",
                BLOCKSIZE=256,
                OVERVIEWS="NONE",
                BIGTIFF="IF_SAFER",
                **_compression_options(dtype, None),
            )
    finally:
        staging.unlink(missing_ok=True)
