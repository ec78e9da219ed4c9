"""Composite drivers (8-day or any irregular dates) to daily values.

Method. A composite dated by its first day (the MODIS convention) stands for
the middle of the days it covers: ``start + (n - 1) / 2`` where ``n`` is the
number of days up to the next composite's start, at most ``period`` (the last
composite of a year ends on 31 December). Each day then takes, per pixel, the
straight-line interpolation between the nearest valid composites before and
after it in time; a missing composite (NaN, e.g. cloud) is bridged by the
valid ones around it. Before the first and after the last valid composite of
a pixel the nearest valid value is held. A pixel with no valid composite at
all stays NaN, and the caller reports it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np


def composite_centres(starts: Sequence[dt.date], period: int = 8) -> np.ndarray:
    """Centre of each composite in days since 1970-01-01 (may be a half day)."""
    days = np.array([d.toordinal() for d in starts], dtype=np.float64)
    if np.any(np.diff(days) <= 0):
        raise ValueError("composite dates must increase")
    nxt = np.empty_like(days)
    nxt[:-1] = days[1:]
    last = starts[-1]
    nxt[-1] = dt.date(last.year + 1, 1, 1).toordinal()
    length = np.minimum(nxt - days, period)
    return days + (length - 1) / 2 - dt.date(1970, 1, 1).toordinal()


def _epoch_days(dates: Sequence[dt.date]) -> np.ndarray:
    base = dt.date(1970, 1, 1).toordinal()
    return np.array([d.toordinal() - base for d in dates], dtype=np.float64)


def composites_to_daily(
    values: np.ndarray,
    starts: Sequence[dt.date],
    days: Sequence[dt.date],
    *,
    period: int = 8,
) -> np.ndarray:
    """Interpolate composites ``(K, ...)`` dated by ``starts`` to ``days``: ``(len(days), ...)``.

    See the module docstring for the method. The output is float32.
    """
    values = np.asarray(values)
    if values.shape[0] != len(starts):
        raise ValueError(f"{values.shape[0]} composites but {len(starts)} dates")
    centres = composite_centres(starts, period)
    target = _epoch_days(days)
    k = values.shape[0]
    flat = values.reshape(k, -1).astype(np.float64)
    valid = np.isfinite(flat)
    idx = np.arange(k)[:, None]
    # last valid composite at or before k, and first valid at or after k (per pixel)
    prev = np.where(valid, idx, -1)
    prev = np.maximum.accumulate(prev, axis=0)
    nxt = np.where(valid, idx, k)
    nxt = np.minimum.accumulate(nxt[::-1], axis=0)[::-1]
    pos = np.searchsorted(centres, target, side="right") - 1  # last centre <= day
    cols = np.arange(flat.shape[1])
    out = np.empty((len(target), flat.shape[1]), dtype=np.float32)
    for t, (p, day) in enumerate(zip(pos, target, strict=True)):
        before = prev[p] if p >= 0 else np.full(flat.shape[1], -1)
        after = nxt[p + 1] if p + 1 < k else np.full(flat.shape[1], k)
        has_b = before >= 0
        has_a = after < k
        vb = flat[np.clip(before, 0, k - 1), cols]
        va = flat[np.clip(after, 0, k - 1), cols]
        cb = centres[np.clip(before, 0, k - 1)]
        ca = centres[np.clip(after, 0, k - 1)]
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(ca > cb, (day - cb) / (ca - cb), 0.0)
        both = vb + w * (va - vb)
        res = np.where(has_b & has_a, both, np.where(has_b, vb, np.where(has_a, va, np.nan)))
        out[t] = res
    return out.reshape((len(target),) + values.shape[1:])
