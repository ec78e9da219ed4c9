"""Ingest one tile-year: Landsat and MODIS date stacks on the tile's 30 m grid.

For one tile and year (plus a margin of days on both sides, so the year's first
and last 8-day dates have bracketing scenes), every Landsat scene is warped onto
the tile grid, its QA bits are decoded and NDVI is masked where the scene is
fill, cloud, shadow, snow or saturated. Scenes of the same date (neighbouring
rows of one path) are mosaicked. MODIS composites are warped with nearest
resampling so their cells stay blocky, as ESTARFM expects.

Outputs are COG stacks with one band per date (the date in the band
description), an inventory table with one row per date and sensor, and the QA
table of the tile's scenes (:mod:`agrifactory.ingest.qa`).

Steps: check that every listed file opens (:func:`usable_rows`, before any
work: an unreadable file fails the job at once, or is skipped under
``ingest.bad_scene: skip``), then read and write one date at a time
(:func:`write_landsat`, :func:`write_modis`), then the tables.

Memory: the stage streams one date at a time (the warped bands, QA and masks of
one date, about 10 bytes x 9 bands per pixel: ~0.9 GB for a 4000 x 4000 tile), so
it never holds a whole stack; see ``docs/scaling.md``, Memory.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agrifactory.errors import DataError, InputError
from agrifactory.grid import PixelGrid, Tile
from agrifactory.ingest.qa import UNREADABLE, QaLog
from agrifactory.ingest.rules import LANDSAT_BANDS, LANDSAT_FLOAT, LANDSAT_QA, IngestSettings
from agrifactory.ingest.scenes import (
    Scene,
    empty_scene,
    landsat_masks,
    masked_ndvi,
    modis_files,
    read_landsat_date,
    read_modis_composite,
)
from agrifactory.io import landsat as l8
from agrifactory.io import remote
from agrifactory.io.inventory import landsat_files, raster_header
from agrifactory.io.raster import gdal_cache, stack_writer
from agrifactory.io.scaling import ProductScaling
from agrifactory.io.tables import write_table

log = logging.getLogger(__name__)

#: Decimals of the fractions in the tile's inventory table.
FRACTION_FORMAT = "%.6f"


def _files(row: pd.Series, sensor: str) -> list[str]:
    """The files the ingest reads for one inventory row."""
    if sensor == "modis":
        return list(modis_files(row).values())
    return list(landsat_files(row, LANDSAT_BANDS).values())


def usable_rows(
    rows: pd.DataFrame, sensor: str, settings: IngestSettings, qa: QaLog
) -> pd.DataFrame:
    """The rows whose files all open, checked before any work.

    Under ``bad_scene: fail`` an unreadable file is an :class:`InputError` naming
    it; under ``skip`` its scene is recorded in the QA table and left out.
    """
    keep = []
    for _, row in rows.iterrows():
        try:
            for path in _files(row, sensor):
                remote.reading(path, lambda path=path: raster_header(path), f"{sensor} {row['id']}")
        except InputError as exc:
            if settings.bad_scene == "fail":
                hint = "or set ingest.bad_scene: skip to ingest the tile without it"
                raise InputError(
                    exc.path, exc.problem, f"{exc.hint}; {hint}" if exc.hint else hint
                ) from None
            qa.add(sensor, row["id"], row["date"], exc.path, UNREADABLE, f"{exc.problem}: skipped")
            keep.append(False)
            continue
        keep.append(True)
    return rows[np.array(keep, dtype=bool)] if len(rows) else rows


def _check_scenes(
    tile: Tile, year: int, landsat: pd.DataFrame, modis: pd.DataFrame, qa: QaLog | None = None
) -> None:
    """Both sensors have scenes for the tile (before the readability check, or after it)."""
    for sensor, rows in (("Landsat scene", landsat), ("MODIS composite", modis)):
        if rows.empty and qa is None:
            raise DataError(
                f"tile {tile.id}, {year}: no {sensor} in the inventory covers it; "
                "check the inventory and the year"
            )
        if rows.empty:
            raise DataError(
                f"tile {tile.id}, {year}: every {sensor} listed for it is unreadable "
                f"({len(qa.records)} QA record(s), see the log); restore the files"
            )


def _open_landsat_writers(
    stack: contextlib.ExitStack,
    outputs: Mapping[str, str | Path],
    grid: PixelGrid,
    names: list[str],
    settings: IngestSettings,
) -> dict[str, Any]:
    """One stack writer per Landsat output, each with a band per date."""

    def writer(key: str, dtype: type, nodata: float | None, units: str, **kw: Any) -> Any:
        return stack.enter_context(
            stack_writer(
                outputs[key],
                grid,
                count=len(names),
                dtype=dtype,
                nodata=nodata,
                band_names=names,
                units=units,
                **kw,
            )
        )

    writers = {
        f"landsat_{n}": writer(f"landsat_{n}", np.float32, np.nan, u)
        for n, u in LANDSAT_FLOAT.items()
    }
    for n in LANDSAT_QA:
        writers[f"landsat_{n.lower()}"] = writer(f"landsat_{n.lower()}", np.uint16, None, "bits")
    writers["landsat_ndvi"] = writer(
        "landsat_ndvi", np.float32, np.nan, "NDVI", tags={"masked": ",".join(settings.mask)}
    )
    return writers


def _landsat_date(rows: pd.DataFrame, target: StackTarget) -> Scene:
    """One date's scenes; under ``bad_scene: skip`` a file that fails while warped drops its scene."""
    grid, settings, qa = target.grid, target.settings, target.qa
    date, ids = rows["date"].iloc[0], list(rows["id"])
    while not rows.empty:
        try:
            return read_landsat_date(rows, grid, settings, qa, target.scaling)
        except InputError as exc:
            bad = np.array([str(exc.path) in _files(row, "landsat") for _, row in rows.iterrows()])
            if settings.bad_scene == "fail" or not bad.any():
                raise
            for _, row in rows[bad].iterrows():
                qa.add("landsat", row["id"], date, exc.path, UNREADABLE, f"{exc.problem}: skipped")
            rows = rows[~bad]
    return empty_scene(date, ids, grid)


@dataclass(frozen=True)
class StackTarget:
    """Where a tile-year's stacks go: its grid, output paths, settings, QA log, and the
    scaling of files that give none."""

    grid: PixelGrid
    outputs: Mapping[str, str | Path]
    settings: IngestSettings
    qa: QaLog
    scaling: ProductScaling = ProductScaling()


def write_landsat(
    stack: contextlib.ExitStack, rows: pd.DataFrame, target: StackTarget
) -> list[dict[str, Any]]:
    """Read, mask and write the Landsat dates one at a time; returns one inventory record per date."""
    grid, outputs, settings = target.grid, target.outputs, target.settings
    dates = sorted(set(rows["date"]))
    writers = _open_landsat_writers(stack, outputs, grid, [d.isoformat() for d in dates], settings)
    records = []
    for i, date in enumerate(dates, start=1):
        scene = _landsat_date(rows[rows["date"] == date], target)
        family = l8.parse_product_id(scene.ids[0]).family
        masks = landsat_masks(scene, family, settings.mask)
        ndvi = masked_ndvi(scene.bands["red"], scene.bands["nir"], masks, settings.mask)
        for n in LANDSAT_FLOAT:
            writers[f"landsat_{n}"].write_band(i, scene.bands[n])
        for n in LANDSAT_QA:
            writers[f"landsat_{n.lower()}"].write_band(i, scene.bands[n])
        writers["landsat_ndvi"].write_band(i, ndvi)
        records.append(
            {
                "date": date.isoformat(),
                "sensor": "landsat",
                "ids": ";".join(scene.ids),
                "valid_fraction": float(np.isfinite(ndvi).mean()),
                **{f"{k}_fraction": float(v.mean()) for k, v in masks.items()},
                "missing_files": ";".join(sorted(scene.missing)),
            }
        )
        log.info(
            "landsat %d/%d %s valid %.1f%%",
            i,
            len(dates),
            date,
            100 * records[-1]["valid_fraction"],
        )
    return records


def write_modis(rows: pd.DataFrame, target: StackTarget) -> list[dict[str, Any]]:
    """Read and write the MODIS composites one date at a time; one inventory record per date."""
    grid, outputs, settings, qa = target.grid, target.outputs, target.settings, target.qa
    dates = sorted(set(rows["date"]))
    records = []
    with stack_writer(
        outputs["modis_ndvi"],
        grid,
        count=len(dates),
        dtype=np.float32,
        nodata=np.nan,
        band_names=[d.isoformat() for d in dates],
        units="NDVI",
    ) as writer:
        for i, date in enumerate(dates, start=1):
            same = rows[rows["date"] == date]
            ndvi = np.full(grid.shape, np.nan, np.float32)
            for _, row in same.iterrows():
                try:
                    part = read_modis_composite(row, grid, qa, target.scaling.modis)
                except InputError as exc:
                    if settings.bad_scene == "fail":
                        raise
                    qa.add(
                        "modis", row["id"], date, exc.path, UNREADABLE, f"{exc.problem}: skipped"
                    )
                    continue
                ndvi = np.where(np.isnan(ndvi), part, ndvi)
            writer.write_band(i, ndvi)
            records.append(
                {
                    "date": date.isoformat(),
                    "sensor": "modis",
                    "ids": ";".join(same["id"]),
                    "valid_fraction": float(np.isfinite(ndvi).mean()),
                }
            )
        log.info("modis: %d composites", len(dates))
    return records


def _formatted(table: pd.DataFrame) -> pd.DataFrame:
    """Float columns as text with :data:`FRACTION_FORMAT` (NaN empty), as ``to_csv(float_format=...)`` writes them."""
    out = table.copy()
    for col in out.select_dtypes("float").columns:
        out[col] = [FRACTION_FORMAT % v if np.isfinite(v) else "" for v in out[col]]
    return out


def ingest_tile(
    tile: Tile,
    year: int,
    landsat_rows: pd.DataFrame,
    modis_rows: pd.DataFrame,
    outputs: Mapping[str, str | Path],
    settings: IngestSettings | None = None,
    scaling: ProductScaling | None = None,
) -> pd.DataFrame:
    """Ingest one tile and year; writes every output of :data:`~agrifactory.ingest.rules.OUTPUTS`.

    Parameters
    ----------
    tile, year
        What to ingest.
    landsat_rows, modis_rows
        Inventory rows (see :mod:`agrifactory.io.inventory`) already selected for
        the tile and the year's window.
    outputs
        Path of each output name.
    settings
        Ingest settings (the defaults when None).
    scaling
        Scale and offset where a file gives none (the documented ones when None).

    Returns
    -------
    The tile's inventory table (one row per date and sensor).
    """
    settings = settings or IngestSettings()
    grid = tile.grid()
    qa = QaLog(tile.id, year)
    _check_scenes(tile, year, landsat_rows, modis_rows)
    landsat_rows = usable_rows(landsat_rows, "landsat", settings, qa)
    modis_rows = usable_rows(modis_rows, "modis", settings, qa)
    _check_scenes(tile, year, landsat_rows, modis_rows, qa)
    with contextlib.ExitStack() as stack:
        # One date at a time is held (a few bands of the tile); GDAL's block cache is
        # capped too, or its dirty blocks would grow to 5 % of the node's memory.
        stack.enter_context(gdal_cache())
        target = StackTarget(grid, outputs, settings, qa, scaling or ProductScaling())
        records = write_landsat(stack, landsat_rows, target)
        records += write_modis(modis_rows, target)
    table = pd.DataFrame(records)
    write_table(_formatted(table), outputs["inventory"])
    write_table(qa.table(), outputs["qa"])
    if qa.records:
        log.warning(
            "tile %s, %s: %d QA record(s) in %s", tile.id, year, len(qa.records), outputs["qa"]
        )
    return table
