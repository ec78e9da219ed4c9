"""Monthly median composites of Landsat bands and indices (CropGlobe's 2-D features).

For each month of a tile's season, each pixel's median over its clear Landsat
observations of blue, green, red, NIR, SWIR1, SWIR2 and of six indices computed
per observation before the median:

* NDVI = (NIR - red) / (NIR + red)
* NDWI = (NIR - SWIR1) / (NIR + SWIR1) (Gao 1996, canopy water)
* EVI = 2.5 (NIR - red) / (NIR + 6 red - 7.5 blue + 1)
* NBR = (NIR - SWIR2) / (NIR + SWIR2) (Key and Benson 2006; canopy water and structure)
* NDTI = (SWIR1 - SWIR2) / (SWIR1 + SWIR2) (Van Deventer et al. 1997; dry straw and
  residue, i.e. when a crop ripens)
* GRVI = (green - red) / (green + red) (Tucker 1979; Motohka et al. 2010; flowering
  and canopy colour)

Trees split on one feature at a time, so a ratio of two bands is worth giving them
directly: on the demo's training samples (5-fold CV per region) NDTI, NBR and GRVI
raise crop type's OA by 3-4 points (docs/timeseries.md).

An index outside [-1, 1] (or undefined) is left out, as the ingest does for NDVI.
"Clear" is valid after the ingest's QA masking (``landsat_ndvi`` finite) and clear in
the quality stage's mask (0). A month without a clear observation at a pixel is the
mean of the months on either side where both were observed (linear interpolation at
equal spacing); a longer gap, or an empty first or last month, stays NaN. Each
pixel-month is flagged :data:`OBSERVED`, :data:`INTERPOLATED` or :data:`UNFILLED`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from rasterio.windows import Window

from agrifactory.errors import InputError
from agrifactory.ingest.rules import LANDSAT_REFLECTANCE
from agrifactory.io.raster import (
    StackReader,
    StackWriter,
    gdal_cache,
    open_stack,
    stack_writer,
)
from agrifactory.io.tables import write_table
from agrifactory.timeseries.tile import _grid, _row_blocks
from agrifactory.timeseries.timeaxis import season_year

log = logging.getLogger(__name__)

#: Landsat bands composited (ingest stacks ``landsat_<band>``).
REFLECTANCE_BANDS = LANDSAT_REFLECTANCE
#: Indices computed per observation.
INDEX_BANDS = ("ndvi", "ndwi", "evi", "nbr", "ndti", "grvi")
#: Every composited quantity, in the order of ``monthly.tif``'s bands.
MONTHLY_BANDS = (*REFLECTANCE_BANDS, *INDEX_BANDS)
#: Per-month flags (``flag_MM`` bands of ``monthly_counts.tif``).
OBSERVED, INTERPOLATED, UNFILLED = 0, 1, 2
#: Columns of the composites' ``qa.csv``.
QA_COLUMNS = [
    "month",
    "period",
    "scenes",
    "clear_scenes",
    "observed",
    "interpolated",
    "unfilled",
    "problem",
]
#: Problems of a month in ``qa.csv``.
NO_SCENE, NO_CLEAR_SCENE = "no_scene", "no_clear_scene"


def monthly_band_names() -> list[str]:
    """``monthly_{band}_{MM}``, band-major (all months of blue, then green, ...)."""
    return [f"monthly_{b}_{m:02d}" for b in MONTHLY_BANDS for m in range(1, 13)]


def count_band_names() -> list[str]:
    """Bands of ``monthly_counts.tif``: ``count_01..12``, then ``flag_01..12``."""
    return [f"{kind}_{m:02d}" for kind in ("count", "flag") for m in range(1, 13)]


def season_months(start_month: int = 1) -> list[int]:
    """Calendar months (1-12) of a season in time order, starting at ``start_month``."""
    return [(start_month - 1 + i) % 12 + 1 for i in range(12)]


def observation_indices(bands: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """:data:`INDEX_BANDS` of each observation from its reflectances ``blue`` ..
    ``swir2`` (float32; NaN where undefined or outside [-1, 1])."""
    blue, green, red = bands["blue"], bands["green"], bands["red"]
    nir, swir1, swir2 = bands["nir"], bands["swir1"], bands["swir2"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "ndvi": (nir - red) / (nir + red),
            "ndwi": (nir - swir1) / (nir + swir1),
            "evi": 2.5 * (nir - red) / (nir + 6.0 * red - 7.5 * blue + 1.0),
            "nbr": (nir - swir2) / (nir + swir2),
            "ndti": (swir1 - swir2) / (swir1 + swir2),
            "grvi": (green - red) / (green + red),
        }
    return {
        k: np.where(np.isfinite(v) & (np.abs(v) <= 1.0), v, np.nan).astype(np.float32)
        for k, v in out.items()
    }


def monthly_medians(
    values: Mapping[str, np.ndarray], clear: np.ndarray, month_index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel medians over the clear observations of each of the 12 months.

    Parameters
    ----------
    values
        Each of :data:`MONTHLY_BANDS` as (dates, rows, cols); NaN is left out.
    clear
        bool (dates, rows, cols): the observation is clear.
    month_index
        Month (0-11, in season order) of each date.

    Returns
    -------
    medians
        float32 (bands, 12, rows, cols), NaN where a month has no clear value.
    counts
        uint8 (12, rows, cols): clear observations per month (at most 255).
    """
    shape = clear.shape[1:]
    medians = np.full((len(MONTHLY_BANDS), 12, *shape), np.nan, np.float32)
    counts = np.zeros((12, *shape), np.uint8)
    for m in range(12):
        sel = np.flatnonzero(month_index == m)
        if sel.size == 0:
            continue
        ok = clear[sel]
        counts[m] = np.minimum(ok.sum(axis=0), 255)
        for b, name in enumerate(MONTHLY_BANDS):
            medians[b, m] = _nanmedian(np.where(ok, values[name][sel], np.nan))
    return medians, counts


def _nanmedian(stack: np.ndarray) -> np.ndarray:
    """Median over axis 0 ignoring NaN, NaN where all are NaN (as ``np.nanmedian``, faster
    for few dates: one sort, NaN last, then the middle one or two finite values)."""
    ordered = np.sort(stack, axis=0)
    n = np.isfinite(stack).sum(axis=0)
    lo = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0)[np.newaxis], axis=0)[0]
    hi = np.take_along_axis(ordered, np.maximum(n // 2, 0)[np.newaxis], axis=0)[0]
    return np.where(n > 0, 0.5 * (lo + hi), np.nan).astype(np.float32)


def fill_single_gaps(medians: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill one-month gaps between two observed months; flag every pixel-month.

    ``medians`` (bands, 12, rows, cols) and ``counts`` (12, rows, cols) in season order.
    Returns the filled medians and the uint8 flags (12, rows, cols): :data:`OBSERVED`,
    :data:`INTERPOLATED` (mean of both neighbours) or :data:`UNFILLED` (NaN).
    """
    observed = counts > 0
    flags = np.where(observed, OBSERVED, UNFILLED).astype(np.uint8)
    filled = medians.copy()
    for m in range(1, 11):
        gap = ~observed[m] & observed[m - 1] & observed[m + 1]
        flags[m][gap] = INTERPOLATED
        mean = 0.5 * (medians[:, m - 1] + medians[:, m + 1])
        filled[:, m] = np.where(gap, mean, medians[:, m])
    return filled, flags


def _stack_dates(paths: Mapping[str, str | Path]) -> list[dt.date]:
    """The dates every stack shares; stacks of other dates are an :class:`InputError`."""
    dates = None
    for name, path in paths.items():
        with open_stack(path) as stack:
            if dates is None:
                dates, first = stack.dates, path
            elif stack.dates != dates:
                raise InputError(
                    path,
                    f"its {len(stack.dates)} dates differ from the {len(dates)} of {first}",
                    f"the {name} stack must come from the same ingest run as the others: "
                    "rerun the tile's ingest and quality",
                )
    return dates or []


def composites_tile(
    stacks: Mapping[str, str | Path],
    outputs: Mapping[str, str | Path],
    year: int,
    season_start_month: int = 1,
    block_rows: int | None = None,
) -> pd.DataFrame:
    """Monthly composites of one tile-season; writes ``monthly``, ``counts`` and ``qa``.

    Parameters
    ----------
    stacks
        Paths of the ingest stacks ``landsat_<band>`` for :data:`REFLECTANCE_BANDS`,
        ``landsat_ndvi`` (masked by the ingest's QA flags) and the quality ``mask``.
    outputs
        Paths of ``monthly``, ``counts`` and ``qa``.
    year, season_start_month
        The season (see :func:`agrifactory.timeseries.timeaxis.season_year`).
    block_rows
        Rows composited at a time (None: the whole tile).

    Returns
    -------
    The QA table (one row per month, in season order).
    """
    dates = _stack_dates(stacks)
    in_season = [i for i, d in enumerate(dates) if season_year(d, season_start_month) == year]
    months = season_months(season_start_month)
    month_index = np.array([months.index(dates[i].month) for i in in_season], dtype=int)
    clear_scenes = np.zeros(len(in_season), bool)
    totals = np.zeros((3, 12))
    with contextlib.ExitStack() as ctx:
        ctx.enter_context(gdal_cache())  # or GDAL's dirty blocks grow to 5 % of memory
        readers = {k: ctx.enter_context(open_stack(p)) for k, p in stacks.items()}
        grid_shape = readers["mask"].shape
        writers = _open_writers(ctx, outputs, readers["mask"])
        for block in _row_blocks(grid_shape, block_rows):
            values, clear = _read_block(readers, block.core, [i + 1 for i in in_season])
            medians, counts = monthly_medians(values, clear, month_index)
            filled, flags = fill_single_gaps(medians, counts)
            clear_scenes |= clear.any(axis=(1, 2))
            for f in (OBSERVED, INTERPOLATED, UNFILLED):
                totals[f] += (flags == f).reshape(12, -1).sum(axis=1)
            _write_block(writers, filled, counts, flags, block.core, months)
    table = _qa_table(year, months, month_index, clear_scenes, totals)
    write_table(table, outputs["qa"])
    _warn(table, year)
    return table


def _open_writers(
    ctx: contextlib.ExitStack, outputs: Mapping[str, str | Path], ref: StackReader
) -> dict[str, StackWriter]:
    """Stack writers of ``monthly`` (float32, NaN) and ``counts`` (uint8) on the mask's grid."""
    grid = _grid(ref.meta, ref.shape)
    units = ["reflectance" if b in REFLECTANCE_BANDS else b for b in MONTHLY_BANDS]
    flag_values = f"{OBSERVED}=observed, {INTERPOLATED}=interpolated, {UNFILLED}=unfilled"
    monthly = ctx.enter_context(
        stack_writer(
            outputs["monthly"],
            grid,
            count=len(MONTHLY_BANDS) * 12,
            dtype=np.float32,
            nodata=np.nan,
            band_names=monthly_band_names(),
            units=[u for u in units for _ in range(12)],
        )
    )
    counts = ctx.enter_context(
        stack_writer(
            outputs["counts"],
            grid,
            count=24,
            dtype=np.uint8,
            nodata=None,
            band_names=count_band_names(),
            tags={"flag_values": flag_values},
        )
    )
    return {"monthly": monthly, "counts": counts}


def _read_block(
    readers: Mapping[str, StackReader], window: Window, bands: Sequence[int]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The block's bands and indices (dates, rows, cols) and its clear observations."""
    shape = (len(bands), int(window.height), int(window.width))
    if not bands:
        empty = np.zeros(shape, np.float32)
        return {n: empty for n in MONTHLY_BANDS}, np.zeros(shape, bool)
    values = {n: readers[f"landsat_{n}"].read(window, list(bands)) for n in REFLECTANCE_BANDS}
    ndvi_valid = np.isfinite(readers["landsat_ndvi"].read(window, list(bands)))
    clear = ndvi_valid & (readers["mask"].read(window, list(bands)) == 0)
    values.update(observation_indices(values))
    return values, clear


def _write_block(
    writers: Mapping[str, StackWriter],
    filled: np.ndarray,
    counts: np.ndarray,
    flags: np.ndarray,
    window: Window,
    months: Sequence[int],
) -> None:
    """Write one block, months reordered from season order to calendar order."""
    for i, month in enumerate(months):
        for b in range(len(MONTHLY_BANDS)):
            writers["monthly"].write_window(filled[b, i], window, b * 12 + month)
        writers["counts"].write_window(counts[i], window, month)
        writers["counts"].write_window(flags[i], window, 12 + month)


def _qa_table(
    year: int,
    months: Sequence[int],
    month_index: np.ndarray,
    clear_scenes: np.ndarray,
    totals: np.ndarray,
) -> pd.DataFrame:
    """One row per month: scenes, clear scenes, shares of pixels by flag, the problem."""
    pixels = totals[:, 0].sum()
    rows = []
    for i, month in enumerate(months):
        scenes = int((month_index == i).sum())
        clear = int(clear_scenes[month_index == i].sum())
        problem = NO_SCENE if scenes == 0 else NO_CLEAR_SCENE if clear == 0 else ""
        period_year = year - 1 if months[0] > 1 and month >= months[0] else year
        rows.append(
            {
                "month": month,
                "period": f"{period_year}-{month:02d}",
                "scenes": scenes,
                "clear_scenes": clear,
                "observed": totals[OBSERVED, i] / pixels,
                "interpolated": totals[INTERPOLATED, i] / pixels,
                "unfilled": totals[UNFILLED, i] / pixels,
                "problem": problem,
            }
        )
    return pd.DataFrame(rows, columns=QA_COLUMNS)


def _warn(table: pd.DataFrame, year: int) -> None:
    """A WARNING for each month without a clear scene, and for a season without any."""
    bad = table[table["problem"] != ""]
    if len(bad) == len(table):
        log.warning(
            "season %s: no clear Landsat observation in any month: the composites are all "
            "NaN (flag unfilled); see the composites' qa.csv",
            year,
        )
        return
    for _, row in bad.iterrows():
        log.warning(
            "season %s, %s: %s (%d scene(s)); the month is interpolated or NaN",
            year,
            row["period"],
            row["problem"],
            row["scenes"],
        )
