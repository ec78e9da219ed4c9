"""Classification features from an NDVI stack: harmonic terms, monthly medians, phenology.

Every function returns ``(array, names)`` with the features on the first axis and
one stable band name per feature, so a rule can write a COG with named bands.
Definitions: ``docs/timeseries.md``.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator

from agrifactory.backend import array_namespace
from agrifactory.feature_bands import PHENOLOGY_FLAG, PHENOLOGY_METRICS
from agrifactory.settings import Settings
from agrifactory.timeseries.hants import coefficient_names, design_matrix
from agrifactory.timeseries.timeaxis import day_of_year, days_since, year_days

log = logging.getLogger(__name__)

MONTHLY_NAMES = [f"ndvi_med_{m:02d}" for m in range(1, 13)]
PHENOLOGY_NAMES = [*PHENOLOGY_METRICS, PHENOLOGY_FLAG]
#: ``pheno_flag`` bits: the start (1) or the end (2) of the season was not seen.
PHENO_NO_START = 1
PHENO_NO_END = 2


class PhenoSettings(Settings):
    """Phenology metrics from the HANTS curve; config ``timeseries.pheno``."""

    start_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2
    """Start and end of season where the curve crosses this fraction of its amplitude
    (base + start_fraction x (peak - base), the base the minimum before (start) or
    after (end) the peak)."""

    rate_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.8
    """Green-up and senescence rates between start_fraction and this fraction."""

    min_amplitude: Annotated[float, Field(gt=0)] = 0.05
    """Curves with a smaller amplitude get no season (flagged): a side whose rise is
    smaller has no start (or end); SOS is the first day, EOS the last, its rate 0."""

    @model_validator(mode="after")
    def _start_below_rate(self) -> PhenoSettings:
        if not self.start_fraction < self.rate_fraction:
            raise ValueError(
                f"pheno.start_fraction ({self.start_fraction}) must be below "
                f"pheno.rate_fraction ({self.rate_fraction})"
            )
        return self


_PHENO = PhenoSettings()


def harmonic_names(n_freq: int) -> list[str]:
    """``harm_mean, harm_cos1, harm_sin1, ..., harm_amp1.., harm_phase1..``."""
    return (
        coefficient_names(n_freq)
        + [f"harm_amp{k}" for k in range(1, n_freq + 1)]
        + [f"harm_phase{k}" for k in range(1, n_freq + 1)]
    )


def harmonic_features(coefficients: Any) -> tuple[Any, list[str]]:
    """Harmonic terms of a HANTS fit: coefficients, amplitudes and phases (degrees).

    Parameters
    ----------
    coefficients
        ``(2 n + 1, *S)`` as in :attr:`HantsResult.coefficients`.

    Returns
    -------
    ``(4 n + 1, *S)`` float32 and :func:`harmonic_names`.
    """
    xp = array_namespace(coefficients)
    n_freq = (coefficients.shape[0] - 1) // 2
    cos, sin = coefficients[1::2], coefficients[2::2]
    amp = xp.hypot(cos, sin)
    phase = xp.degrees(xp.arctan2(sin, cos))
    phase = xp.where(phase < 0, phase + 360.0, phase)
    data = xp.concatenate([coefficients, amp, phase]).astype(xp.float32)
    return data, harmonic_names(n_freq)


def monthly_medians(
    values: Any, dates: Sequence[dt.date], *, fallback: Any = None
) -> tuple[Any, list[str], Any]:
    """Median NDVI of each calendar month (the "2D median" features of CropGlobe).

    Parameters
    ----------
    values
        ``(T, *S)`` NDVI, NaN = missing.
    dates
        ``T`` dates; their month picks the composite.
    fallback
        Optional ``(T, *S)`` gap-free series (e.g. the HANTS reconstruction on the
        same dates). A month without a valid value takes the median of ``fallback``
        over that month's dates instead.

    Returns
    -------
    data
        ``(12, *S)`` float32; NaN only where a month has no valid value and no
        fallback (or no date at all).
    names
        ``ndvi_med_01 .. ndvi_med_12``.
    filled
        ``(12, *S)`` bool: True where the fallback was used.
    """
    xp = array_namespace(values, fallback)
    if len(dates) != values.shape[0]:
        raise ValueError(f"{len(dates)} dates for {values.shape[0]} bands")
    months = np.asarray([d.month for d in dates])
    spatial = values.shape[1:]
    data = xp.full((12,) + spatial, xp.nan, dtype=xp.float32)
    filled = xp.zeros((12,) + spatial, dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN months are handled below
        for m in range(1, 13):
            found = np.nonzero(months == m)[0]
            if found.size == 0:
                continue
            idx = xp.asarray(found)
            med = xp.nanmedian(values[idx].astype(xp.float64), axis=0)
            if fallback is not None:
                gap = xp.isnan(med)
                med = xp.where(gap, xp.median(fallback[idx].astype(xp.float64), axis=0), med)
                filled[m - 1] = gap
            data[m - 1] = med
    return data, list(MONTHLY_NAMES), filled


def phenology(
    curve: Any,
    doy: Any,
    *,
    start_fraction: float = _PHENO.start_fraction,
    rate_fraction: float = _PHENO.rate_fraction,
    min_amplitude: float = _PHENO.min_amplitude,
) -> tuple[Any, list[str]]:
    """Season metrics of a smooth curve around its highest value (one season per year).

    Parameters
    ----------
    curve
        ``(Q, *S)`` smoothed NDVI on days ``doy``, without NaN (e.g. a daily HANTS
        reconstruction of one year).
    doy
        ``(Q,)`` increasing days of year.
    start_fraction, rate_fraction, min_amplitude
        See :class:`PhenoSettings` (a bad value is a :class:`ConfigError`).

    Returns
    -------
    ``(8, *S)`` float32 and :data:`PHENOLOGY_NAMES`: start, peak and end day of
    year, peak NDVI, integral of NDVI from start to end (NDVI x days), green-up
    and senescence rates (NDVI per day, both >= 0), flag (bit 1: no start, bit 2:
    no end).
    """
    PhenoSettings.build(
        {
            "start_fraction": start_fraction,
            "rate_fraction": rate_fraction,
            "min_amplitude": min_amplitude,
        },
        "pheno",
    )
    xp = array_namespace(curve)
    q = curve.shape[0]
    spatial = curve.shape[1:]
    v = curve.reshape(q, -1).astype(xp.float64)
    t = xp.asarray(np.asarray(doy, dtype=np.float64))
    if t.shape != (q,) or bool(xp.any(xp.diff(t) <= 0)):
        raise ValueError("doy must be increasing with one value per curve sample")
    n = v.shape[1]
    cols = xp.arange(n)
    idx = xp.arange(q)[:, None]
    p = xp.argmax(v, axis=0)
    peak = v[p, cols]
    base_l = xp.where(idx <= p, v, xp.inf).min(axis=0)
    base_r = xp.where(idx >= p, v, xp.inf).min(axis=0)
    amp_l, amp_r = peak - base_l, peak - base_r
    has_start, has_end = amp_l >= min_amplitude, amp_r >= min_amplitude

    sos, i_sos = _rise_crossing(v, t, base_l + start_fraction * amp_l, p, xp)
    t80_l, _ = _rise_crossing(v, t, base_l + rate_fraction * amp_l, p, xp)
    eos, j_eos = _fall_crossing(v, t, base_r + start_fraction * amp_r, p, xp)
    t80_r, _ = _fall_crossing(v, t, base_r + rate_fraction * amp_r, p, xp)
    span = rate_fraction - start_fraction
    greenup = xp.where(has_start, span * amp_l / xp.where(has_start, t80_l - sos, 1.0), 0.0)
    senesc = xp.where(has_end, span * amp_r / xp.where(has_end, eos - t80_r, 1.0), 0.0)
    sos = xp.where(has_start, sos, t[0])
    i_sos = xp.where(has_start, i_sos, 0)
    eos = xp.where(has_end, eos, t[-1])
    j_eos = xp.where(has_end, j_eos, q - 1)
    cum = _cumulative_trapezoid(v, t, xp)
    integral = _integral_at(v, t, cum, eos, j_eos, xp) - _integral_at(v, t, cum, sos, i_sos, xp)
    flag = xp.where(has_start, 0, PHENO_NO_START) + xp.where(has_end, 0, PHENO_NO_END)
    data = xp.stack([sos, t[p], eos, peak, integral, greenup, senesc, flag.astype(xp.float64)])
    return data.astype(xp.float32).reshape((8,) + spatial), list(PHENOLOGY_NAMES)


def _rise_crossing(v: Any, t: Any, thr: Any, p: Any, xp: Any) -> tuple[Any, Any]:
    """Last upward crossing of ``thr`` before the peak: day and index of the segment start."""
    q = v.shape[0]
    below = (v < thr) & (xp.arange(q)[:, None] < p)
    i = q - 1 - xp.argmax(below[::-1], axis=0)
    i = xp.minimum(i, q - 2)  # only used where a crossing exists (then i < p <= q - 1)
    return _interp_day(v, t, thr, i, i + 1, xp), i


def _fall_crossing(v: Any, t: Any, thr: Any, p: Any, xp: Any) -> tuple[Any, Any]:
    """First downward crossing of ``thr`` after the peak: day and index of the segment start."""
    q = v.shape[0]
    below = (v < thr) & (xp.arange(q)[:, None] > p)
    j = xp.maximum(xp.argmax(below, axis=0), 1)
    return _interp_day(v, t, thr, j - 1, j, xp), j - 1


def _interp_day(v: Any, t: Any, thr: Any, a: Any, b: Any, xp: Any) -> Any:
    cols = xp.arange(v.shape[1])
    va, vb = v[a, cols], v[b, cols]
    dv = vb - va
    frac = (thr - va) / xp.where(dv == 0, 1.0, dv)
    return t[a] + frac * (t[b] - t[a])


def _cumulative_trapezoid(v: Any, t: Any, xp: Any) -> Any:
    seg = 0.5 * (v[1:] + v[:-1]) * (t[1:] - t[:-1])[:, None]
    return xp.concatenate([xp.zeros((1, v.shape[1])), xp.cumsum(seg, axis=0)])


def _integral_at(v: Any, t: Any, cum: Any, day: Any, i: Any, xp: Any) -> Any:
    """Integral of the piecewise-linear curve from ``t[0]`` to ``day`` (in segment ``i``)."""
    q = v.shape[0]
    cols = xp.arange(v.shape[1])
    i = xp.clip(i, 0, q - 2)
    v0, v1 = v[i, cols], v[i + 1, cols]
    t0, t1 = t[i], t[i + 1]
    v_day = v0 + (v1 - v0) * (day - t0) / (t1 - t0)
    return cum[i, cols] + 0.5 * (v0 + v_day) * (day - t0)


@dataclass
class FeatureStack:
    """Feature bands ``data`` (B, *S) float32 with one ``name`` and ``unit`` per band."""

    data: Any
    names: list[str]
    units: list[str]


def feature_stack(
    values: Any,
    dates: Sequence[dt.date],
    coefficients: Any,
    *,
    base_period: float,
    year: int,
    origin: dt.date | None = None,
    start_fraction: float = _PHENO.start_fraction,
    rate_fraction: float = _PHENO.rate_fraction,
    min_amplitude: float = _PHENO.min_amplitude,
    chunk_size: int = 1 << 16,
) -> FeatureStack:
    """All features of one tile and year: harmonics, monthly medians, phenology.

    Parameters
    ----------
    values
        ``(T, rows, cols)`` NDVI of the year (NaN = missing), e.g. the fused stack.
    dates
        Its ``T`` band dates.
    coefficients
        ``(2 n + 1, rows, cols)`` HANTS coefficients fitted to ``values`` with time
        in days since ``origin``.
    base_period
        The HANTS base period (days) of the fit.
    year
        Calendar year of the phenology (a daily curve over its days).
    origin
        Day 0 of the HANTS time axis; default 1 January of ``year``.
    start_fraction, rate_fraction, min_amplitude
        See :func:`phenology`.
    chunk_size
        Pixels per daily reconstruction (memory: ``366 * chunk_size * 8`` bytes).

    Returns
    -------
    FeatureStack
        ``4 n + 1`` harmonic, 12 monthly-median and 8 phenology bands, in that order.
        Months without a valid value take the median of the HANTS curve on their
        dates.
    """
    xp = array_namespace(values, coefficients)
    origin = origin or dt.date(year, 1, 1)
    n_freq = (coefficients.shape[0] - 1) // 2
    spatial = values.shape[1:]
    harm, harm_names = harmonic_features(coefficients)

    coef = coefficients.reshape(coefficients.shape[0], -1)
    m_obs = design_matrix(xp.asarray(days_since(dates, origin)), n_freq, base_period, xp)
    smooth_obs = (m_obs @ coef).reshape(values.shape)
    monthly, month_names, filled = monthly_medians(values, dates, fallback=smooth_obs)
    n_filled = int(xp.count_nonzero(filled))
    if n_filled:
        log.info(
            "monthly medians: %d pixel-months had no valid value; used the HANTS curve", n_filled
        )

    pheno = _daily_phenology(
        coef,
        year,
        origin,
        base_period,
        chunk_size,
        start_fraction=start_fraction,
        rate_fraction=rate_fraction,
        min_amplitude=min_amplitude,
    ).reshape((len(PHENOLOGY_NAMES),) + spatial)

    names = harm_names + month_names + list(PHENOLOGY_NAMES)
    units = (
        ["NDVI"] * (3 * n_freq + 1)
        + ["degree"] * n_freq
        + ["NDVI"] * 12
        + ["day of year"] * 3
        + ["NDVI", "NDVI day", "NDVI/day", "NDVI/day", "flag"]
    )
    data = xp.concatenate([harm, monthly, pheno]).astype(xp.float32)
    return FeatureStack(data=data, names=names, units=units)


def _daily_phenology(
    coef: Any,
    year: int,
    origin: dt.date,
    base_period: float,
    chunk_size: int,
    **fractions: float,
) -> Any:
    """Phenology of the HANTS curves ``coef`` (2 n + 1, pixels), reconstructed daily in chunks."""
    xp = array_namespace(coef)
    n_freq = (coef.shape[0] - 1) // 2
    days = year_days(year)
    m_day = design_matrix(xp.asarray(days_since(days, origin)), n_freq, base_period, xp)
    doy = day_of_year(days)
    pheno = xp.empty((len(PHENOLOGY_NAMES), coef.shape[1]), dtype=xp.float32)
    for start in range(0, coef.shape[1], chunk_size):
        stop = min(start + chunk_size, coef.shape[1])
        pheno[:, start:stop] = phenology(m_day @ coef[:, start:stop], doy, **fractions)[0]
    return pheno
