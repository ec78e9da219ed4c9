"""One tile and year, file to file: what the ``smooth`` and ``features`` rules call.

``smooth_tile`` reads the fused NDVI stack (bands named by date, NaN = missing),
fits HANTS with time in days since 1 January of the year, and writes the smoothed
series on the same dates, a QA raster and the HANTS coefficients. ``features_tile``
reads the fused stack and the coefficients and writes the named feature stack.

Both work on blocks of rows (every quantity is per pixel, so no halo is needed):
memory depends on the block, not on the tile (``docs/scaling.md``, Memory).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from pathlib import Path
from typing import Any

import numpy as np

from agrifactory.backend import resolve_backend, to_numpy
from agrifactory.errors import ConfigError, InputError
from agrifactory.grid import PixelGrid, known_crs
from agrifactory.io.raster import Block, gdal_cache, grid_blocks, open_stack, stack_writer
from agrifactory.timeseries import DEFAULT_BLOCK_ROWS
from agrifactory.timeseries.features import PhenoSettings, feature_stack
from agrifactory.timeseries.hants import QA_BAND_NAMES, HantsParams, coefficient_names, hants_fit
from agrifactory.timeseries.timeaxis import days_since, season_year

log = logging.getLogger(__name__)

#: Pixels per daily reconstruction in the phenology: 8192 keeps its working arrays
#: (366 days x pixels, float64, several of them) near 0.1 GB instead of ~1 GB at 2**16.
FEATURE_CHUNK = 1 << 13


def _dates_in_year(
    dates: list[dt.date], year: int, path: str | Path, season_start_month: int = 1
) -> None:
    for i, d in enumerate(dates, start=1):
        if season_year(d, season_start_month) != year:
            what = "year" if season_start_month == 1 else "season"
            raise InputError(
                path,
                f"band {i} is dated {d.isoformat()}, outside the {what} {year}",
                f"a tile-year stack holds the dates of one {what} "
                f"(timeseries.season_start_month = {season_start_month})",
            )


def _row_blocks(shape: tuple[int, int], block_rows: int | None) -> list[Block]:
    if block_rows is not None and (int(block_rows) != block_rows or block_rows < 1):
        raise ConfigError(f"timeseries block_rows must be a positive integer, got {block_rows!r}")
    return grid_blocks(shape, None if block_rows is None else (block_rows, shape[1]))


def _grid(meta: dict[str, Any], shape: tuple[int, int]) -> PixelGrid:
    t = meta["transform"]
    crs = known_crs(meta["crs"])
    return PixelGrid(x_min=t.c, y_max=t.f, res=t.a, width=shape[1], height=shape[0], crs=crs)


def smooth_tile(
    fused: str | Path,
    *,
    smoothed: str | Path,
    qa: str | Path,
    coefficients: str | Path,
    year: int,
    params: HantsParams | None = None,
    backend: str = "auto",
    chunk_size: int | None = None,
    block_rows: int | None = DEFAULT_BLOCK_ROWS,
    season_start_month: int = 1,
) -> dict[str, float]:
    """HANTS-smooth a tile-year NDVI stack and write three COGs, ``block_rows`` rows at a time.

    Parameters
    ----------
    fused
        Input stack ``(T, rows, cols)`` float32, NaN = missing, bands named by date.
    smoothed
        Output: the HANTS curve on the input dates (float32, same band names).
    qa
        Output: float32 bands ``rmse, n_outliers, n_valid, n_freq_used, flag``
        (flag 0 full fit, 1 fewer frequencies, 2 no valid sample; rmse NaN then).
    coefficients
        Output: float32 bands ``harm_mean, harm_cos1, harm_sin1, ...`` (time in days
        since 1 January of ``year``), the input of :func:`features_tile`.
    year
        Year of the stack; every band date must lie in its season (the calendar
        year, or with ``season_start_month`` > 1 the 12 months ending before that
        month of ``year``). Time stays in days since 1 January of ``year`` (the
        season's earlier dates are negative; HANTS is periodic).
    params
        HANTS parameters (defaults if omitted).
    backend
        ``auto``, ``numpy`` or ``cupy`` (see :func:`agrifactory.backend.resolve_backend`).
    chunk_size
        Pixels solved together inside a block (see :func:`hants_fit`).
    block_rows
        Rows read, fitted and written at a time (``None``: the whole tile). Each
        pixel is fitted on its own, so the result does not depend on it; memory
        grows with ``block_rows`` x columns (``docs/scaling.md``, Memory).

    Returns
    -------
    dict
        ``pixels``, ``full_fit``, ``fewer_frequencies``, ``no_data`` (pixel counts of
        each flag) and ``outliers_per_series``.
    """
    params = params or HantsParams()
    xp = resolve_backend(backend)
    tags = {"hants_" + k: v for k, v in params.model_dump().items()}
    tags["time_origin"] = f"{year}-01-01"
    with gdal_cache(), open_stack(fused) as src:
        dates = src.dates
        _dates_in_year(dates, year, fused, season_start_month)
        blocks = _row_blocks(src.shape, block_rows)
        log.info(
            "HANTS on %s: %d dates, %s pixels in %d block(s), back end %s",
            fused, len(dates), src.shape, len(blocks), xp.__name__,
        )  # fmt: skip
        outputs = {"smoothed": smoothed, "qa": qa, "coefficients": coefficients}
        flags, outliers = _smooth_blocks(src, blocks, outputs, year, params, tags, xp, chunk_size)
    pixels = int(flags.sum())
    log.info(
        "HANTS done: %d full fits, %d with fewer frequencies, %d without valid samples; "
        "%.2f rejected samples per series",
        flags[0],
        flags[1],
        flags[2],
        outliers / max(pixels, 1),
    )
    return {
        "pixels": pixels,
        "full_fit": int(flags[0]),
        "fewer_frequencies": int(flags[1]),
        "no_data": int(flags[2]),
        "outliers_per_series": outliers / max(pixels, 1),
    }


def _smooth_blocks(
    src: Any,
    blocks: list[Block],
    outputs: dict[str, str | Path],
    year: int,
    params: HantsParams,
    tags: dict[str, Any],
    xp: Any,
    chunk_size: int | None,
) -> tuple[np.ndarray, int]:
    """Fit and write block after block; the pixel count of each flag and the outliers."""
    dates = src.dates
    t = days_since(dates, dt.date(year, 1, 1))
    grid = _grid(src.meta, src.shape)
    flags = np.zeros(3, dtype=np.int64)
    outliers = 0
    with (
        stack_writer(
            outputs["smoothed"], grid, count=len(dates), dtype=np.float32, nodata=np.nan,
            band_names=[d.isoformat() for d in dates], units="NDVI", tags=tags,
        ) as smoothed_out,
        stack_writer(
            outputs["qa"], grid, count=len(QA_BAND_NAMES), dtype=np.float32, nodata=np.nan,
            band_names=list(QA_BAND_NAMES), tags=tags,
        ) as qa_out,
        stack_writer(
            outputs["coefficients"], grid, count=params.n_params, dtype=np.float32,
            nodata=np.nan, band_names=coefficient_names(params.n_freq), units="NDVI", tags=tags,
        ) as coef_out,
    ):  # fmt: skip
        for k, block in enumerate(blocks, start=1):
            values = xp.asarray(src.read(block.core))
            result = hants_fit(values, t, params=params, chunk_size=chunk_size)
            smoothed_out.write_window(to_numpy(result.reconstruct(t)), block.core)
            qa_out.write_window(to_numpy(result.qa_bands()[0]), block.core)
            coef_out.write_window(to_numpy(result.coefficients), block.core)
            flags += np.bincount(to_numpy(result.flag).ravel(), minlength=3)
            outliers += int(to_numpy(result.n_outliers).sum(dtype=np.int64))
            del values, result
            if len(blocks) > 1:
                log.info("HANTS: block %d of %d written", k, len(blocks))
    return flags, outliers


def features_tile(
    fused: str | Path,
    coefficients: str | Path,
    *,
    features: str | Path,
    year: int,
    base_period: float,
    start_fraction: float = PhenoSettings().start_fraction,
    rate_fraction: float = PhenoSettings().rate_fraction,
    min_amplitude: float = PhenoSettings().min_amplitude,
    backend: str = "auto",
    block_rows: int | None = DEFAULT_BLOCK_ROWS,
    chunk_size: int = FEATURE_CHUNK,
    season_start_month: int = 1,
) -> list[str]:
    """Write the feature stack (float32 COG, one named band per feature) of a tile-year.

    ``coefficients`` is the output of :func:`smooth_tile`; ``base_period`` must be the
    one it was fitted with. Band names and definitions: ``docs/timeseries.md``.
    Works ``block_rows`` rows at a time (``None``: the whole tile); every feature is
    a per-pixel quantity, so the result does not depend on it. ``chunk_size`` is the
    pixels per daily reconstruction for the phenology (see :func:`feature_stack`).
    ``season_start_month`` as in :func:`smooth_tile`; the phenology still follows the
    daily HANTS curve over the calendar year (one period of it). Returns the band names.
    """
    xp = resolve_backend(backend)
    with (
        gdal_cache(),
        open_stack(fused) as src,
        open_stack(coefficients, dated=False) as coef_src,
    ):
        dates = src.dates
        _dates_in_year(dates, year, fused, season_start_month)
        if coef_src.shape != src.shape:
            raise InputError(
                coefficients,
                f"grid {coef_src.shape} differs from the stack's {src.shape}",
                "rerun the smooth rule for this tile",
            )
        expected = coefficient_names((coef_src.count - 1) // 2)
        found = coef_src.meta["descriptions"]
        if found != expected:
            raise InputError(coefficients, f"bands {found} are not {expected}")
        blocks = _row_blocks(src.shape, block_rows)
        writer = None
        with contextlib.ExitStack() as stack:
            for k, block in enumerate(blocks, start=1):
                part = feature_stack(
                    xp.asarray(src.read(block.core)),
                    dates,
                    xp.asarray(coef_src.read(block.core).astype(np.float64)),
                    base_period=base_period,
                    year=year,
                    start_fraction=start_fraction,
                    rate_fraction=rate_fraction,
                    min_amplitude=min_amplitude,
                    chunk_size=chunk_size,
                )
                if writer is None:  # band names and units come with the first block
                    names = part.names
                    writer = stack.enter_context(
                        stack_writer(
                            features, _grid(src.meta, src.shape), count=len(names),
                            dtype=np.float32, nodata=np.nan, band_names=names, units=part.units,
                        )
                    )  # fmt: skip
                writer.write_window(to_numpy(part.data), block.core)
                del part
                if len(blocks) > 1:
                    log.info("features: block %d of %d written", k, len(blocks))
    return names
