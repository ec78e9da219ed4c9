"""Savitzky-Golay smoothing on gap-filled series: the comparison smoother for HANTS.

``scipy.signal.savgol_filter`` needs a complete series on a regular time step, so
each series is first gap-filled (see :func:`gap_fill_linear`) onto a regular grid,
smoothed there, and read back on the requested days by linear interpolation.
Unlike HANTS it rejects no outliers: an undetected cloud dip pulls the curve down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from agrifactory.backend import array_namespace, to_numpy
from agrifactory.errors import ConfigError


@dataclass
class SavgolResult:
    """Smoothed series ``values`` (T_out, *S) and valid samples per series ``n_valid`` (*S)."""

    values: Any
    n_valid: Any


def regular_grid(t: np.ndarray, step: float | None = None) -> np.ndarray:
    """Days ``t[0], t[0] + step, ...`` up to the first day at or past ``t[-1]``.

    ``step`` defaults to the median spacing of the distinct days of ``t``.
    """
    t = np.asarray(t, dtype=np.float64)
    if step is None:
        gaps = np.diff(np.unique(t))
        step = float(np.median(gaps)) if gaps.size else 1.0
    if not step > 0:
        raise ConfigError(f"savgol step must be > 0 days, got {step!r}")
    n = int(math.ceil((t[-1] - t[0]) / step - 1e-9)) + 1
    return t[0] + step * np.arange(n)


def gap_fill_linear(values: Any, t: Any, valid: Any, t_out: Any, fill_value: float = 0.0) -> Any:
    """Interpolate each series linearly in time between its valid samples.

    Parameters
    ----------
    values, valid
        ``(T, n)`` series and their valid samples (time first).
    t
        ``(T,)`` days, non-decreasing. Of valid samples on one repeated day, the
        later one is used.
    t_out
        ``(Q,)`` days to fill.
    fill_value
        Value of a series with no valid sample.

    Returns
    -------
    ``(Q, n)`` float64. Before the first and after the last valid sample the
    nearest valid value is held (no extrapolation).
    """
    xp = array_namespace(values, valid)
    t = np.asarray(to_numpy(t), dtype=np.float64)
    t_out = np.asarray(to_numpy(t_out), dtype=np.float64)
    n_t = t.size
    if np.any(np.diff(t) < 0):
        raise ValueError("gap_fill_linear needs non-decreasing days t")
    y = xp.asarray(values, dtype=xp.float64)
    valid = xp.asarray(valid, dtype=bool)
    # prev[i]: last valid index <= i (-1 if none); nxt[i]: first valid index >= i (T if none).
    prev = xp.empty(y.shape, dtype=xp.int64)
    nxt = xp.empty(y.shape, dtype=xp.int64)
    last = xp.full(y.shape[1], -1, dtype=xp.int64)
    for i in range(n_t):
        last = xp.where(valid[i], i, last)
        prev[i] = last
    first = xp.full(y.shape[1], n_t, dtype=xp.int64)
    for i in range(n_t - 1, -1, -1):
        first = xp.where(valid[i], i, first)
        nxt[i] = first

    pos = np.searchsorted(t, t_out, side="right")  # samples [0, pos) lie at or before t_out
    lo = xp.where(xp.asarray(pos > 0)[:, None], prev[xp.asarray(np.maximum(pos - 1, 0))], -1)
    hi = xp.where(xp.asarray(pos < n_t)[:, None], nxt[xp.asarray(np.minimum(pos, n_t - 1))], n_t)
    has_lo, has_hi = lo >= 0, hi < n_t
    lo_c, hi_c = xp.clip(lo, 0, n_t - 1), xp.clip(hi, 0, n_t - 1)
    y_lo = xp.take_along_axis(y, lo_c, axis=0)
    y_hi = xp.take_along_axis(y, hi_c, axis=0)
    t_dev = xp.asarray(t)
    t_lo, t_hi = t_dev[lo_c], t_dev[hi_c]
    tq = xp.asarray(t_out)[:, None]
    frac = (tq - t_lo) / xp.where(has_lo & has_hi, t_hi - t_lo, 1.0)
    both = y_lo + frac * (y_hi - y_lo)
    out = xp.where(has_lo, xp.where(has_hi, both, y_lo), xp.where(has_hi, y_hi, fill_value))
    return out


def savgol_smooth(
    values: Any,
    t: Any,
    *,
    mask: Any = None,
    t_out: Any = None,
    step: float | None = None,
    window_length: int = 7,
    polyorder: int = 2,
    valid_range: tuple[float, float] | None = (-1.0, 1.0),
    fill_value: float = 0.0,
) -> SavgolResult:
    """Savitzky-Golay smoothing of every series of a ``(T, ...)`` stack.

    Masked, NaN and out-of-range samples are replaced by linear interpolation
    between the valid neighbours on a regular grid of ``step`` days (default: the
    median spacing of ``t``); the filter (``window_length`` grid steps, polynomial
    order ``polyorder``, ``mode='interp'``) runs on that grid, and the result is
    interpolated linearly to ``t_out`` (default ``t``). A series without valid
    samples reads ``fill_value``.
    """
    xp = array_namespace(values, mask)
    values = xp.asarray(values)
    n_t = values.shape[0]
    t = np.asarray(to_numpy(t), dtype=np.float64)
    if t.shape != (n_t,):
        raise ValueError(f"t has shape {t.shape}, expected ({n_t},)")
    if window_length % 2 != 1 or polyorder >= window_length:
        raise ConfigError(
            f"savgol window_length must be odd and > polyorder, got {window_length}, {polyorder}"
        )
    t_out = t if t_out is None else np.asarray(to_numpy(t_out), dtype=np.float64)
    spatial = values.shape[1:]
    y = values.reshape(n_t, -1).astype(xp.float64)
    valid = xp.isfinite(y)
    if valid_range is not None:
        valid &= (y >= valid_range[0]) & (y <= valid_range[1])
    if mask is not None:
        valid &= ~xp.asarray(mask, dtype=bool).reshape(n_t, -1)
    grid = regular_grid(t, step)
    if grid.size < window_length:
        raise ConfigError(
            f"savgol window_length {window_length} is longer than the {grid.size}-step grid"
        )
    filled = gap_fill_linear(y, t, valid, grid, fill_value)
    smooth = _savgol_filter(xp)(filled, window_length, polyorder, axis=0, mode="interp")
    out = gap_fill_linear(smooth, grid, xp.ones(smooth.shape, dtype=bool), t_out, fill_value)
    n_valid = xp.count_nonzero(valid, axis=0)
    out = xp.where(n_valid > 0, out, fill_value)
    return SavgolResult(
        values=out.reshape((t_out.size,) + spatial),
        n_valid=n_valid.astype(xp.int16).reshape(spatial),
    )


def _savgol_filter(xp: Any) -> Any:
    if xp is np:
        from scipy.signal import savgol_filter
    else:
        from cupyx.scipy.signal import savgol_filter
    return savgol_filter
