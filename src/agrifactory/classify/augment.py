"""Temporal augmentation of time series (CropGlobe, 2025): random time shift, time
scaling and magnitude warping; and mixup of series pairs (Zhang et al. 2018).

Every function takes a batch ``x`` of shape ``(n, channels, time)`` (NumPy, host
memory: augmentation feeds the CPU/GPU training loop batch by batch), a
``numpy.random.Generator`` and a strength; it returns a new array of the same shape
and dtype. At strength 0 each is the identity, exactly. Resampling in time is linear
between neighbouring dates and holds the first/last value beyond the ends (a shifted
season does not wrap around the year).
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline


def _check(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"expected a batch of shape (n, channels, time), got {x.shape}")
    return x


def resample_time(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Values of ``x (n, c, t)`` at fractional time ``positions (n, t)``, edges held."""
    x = _check(x)
    t = x.shape[-1]
    pos = np.clip(np.asarray(positions, dtype=np.float64), 0, t - 1)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, t - 1)
    w = (pos - i0)[:, None, :]
    idx0 = np.broadcast_to(i0[:, None, :], x.shape)
    idx1 = np.broadcast_to(i1[:, None, :], x.shape)
    x0 = np.take_along_axis(x, idx0, axis=-1)
    x1 = np.take_along_axis(x, idx1, axis=-1)
    return (x0 * (1 - w) + x1 * w).astype(x.dtype, copy=False)


def time_shift(x: np.ndarray, rng: np.random.Generator, max_shift: float) -> np.ndarray:
    """Shift each series by ``s ~ U(-max_shift, max_shift)`` time steps (fractional)."""
    x = _check(x)
    n, _, t = x.shape
    s = rng.uniform(-max_shift, max_shift, size=(n, 1)) if max_shift > 0 else np.zeros((n, 1))
    return resample_time(x, np.arange(t)[None, :] - s)


def time_scale(x: np.ndarray, rng: np.random.Generator, max_scale: float) -> np.ndarray:
    """Stretch or compress each series about its centre by ``1 + U(-max_scale, max_scale)``.

    A factor above 1 stretches the season (slower development), below 1 compresses it.
    """
    x = _check(x)
    n, _, t = x.shape
    f = rng.uniform(-max_scale, max_scale, size=(n, 1)) if max_scale > 0 else np.zeros((n, 1))
    grid = np.arange(t, dtype=np.float64)[None, :]
    centre = (t - 1) / 2
    # position = centre + (t - centre) / (1 + f), written so that f = 0 gives t exactly
    return resample_time(x, grid - (grid - centre) * f / (1 + f))


def magnitude_warp(
    x: np.ndarray, rng: np.random.Generator, sigma: float, knots: int = 4
) -> np.ndarray:
    """Multiply each series (and channel) by a smooth random curve ``1 + sigma * g(t)``.

    ``g`` is a cubic spline through ``knots + 2`` standard-normal values at evenly
    spaced times (Um et al. 2017), so the curve varies slowly along the season.
    """
    x = _check(x)
    n, c, t = x.shape
    anchors = np.linspace(0, t - 1, knots + 2)
    values = rng.standard_normal((knots + 2, n * c))
    g = CubicSpline(anchors, values, axis=0)(np.arange(t))  # (t, n*c)
    curve = 1.0 + sigma * g.T.reshape(n, c, t)
    return (x * curve).astype(x.dtype, copy=False)


def augment_batch(
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    shift: float = 0.0,
    scale: float = 0.0,
    magnitude: float = 0.0,
    p: float = 0.5,
) -> np.ndarray:
    """Apply each augmentation to a random share ``p`` of the series of a batch.

    ``shift`` is in time steps, ``scale`` a relative stretch, ``magnitude`` the
    standard deviation of the warping curve. Zero strengths give the batch back.
    """
    out = _check(x).copy()
    n = out.shape[0]
    for strength, func in ((shift, time_shift), (scale, time_scale), (magnitude, magnitude_warp)):
        if strength <= 0:
            continue
        chosen = rng.random(n) < p
        if chosen.any():
            out[chosen] = func(out[chosen], rng, strength)
    return out


def mixup(
    x: np.ndarray, rng: np.random.Generator, alpha: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Mixup (Zhang et al. 2018): ``x' = lam x + (1 - lam) x[perm]``, ``lam ~ Beta(a, a)``.

    Returns the mixed batch, the partners' indices ``perm`` into the batch and
    ``lam`` (1 and the identity permutation when ``alpha <= 0``); the loss is then
    ``lam L(y) + (1 - lam) L(y[perm])``.
    """
    if alpha <= 0:
        return x, np.arange(len(x)), 1.0
    lam = float(rng.beta(alpha, alpha))
    perm = rng.permutation(len(x))
    return (lam * x + (1 - lam) * x[perm]).astype(x.dtype, copy=False), perm, lam
