"""Raster input and output: COG writing, checked reading, warping onto the tile grid.

Every raster the factory writes is a tiled, compressed Cloud-Optimized GeoTIFF
with nodata, CRS, band descriptions (dates for time stacks) and units, written
to a temporary name and renamed when complete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError, RasterioIOError
from rasterio.warp import reproject

from agrifactory.errors import GridError, InputError
from agrifactory.grid import PixelGrid
from agrifactory.io.files import atomic_path, remove_stale_temporaries, temporary_sibling

DATE_FORMAT = "%Y-%m-%d"


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
    read each get a message that names the file and says what to do.
    """
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
        meta = {
            "transform": src.transform,
            "crs": src.crs,
            "nodata": src.nodata,
            "descriptions": list(src.descriptions),
            "units": list(src.units),
            "tags": src.tags(),
            "dtype": src.dtypes[0],
        }
    if masked_to_nan:
        out = data.astype(np.float32)
        if src.nodata is not None and not np.isnan(src.nodata):
            out[data == src.nodata] = np.nan
        return out, meta
    return data, meta


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


class StackWriter:
    """Band-by-band writer used inside :func:`stack_writer`."""

    def __init__(self, dataset: rasterio.io.DatasetWriter) -> None:
        self._ds = dataset
        self.written: set[int] = set()

    def write_band(self, index: int, data: np.ndarray) -> None:
        """Write band ``index`` (1-based)."""
        self._ds.write(np.asarray(data, dtype=self._ds.dtypes[0]), index)
        self.written.add(index)


@contextlib.contextmanager
def stack_writer(
    path: str | Path,
    grid: PixelGrid,
    *,
    count: int,
    dtype: Any,
    nodata: float | int | None,
    band_names: Sequence[str] | None = None,
    units: str | None = None,
    tags: dict[str, Any] | None = None,
) -> Iterator[StackWriter]:
    """Write a many-band COG one band at a time, never holding the whole stack.

    Bands go to a temporary tiled GeoTIFF; on success it is copied to a COG
    (GDAL streams the copy block by block) under a temporary name and renamed.
    Every band must have been written.
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
            missing = sorted(set(range(1, count + 1)) - writer.written)
            if missing:
                raise ValueError(f"{path}: bands {missing} were never written")
            for i, name in enumerate(band_names or [], start=1):
                dst.set_band_description(i, str(name))
            if units is not None:
                dst.units = tuple([units] * count)
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
