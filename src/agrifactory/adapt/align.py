"""Temporal pre-alignment: the shift in time that brings a target domain's series onto
the source's, chosen by MK-MMD on the inputs.

Crop calendars move between regions and years (the demo's green-up moves 8-15 days a
year): the same crop's curve then sits a few dates earlier or later. The shift that
minimises the MK-MMD between the source's series and the shifted target series (a grid
of fractional shifts, linear interpolation, edge values held) estimates that move
from unlabelled target pixels alone; the adapted model shifts every series it
classifies by it. Gaps in a series (a month without a clear observation) are filled
along time first (:func:`fill_time_gaps`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from agrifactory.timeseries.savgol import gap_fill_linear

log = logging.getLogger(__name__)


def fill_time_gaps(x: np.ndarray, fallback: Sequence[float]) -> np.ndarray:
    """``x (n, c, t)`` with its NaN steps filled along time: linear between the valid
    steps of each series, the nearest valid value held before the first and after the
    last; a series without any valid step takes ``fallback[c]`` (the source's mean of
    that channel). Infinity is not a gap and is left for the checks to refuse."""
    x = np.asarray(x, dtype=np.float32)
    gaps = np.isnan(x)
    if not gaps.any():
        return x
    n, c, t = x.shape
    flat = x.transpose(2, 0, 1).reshape(t, n * c)
    steps = np.arange(t, dtype=np.float64)
    filled = gap_fill_linear(flat, steps, ~np.isnan(flat), steps, fill_value=np.nan)
    out = np.where(gaps, filled.reshape(t, n, c).transpose(1, 2, 0), x).astype(np.float32)
    empty = np.isnan(out)
    if empty.any():
        log.info("%d series without a valid step take their channel's source mean",
                 int(empty.any(axis=2).sum()))  # fmt: skip
    fill = np.broadcast_to(np.asarray(fallback, dtype=np.float32)[None, :, None], out.shape)
    return np.where(empty, fill, out)


def shift_series(x: np.ndarray, shift: float) -> np.ndarray:
    """``x (n, c, t)`` moved ``shift`` steps later in time (negative: earlier): the value
    at step ``i`` becomes that at ``i - shift``, linearly interpolated, the first and
    last values held beyond the ends."""
    x = np.asarray(x, dtype=np.float32)
    if shift == 0:
        return x
    t = np.arange(x.shape[-1], dtype=np.float64)
    src = np.clip(t - shift, 0, x.shape[-1] - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, x.shape[-1] - 1)
    w = (src - lo).astype(np.float32)
    return (x[..., lo] * (1 - w) + x[..., hi] * w).astype(np.float32)


def estimate_shift(
    xs: np.ndarray,
    xt: np.ndarray,
    *,
    max_shift: float,
    step: float,
    multipliers: Sequence[float],
    n_max: int = 500,
    seed: int = 0,
) -> tuple[float, dict[float, float]]:
    """The shift of :func:`shift_series` in ``[-max_shift, max_shift]`` (multiples of
    ``step``) whose shifted target series ``xt`` are closest to the source's ``xs`` in
    MK-MMD (up to ``n_max`` seeded rows of each); returns it and the MMD of every shift.
    Ties go to the smallest shift."""
    import torch

    from agrifactory.adapt.losses import mk_mmd

    rng = np.random.default_rng(seed)
    a = _rows(xs, n_max, rng)
    b = _rows(xt, n_max, rng)
    shifts = np.round(np.arange(-max_shift, max_shift + step / 2, step) / step) * step
    shifts = sorted({float(s) for s in shifts}, key=lambda s: (abs(s), s))
    source = torch.from_numpy(a.reshape(len(a), -1))
    mmd = {}
    with torch.no_grad():
        for s in shifts:
            target = torch.from_numpy(shift_series(b, s).reshape(len(b), -1))
            mmd[s] = float(mk_mmd(source, target, multipliers=tuple(multipliers)))
    best = min(shifts, key=lambda s: (round(mmd[s], 9), abs(s)))
    log.info("temporal alignment: shift %+.2f steps (MMD %.4f; unshifted %.4f)", best,
             mmd[best], mmd[0.0])  # fmt: skip
    return best, mmd


def _rows(x: np.ndarray, n_max: int, rng: np.random.Generator) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x if len(x) <= n_max else x[np.sort(rng.choice(len(x), n_max, replace=False))]
