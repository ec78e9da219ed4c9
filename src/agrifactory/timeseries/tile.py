"""One tile and year, file to file: what the ``smooth`` and ``features`` rules call.

``smooth_tile`` reads the fused NDVI stack (bands named by date, NaN = missing),
fits HANTS with time in days since 1 January of the year, and writes the smoothed
series on the same dates, a QA raster and the HANTS coefficients. ``features_tile``
reads the fused stack and the coefficients and writes the named feature stack.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path
from typing import Any

import numpy as np

from agrifactory.backend import resolve_backend, to_numpy
from agrifactory.errors import ConfigError, InputError
from agrifactory.io.raster import read_raster, read_stack, write_raster
from agrifactory.timeseries.features import FeatureStack, feature_stack
from agrifactory.timeseries.hants import HantsParams, HantsResult, coefficient_names, hants_fit
from agrifactory.timeseries.timeaxis import days_since

log = logging.getLogger(__name__)


def _dates_in_year(dates: list[dt.date], year: int, path: str | Path) -> None:
    for i, d in enumerate(dates, start=1):
        if d.year != year:
            raise InputError(
                path,
                f"band {i} is dated {d.isoformat()}, outside the year {year}",
                "a tile-year stack holds the dates of one calendar year",
            )


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
) -> HantsResult:
    """HANTS-smooth a tile-year NDVI stack and write three COGs.

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
        Calendar year of the stack; every band date must lie in it.
    params
        HANTS parameters (defaults if omitted).
    backend
        ``auto``, ``numpy`` or ``cupy`` (see :func:`agrifactory.backend.resolve_backend`).
    """
    params = params or HantsParams()
    values, dates, meta = read_stack(fused)
    _dates_in_year(dates, year, fused)
    t = days_since(dates, dt.date(year, 1, 1))
    xp = resolve_backend(backend)
    log.info(
        "HANTS on %s: %d dates, %s pixels, back end %s",
        fused,
        len(dates),
        values.shape[1:],
        xp.__name__,
    )
    result = hants_fit(xp.asarray(values), t, params=params, chunk_size=chunk_size)
    geo = {"transform": meta["transform"], "crs": meta["crs"]}
    tags = {"hants_" + k: v for k, v in dataclasses.asdict(params).items()}
    tags["time_origin"] = f"{year}-01-01"
    write_raster(
        smoothed,
        to_numpy(result.reconstruct(t)),
        nodata=np.nan,
        band_names=[d.isoformat() for d in dates],
        units="NDVI",
        tags=tags,
        **geo,
    )
    qa_data, qa_names = result.qa_bands()
    write_raster(qa, to_numpy(qa_data), nodata=np.nan, band_names=qa_names, tags=tags, **geo)
    write_raster(
        coefficients,
        to_numpy(result.coefficients).astype(np.float32),
        nodata=np.nan,
        band_names=coefficient_names(params.n_freq),
        units="NDVI",
        tags=tags,
        **geo,
    )
    flags = np.bincount(to_numpy(result.flag).ravel(), minlength=3)
    log.info(
        "HANTS done: %d full fits, %d with fewer frequencies, %d without valid samples; "
        "%.2f rejected samples per series",
        flags[0],
        flags[1],
        flags[2],
        float(result.n_outliers.mean()),
    )
    return result


def features_tile(
    fused: str | Path,
    coefficients: str | Path,
    *,
    features: str | Path,
    year: int,
    base_period: float,
    start_fraction: float = 0.2,
    rate_fraction: float = 0.8,
    min_amplitude: float = 0.05,
    backend: str = "auto",
) -> FeatureStack:
    """Write the feature stack (float32 COG, one named band per feature) of a tile-year.

    ``coefficients`` is the output of :func:`smooth_tile`; ``base_period`` must be the
    one it was fitted with. Band names and definitions: ``docs/timeseries.md``.
    """
    values, dates, meta = read_stack(fused)
    _dates_in_year(dates, year, fused)
    coef, coef_meta = read_raster(coefficients)
    if coef.shape[1:] != values.shape[1:]:
        raise InputError(
            coefficients,
            f"grid {coef.shape[1:]} differs from the stack's {values.shape[1:]}",
            "rerun the smooth rule for this tile",
        )
    expected = coefficient_names((coef.shape[0] - 1) // 2)
    if coef_meta["descriptions"] != expected:
        raise InputError(coefficients, f"bands {coef_meta['descriptions']} are not {expected}")
    xp = resolve_backend(backend)
    stack = feature_stack(
        xp.asarray(values),
        dates,
        xp.asarray(coef.astype(np.float64)),
        base_period=base_period,
        year=year,
        start_fraction=start_fraction,
        rate_fraction=rate_fraction,
        min_amplitude=min_amplitude,
    )
    write_raster(
        features,
        to_numpy(stack.data),
        transform=meta["transform"],
        crs=meta["crs"],
        nodata=np.nan,
        band_names=stack.names,
        units=stack.units,
    )
    return stack


def params_from_config(cfg: dict[str, Any]) -> HantsParams:
    """:class:`HantsParams` from a config mapping; unknown keys are a ConfigError."""
    known = {f.name for f in dataclasses.fields(HantsParams)}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ConfigError(f"unknown hants parameters {unknown}; known: {sorted(known)}")
    cfg = dict(cfg)
    if cfg.get("valid_range") is not None:
        cfg["valid_range"] = tuple(cfg["valid_range"])
    return HantsParams(**cfg)
