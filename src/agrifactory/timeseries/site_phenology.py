"""QA-screened HANTS and phenology of single-point MOD13 series (e.g. flux-tower sites).

The factory's per-pixel recipe applied to one series: NDVI is masked by the MOD13
reliability (:func:`agrifactory.io.modis_qa.mod13_ndvi`), HANTS is fitted to the
composites of one calendar year plus a margin on either side (so the curve at the
year's ends rests on data, not on the wrap-around of the periodic fit), the fit is
reconstructed daily over the year and :func:`agrifactory.timeseries.features.phenology`
reads start, peak and end of season from it.

Snow: a snow/ice composite says "the ground is covered", not "no data". Masking it
leaves winter without samples and the harmonics free to swing there, so by default
it is set to the site's winter baseline (a low quantile of its accepted NDVI), as
phenofit does with its snow-contaminated values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from agrifactory.io.modis_qa import RELIABILITY_NAMES, RELIABILITY_SNOW, mod13_ndvi
from agrifactory.timeseries.features import phenology
from agrifactory.timeseries.hants import HantsParams, HantsResult, hants_fit

#: Share columns of :func:`reliability_shares`, in the order of the codes 0, 1, 2, 3, -1.
SHARE_COLUMNS = ("good", "marginal", "snow_ice", "cloudy", "fill")
#: HANTS of the site fits: one-year base period, three harmonics (peaks up to 4 months wide).
SITE_HANTS = HantsParams(base_period=365, n_freq=3)


def reliability_shares(records: pd.DataFrame) -> pd.DataFrame:
    """Share of each ``summary_qa`` code per site (rows: sites; columns :data:`SHARE_COLUMNS`)."""
    names = records["summary_qa"].map(RELIABILITY_NAMES)
    counts = pd.crosstab(records["site"], names).reindex(columns=SHARE_COLUMNS, fill_value=0)
    return counts.div(counts.sum(axis=1), axis=0)


def screened_ndvi(
    ndvi_dn: Any,
    reliability: Any,
    accept: tuple[int, ...] = (0, 1),
    snow_quantile: float | None = 0.05,
) -> np.ndarray:
    """NDVI of one site, NaN where not accepted; snow/ice at the winter baseline.

    ``snow_quantile`` picks the baseline among the accepted values; None leaves snow
    masked like clouds.
    """
    ndvi = mod13_ndvi(ndvi_dn, reliability, accept)
    if snow_quantile is None or np.isnan(ndvi).all():
        return ndvi
    base = np.float32(np.nanquantile(ndvi, snow_quantile))
    snow = np.asarray(reliability) == RELIABILITY_SNOW
    return np.where(snow & ~np.isnan(np.asarray(ndvi_dn, float)), base, ndvi)


@dataclass
class SeasonFit:
    """HANTS fit and phenology of one site-year.

    ``doy`` are the days of the year, ``curve`` the daily HANTS reconstruction on them,
    ``metrics`` the :func:`phenology` values by name (``pheno_sos``, ``pheno_pos``, ``pheno_eos`` ...).
    """

    year: int
    doy: np.ndarray
    curve: np.ndarray
    metrics: dict[str, float]
    fit: HantsResult


def fit_season(
    obs: Any,
    ndvi: Any,
    year: int,
    *,
    params: HantsParams = SITE_HANTS,
    margin_days: int = 90,
) -> SeasonFit:
    """HANTS on the samples of ``year`` +- ``margin_days`` and phenology of its daily curve.

    Parameters
    ----------
    obs
        Observation days (datetime64-like) of the samples.
    ndvi
        NDVI of the samples, NaN = masked.
    year
        Calendar year of the phenology.
    """
    origin = np.datetime64(f"{year}-01-01", "D")
    n_days = int((np.datetime64(f"{year + 1}-01-01", "D") - origin).astype(int))
    t = (np.asarray(obs, dtype="datetime64[D]") - origin).astype(np.float64)
    inside = (t >= -margin_days) & (t < n_days + margin_days)
    y = np.asarray(ndvi, dtype=np.float64)[inside][:, None]
    fit = hants_fit(y, t[inside], params=params)
    days = np.arange(n_days, dtype=np.float64)
    curve = fit.reconstruct(days)
    values, names = phenology(curve, days + 1.0)
    metrics = dict(zip(names, values[:, 0].tolist(), strict=True))
    return SeasonFit(year=year, doy=days + 1.0, curve=curve[:, 0], metrics=metrics, fit=fit)
