"""Reading one date: Landsat scenes or MODIS composites warped onto a tile grid, masked, as NDVI.

Scenes of the same date (neighbouring rows of one path) are mosaicked: the first
file with data wins each pixel. Every file a tile's inventory lists for it is
expected to add valid pixels; one that adds none is recorded in the tile's QA
table with the reason (:func:`agrifactory.ingest.qa.why_empty`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rasterio.enums import Resampling

from agrifactory.errors import InputError
from agrifactory.grid import PixelGrid
from agrifactory.ingest.mtl import date_scaling
from agrifactory.ingest.qa import (
    MISSING_BANDS,
    NO_SCALE_TAG,
    NO_VALID_PIXELS,
    QC_ALL_BAD,
    QaLog,
    why_empty,
)
from agrifactory.ingest.rules import (
    ATMOSPHERE_BANDS,
    LANDSAT_BANDS,
    LANDSAT_FLOAT,
    LANDSAT_REFLECTANCE,
    IngestSettings,
)
from agrifactory.io import landsat as l8
from agrifactory.io import modis, modis_qa, remote
from agrifactory.io.inventory import landsat_files, row_assets
from agrifactory.io.raster import open_raster, warp_to_grid
from agrifactory.io.scaling import ProductScaling

log = logging.getLogger(__name__)

#: SR_QA_AEROSOL's aerosol level (bits 6-7) that 'high_aerosol' masks: 3, high.
AEROSOL_HIGH = 3


@dataclass
class Scene:
    """One date of Landsat on the tile grid."""

    date: dt.date
    ids: list[str]
    bands: dict[str, np.ndarray] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)


def warp_mosaic(
    paths: Sequence[str], grid: PixelGrid, resampling: Resampling, dtype: type, nodata: float
) -> tuple[np.ndarray, dict[str, str]]:
    """Warp files of one date onto the grid; the first file with data wins each pixel.

    Returns the mosaic and, for each file that gave no pixel with data (> 0), why.
    """
    out = np.full(grid.shape, nodata, dtype=dtype)
    empty_files = {}
    for path in paths:
        part, why = remote.reading(
            path, lambda path=path: _warp_file(path, grid, resampling, dtype, nodata)
        )
        if why is not None:
            empty_files[path] = why
        empty = np.isnan(out) if np.isnan(nodata) else out == nodata
        out[empty] = part[empty]
    return out, empty_files


def _warp_file(
    path: str, grid: PixelGrid, resampling: Resampling, dtype: type, nodata: float
) -> tuple[np.ndarray, str | None]:
    """One file warped onto the grid, and why it gave no pixel with data (> 0), if it gave none."""
    with open_raster(path) as src:
        part = warp_to_grid(src, 1, grid, resampling=resampling, dtype=dtype, dst_nodata=nodata)
        empty = not np.any(np.isfinite(part) & (part > 0))
        return part, why_empty(src, grid) if empty else None


def _band_files(rows: pd.DataFrame) -> list[dict[str, str]]:
    """The files of the bands the ingest reads, per scene; red and NIR are required."""
    files = [landsat_files(r, LANDSAT_BANDS) for _, r in rows.iterrows()]
    for name in ("red", "nir"):
        for f, (_, row) in zip(files, rows.iterrows(), strict=True):
            if name not in f:
                raise InputError(
                    row["path"],
                    f"scene {row['id']} has no {name} band file",
                    "re-download the scene",
                )
    return files


def _record_missing_bands(
    rows: pd.DataFrame, files: list[dict[str, str]], date: dt.date, qa: QaLog
) -> None:
    """One QA record per scene that lacks reflectance bands (they are NaN where no other
    scene of the date has them)."""
    for (_, row), f in zip(rows.iterrows(), files, strict=True):
        lacking = [n for n in LANDSAT_REFLECTANCE if n not in f]
        if lacking:
            qa.add(
                "landsat",
                row["id"],
                date,
                row["path"],
                MISSING_BANDS,
                f"no {', '.join(lacking)} band file: NaN unless another scene of the date has it",
            )


def read_landsat_date(
    rows: pd.DataFrame,
    grid: PixelGrid,
    settings: IngestSettings,
    qa: QaLog,
    fallback: ProductScaling | None = None,
) -> Scene:
    """Warp every band of the scenes of one date; a scene that adds no valid red pixel is a
    QA record. ``fallback`` scales scenes without a metadata file (documented values)."""
    scene = Scene(date=rows["date"].iloc[0], ids=list(rows["id"]))
    files = _band_files(rows)
    _record_missing_bands(rows, files, scene.date, qa)
    scaling = date_scaling(rows, qa, fallback or ProductScaling())
    resampling = Resampling[settings.resampling]
    for name in LANDSAT_FLOAT:
        paths = [f[name] for f in files if name in f]
        if not paths:
            scene.missing.add(name)
            scene.bands[name] = np.full(grid.shape, np.nan, np.float32)
            continue
        dn, empty_files = warp_mosaic(paths, grid, resampling, np.float32, np.nan)
        if name == "red":
            for (_, row), f in zip(rows.iterrows(), files, strict=True):
                if f["red"] in empty_files:
                    qa.add(
                        "landsat",
                        row["id"],
                        scene.date,
                        f["red"],
                        NO_VALID_PIXELS,
                        empty_files[f["red"]],
                    )
        valid_dn = np.isfinite(dn) & (dn >= 1)
        dn[~valid_dn] = 0
        to_physical = l8.temperature if name == "thermal" else l8.reflectance
        scene.bands[name] = to_physical(dn, *scaling[name])
    for name, fill in (("QA_PIXEL", 1), ("QA_RADSAT", 0)):
        paths = [f[name] for f in files if name in f]
        if not paths:
            scene.missing.add(name)
            scene.bands[name] = np.zeros(grid.shape, np.uint16)
            continue
        warped, _ = warp_mosaic(paths, grid, Resampling.nearest, np.float32, np.nan)
        scene.bands[name] = np.where(np.isfinite(warped), warped, fill).astype(np.uint16)
    _read_atmosphere(scene, rows, grid, settings)
    if scene.missing:
        log.warning(
            "%s (%s): no %s file; recorded in the inventory",
            scene.date,
            ",".join(scene.ids),
            sorted(scene.missing),
        )
    return scene


def _read_atmosphere(
    scene: Scene, rows: pd.DataFrame, grid: PixelGrid, settings: IngestSettings
) -> None:
    """The atmosphere bands of the flags ``settings.mask`` asks for (NaN where none)."""
    for flag, band in ATMOSPHERE_BANDS.items():
        if flag not in settings.mask:
            continue
        paths = [f[band] for f in (landsat_files(r, [band]) for _, r in rows.iterrows()) if f]
        if paths:
            scene.bands[band], _ = warp_mosaic(paths, grid, Resampling.nearest, np.float32, np.nan)
        else:
            scene.missing.add(band)


def empty_scene(date: dt.date, ids: list[str], grid: PixelGrid) -> Scene:
    """A date whose every scene was skipped: no data (NaN bands, QA fill), every band missing."""
    bands = {name: np.full(grid.shape, np.nan, np.float32) for name in LANDSAT_FLOAT}
    bands["QA_PIXEL"] = np.ones(grid.shape, np.uint16)
    bands["QA_RADSAT"] = np.zeros(grid.shape, np.uint16)
    return Scene(date=date, ids=ids, bands=bands, missing=set(LANDSAT_BANDS))


def landsat_masks(
    scene: Scene, sensor_family: str, flags: Sequence[str] = ()
) -> dict[str, np.ndarray]:
    """Boolean masks of one warped date: each QA flag, plus invalid reflectance, and the
    atmosphere flags among ``flags`` (:data:`ATMOSPHERE_BANDS`)."""
    red, nir = scene.bands["red"], scene.bands["nir"]
    invalid = ~(np.isfinite(red) & np.isfinite(nir))
    if "QA_PIXEL" in scene.missing:
        qa = {k: np.zeros(red.shape, bool) for k in ("fill", "cloud", "shadow", "snow")}
    else:
        qa = l8.decode_qa_pixel(scene.bands["QA_PIXEL"])
    bands = [l8.band_number(l8.band_suffix(sensor_family, n)) for n in ("red", "nir")]
    sat = l8.saturated(scene.bands["QA_RADSAT"], bands)
    masks = {
        "fill": qa["fill"] | invalid,
        "cloud": qa["cloud"],
        "shadow": qa["shadow"],
        "snow": qa["snow"],
        "saturated": sat,
    }
    for flag in (f for f in ATMOSPHERE_BANDS if f in flags):
        masks[flag] = _atmosphere_mask(flag, scene.bands.get(ATMOSPHERE_BANDS[flag]), red.shape)
    return masks


def _atmosphere_mask(flag: str, band: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """'hazy' or 'high_aerosol' from its warped band (NaN where no scene covers: not masked)."""
    if band is None:
        return np.zeros(shape, bool)
    if flag == "hazy":
        return l8.hazy(l8.atmos_opacity(band))
    words = np.nan_to_num(band, nan=0).astype(np.uint16)
    return l8.decode_sr_qa_aerosol(words)["aerosol_level"] == AEROSOL_HIGH


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


def read_modis_composite(
    row: pd.Series, grid: PixelGrid, qa: QaLog, scale: float = modis.NDVI_SCALE
) -> np.ndarray:
    """One MODIS composite as NDVI on the tile grid (nearest: its cells stay blocky, as ESTARFM expects).

    An NDVI file without a scale tag is scaled by ``scale`` (the documented default, or
    the provider profile's) and recorded; one that adds no valid pixel is recorded with
    the reason. Layers of a MOD09Q1 or MOD13Q1 granule are scaled by ``scale``.
    """
    files = modis_files(row)
    what = f"item {row['id']}"
    if set(files) == {"ndvi"}:
        path = files["ndvi"]
        return remote.reading(path, lambda: _modis_ndvi(row, path, grid, qa, scale), what)
    bands = {
        name: remote.reading(
            path,
            lambda path=path: _warp_file(path, grid, Resampling.nearest, np.float32, np.nan)[0],
            what,
        )
        for name, path in files.items()
    }
    return _qc_masked_ndvi(row, files, bands, qa, scale)


def modis_files(row: pd.Series) -> dict[str, str]:
    """The files (or asset URLs) of a MODIS inventory row, by canonical name.

    ``ndvi`` (an NDVI composite), ``red``, ``nir``, ``qc`` (MOD09Q1) or ``ndvi``,
    ``reliability`` (MOD13Q1); a scanned row's one file is its ``ndvi``.
    """
    return row_assets(row) or {"ndvi": row["path"]}


def _qc_masked_ndvi(
    row: pd.Series,
    files: Mapping[str, str],
    bands: Mapping[str, np.ndarray],
    qa: QaLog,
    scale: float,
) -> np.ndarray:
    """NDVI of a MOD09Q1 or MOD13Q1 composite with its quality layer applied.

    A date whose pixels all have data but none passes the quality layer is a QA
    record (``qc_all_bad``); the run goes on with the date all NaN.
    """
    if set(files) == {"red", "nir", "qc"}:
        qc = np.nan_to_num(bands["qc"], nan=0).astype(np.int64)
        ndvi = modis_qa.mod09q1_ndvi(bands["red"], bands["nir"], qc, scale=scale)
        has_data = np.isfinite(bands["red"]) & np.isfinite(bands["nir"])
        quality_file = files["qc"]
    elif set(files) == {"ndvi", "reliability"}:
        ndvi = modis_qa.mod13_ndvi(bands["ndvi"], bands["reliability"], scale=scale)
        has_data = np.isfinite(bands["ndvi"])
        quality_file = files["reliability"]
    else:
        raise InputError(
            row["path"],
            f"MODIS item {row['id']} lists the assets {sorted(files)}",
            "expected ndvi; red, nir and qc (MOD09Q1); or ndvi and reliability (MOD13Q1)",
        )
    if has_data.any() and not np.isfinite(ndvi).any():
        qa.add(
            "modis",
            row["id"],
            row["date"],
            quality_file,
            QC_ALL_BAD,
            f"all {int(has_data.sum())} pixels with data fail the quality layer",
        )
    elif not has_data.any():
        qa.add(
            "modis",
            row["id"],
            row["date"],
            files.get("red", files.get("ndvi")),
            NO_VALID_PIXELS,
            "no pixel with data on the tile",
        )
    return ndvi


def _modis_ndvi(
    row: pd.Series, path: str, grid: PixelGrid, qa: QaLog, default: float
) -> np.ndarray:
    """One NDVI composite file on the tile grid, its scale from its tag (or the default, recorded)."""
    with open_raster(path) as src:
        dn = warp_to_grid(src, 1, grid, resampling=Resampling.nearest)
        try:
            scale = modis.tagged_scale(src.tags())
        except ValueError:
            raise InputError(
                path, f"tag {modis.SCALE_TAG}={src.tags()[modis.SCALE_TAG]!r} is not a number"
            ) from None
        if scale is None:
            scale = default
            qa.add(
                "modis",
                row["id"],
                row["date"],
                path,
                NO_SCALE_TAG,
                f"scaled by the default {scale:g}",
            )
        part = modis.scale_ndvi(dn, nodata=src.nodata, scale=scale)
        if not np.isfinite(part).any():
            qa.add("modis", row["id"], row["date"], path, NO_VALID_PIXELS, why_empty(src, grid))
    return part
