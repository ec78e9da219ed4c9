"""Ingest: Landsat and MODIS scenes warped onto one tile's 30 m grid, as date stacks.

For one tile and year (plus a margin of days on both sides, so the year's first
and last 8-day dates have bracketing scenes), every Landsat scene is warped onto
the tile grid, its QA bits are decoded and NDVI is masked where the scene is
fill, cloud, shadow, snow or saturated. Scenes of the same date (neighbouring
rows of one path) are mosaicked. MODIS composites are warped with nearest
resampling so their cells stay blocky, as ESTARFM expects.

Outputs are COG stacks with one band per date (the date in the band
description) and an inventory table with one row per date and sensor.

Memory: the stage streams one date at a time (the warped bands, QA and masks of
one date, about 10 bytes x 6 bands per pixel: ~0.6 GB for a 4000 x 4000 tile), so
it never holds a whole stack; see ``docs/scaling.md``, Memory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rasterio.enums import Resampling

from agrifactory.errors import DataError, InputError
from agrifactory.grid import PixelGrid, Tile
from agrifactory.io import landsat as l8
from agrifactory.io import modis
from agrifactory.io.files import atomic_path
from agrifactory.io.inventory import landsat_files
from agrifactory.io.raster import gdal_cache, open_raster, stack_writer, warp_to_grid

log = logging.getLogger(__name__)

#: Float stacks of Landsat (name -> units) and the QA stacks (uint16).
LANDSAT_FLOAT = {"blue": "reflectance", "red": "reflectance", "nir": "reflectance", "thermal": "K"}
LANDSAT_QA = ("QA_PIXEL", "QA_RADSAT")
MASK_FLAGS = ("fill", "cloud", "shadow", "snow", "saturated")

#: Output keys of :func:`ingest_tile`.
OUTPUTS = (
    "landsat_blue",
    "landsat_red",
    "landsat_nir",
    "landsat_thermal",
    "landsat_qa_pixel",
    "landsat_qa_radsat",
    "landsat_ndvi",
    "modis_ndvi",
    "inventory",
)


@dataclass(frozen=True)
class IngestParams:
    """Tunables of the ingest stage (config section ``ingest``)."""

    margin_days: int = 40
    mask: tuple[str, ...] = MASK_FLAGS
    resampling: str = "bilinear"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.mask) - set(MASK_FLAGS))
        if unknown:
            raise ValueError(
                f"ingest.mask: unknown flag(s) {unknown}; choose from {list(MASK_FLAGS)}"
            )


@dataclass
class _Scene:
    """One date of Landsat on the tile grid."""

    date: dt.date
    ids: list[str]
    bands: dict[str, np.ndarray] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)


def _warp_mosaic(
    paths: Sequence[str], grid: PixelGrid, resampling: Resampling, dtype: type, nodata: float
) -> np.ndarray:
    """Warp files of one date onto the grid; the first file with data wins each pixel."""
    out = np.full(grid.shape, nodata, dtype=dtype)
    for path in paths:
        with open_raster(path) as src:
            part = warp_to_grid(src, 1, grid, resampling=resampling, dtype=dtype, dst_nodata=nodata)
        empty = np.isnan(out) if np.isnan(nodata) else out == nodata
        out[empty] = part[empty]
    return out


def _read_landsat_date(rows: pd.DataFrame, grid: PixelGrid, params: IngestParams) -> _Scene:
    """Warp every band of the scenes of one date and compute the masked NDVI."""
    scene = _Scene(date=rows["date"].iloc[0], ids=list(rows["id"]))
    files = [landsat_files(r, list(LANDSAT_FLOAT) + list(LANDSAT_QA)) for _, r in rows.iterrows()]
    for name in ("red", "nir"):
        if not any(name in f for f in files):
            raise InputError(
                rows["path"].iloc[0],
                f"scene {scene.ids[0]} has no {name} band file",
                "re-download the scene",
            )
    resampling = Resampling[params.resampling]
    for name in LANDSAT_FLOAT:
        paths = [f[name] for f in files if name in f]
        if not paths:
            scene.missing.add(name)
            scene.bands[name] = np.full(grid.shape, np.nan, np.float32)
            continue
        dn = _warp_mosaic(paths, grid, resampling, np.float32, np.nan)
        valid_dn = np.isfinite(dn) & (dn >= 1)
        dn[~valid_dn] = 0
        scene.bands[name] = l8.temperature(dn) if name == "thermal" else l8.reflectance(dn)
    for name, fill in (("QA_PIXEL", 1), ("QA_RADSAT", 0)):
        paths = [f[name] for f in files if name in f]
        if not paths:
            scene.missing.add(name)
            scene.bands[name] = np.zeros(grid.shape, np.uint16)
            continue
        warped = _warp_mosaic(paths, grid, Resampling.nearest, np.float32, np.nan)
        scene.bands[name] = np.where(np.isfinite(warped), warped, fill).astype(np.uint16)
    if scene.missing:
        log.warning(
            "%s (%s): no %s file; recorded in the inventory",
            scene.date,
            ",".join(scene.ids),
            sorted(scene.missing),
        )
    return scene


def landsat_masks(scene: _Scene, sensor_family: str) -> dict[str, np.ndarray]:
    """Boolean masks of one warped date: each QA flag, plus invalid reflectance."""
    red, nir = scene.bands["red"], scene.bands["nir"]
    invalid = ~(np.isfinite(red) & np.isfinite(nir))
    if "QA_PIXEL" in scene.missing:
        qa = {k: np.zeros(red.shape, bool) for k in ("fill", "cloud", "shadow", "snow")}
    else:
        qa = l8.decode_qa_pixel(scene.bands["QA_PIXEL"])
    bands = [l8.band_number(l8.band_suffix(sensor_family, n)) for n in ("red", "nir")]
    sat = l8.saturated(scene.bands["QA_RADSAT"], bands)
    return {
        "fill": qa["fill"] | invalid,
        "cloud": qa["cloud"],
        "shadow": qa["shadow"],
        "snow": qa["snow"],
        "saturated": sat,
    }


def masked_ndvi(
    red: np.ndarray, nir: np.ndarray, masks: Mapping[str, np.ndarray], flags: Sequence[str]
) -> np.ndarray:
    """NDVI = (NIR - red) / (NIR + red), NaN where any of ``flags`` is set or NDVI is not in [-1, 1]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = (nir - red) / (nir + red)
    bad = ~np.isfinite(ndvi) | (ndvi < -1.0) | (ndvi > 1.0)
    for flag in flags:
        bad |= masks[flag]
    return np.where(bad, np.nan, ndvi).astype(np.float32)


def ingest_tile(
    tile: Tile,
    year: int,
    landsat_rows: pd.DataFrame,
    modis_rows: pd.DataFrame,
    outputs: Mapping[str, str | Path],
    params: IngestParams = IngestParams(),
) -> pd.DataFrame:
    """Ingest one tile and year; writes every key of :data:`OUTPUTS` and returns the inventory.

    Parameters
    ----------
    tile, year
        What to ingest.
    landsat_rows, modis_rows
        Inventory rows (see :mod:`agrifactory.io.inventory`) already selected for
        the tile and the year's window.
    outputs
        Path of each output key.
    params
        Ingest tunables.
    """
    grid = tile.grid()
    if landsat_rows.empty:
        raise DataError(
            f"tile {tile.id}, {year}: no Landsat scene in the inventory covers it; check the inventory and the year"
        )
    if modis_rows.empty:
        raise DataError(
            f"tile {tile.id}, {year}: no MODIS composite in the inventory covers it; check the inventory and the year"
        )
    l_dates = sorted(set(landsat_rows["date"]))
    m_dates = sorted(set(modis_rows["date"]))
    names = [d.isoformat() for d in l_dates]
    records = []
    with contextlib.ExitStack() as stack:
        # One date at a time is held (a few bands of the tile); GDAL's block cache is
        # capped too, or its dirty blocks would grow to 5 % of the node's memory.
        stack.enter_context(gdal_cache())
        writers = {
            **{
                f"landsat_{n}": stack.enter_context(
                    stack_writer(
                        outputs[f"landsat_{n}"],
                        grid,
                        count=len(l_dates),
                        dtype=np.float32,
                        nodata=np.nan,
                        band_names=names,
                        units=u,
                    )
                )
                for n, u in LANDSAT_FLOAT.items()
            },
            **{
                f"landsat_{n.lower()}": stack.enter_context(
                    stack_writer(
                        outputs[f"landsat_{n.lower()}"],
                        grid,
                        count=len(l_dates),
                        dtype=np.uint16,
                        nodata=None,
                        band_names=names,
                        units="bits",
                    )
                )
                for n in LANDSAT_QA
            },
            "landsat_ndvi": stack.enter_context(
                stack_writer(
                    outputs["landsat_ndvi"],
                    grid,
                    count=len(l_dates),
                    dtype=np.float32,
                    nodata=np.nan,
                    band_names=names,
                    units="NDVI",
                    tags={"masked": ",".join(params.mask)},
                )
            ),
        }
        for i, date in enumerate(l_dates, start=1):
            rows = landsat_rows[landsat_rows["date"] == date]
            scene = _read_landsat_date(rows, grid, params)
            family = l8.parse_product_id(scene.ids[0]).family
            masks = landsat_masks(scene, family)
            ndvi = masked_ndvi(scene.bands["red"], scene.bands["nir"], masks, params.mask)
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
                len(l_dates),
                date,
                100 * records[-1]["valid_fraction"],
            )

        with stack_writer(
            outputs["modis_ndvi"],
            grid,
            count=len(m_dates),
            dtype=np.float32,
            nodata=np.nan,
            band_names=[d.isoformat() for d in m_dates],
            units="NDVI",
        ) as writer:
            for i, date in enumerate(m_dates, start=1):
                rows = modis_rows[modis_rows["date"] == date]
                ndvi = np.full(grid.shape, np.nan, np.float32)
                for path in rows["path"]:
                    with open_raster(path) as src:
                        dn = warp_to_grid(src, 1, grid, resampling=Resampling.nearest)
                        scale = float(src.tags().get("scale_factor", modis.NDVI_SCALE))
                        part = modis.scale_ndvi(dn, nodata=src.nodata, scale=scale)
                    ndvi = np.where(np.isnan(ndvi), part, ndvi)
                writer.write_band(i, ndvi)
                records.append(
                    {
                        "date": date.isoformat(),
                        "sensor": "modis",
                        "ids": ";".join(rows["id"]),
                        "valid_fraction": float(np.isfinite(ndvi).mean()),
                    }
                )
            log.info("modis: %d composites", len(m_dates))

    table = pd.DataFrame(records)
    with atomic_path(outputs["inventory"]) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")
    return table
