"""Agreement of a fused image with a held-out fine image."""

from __future__ import annotations

from typing import Any

import numpy as np

from agrifactory.backend import to_numpy


def agreement(prediction: Any, truth: Any) -> dict[str, float]:
    """Pearson r, RMSE, mean absolute difference and bias (prediction - truth).

    Only pixels finite in both arrays count; ``n`` says how many. With fewer than two
    such pixels, or no variance in either, the figures that cannot be computed are NaN.
    """
    x = to_numpy(prediction).astype(np.float64).ravel()
    y = to_numpy(truth).astype(np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"prediction has {x.size} values but truth has {y.size}")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = int(x.size)
    if n == 0:
        return {"n": 0, "r": np.nan, "rmse": np.nan, "mad": np.nan, "bias": np.nan}
    d = x - y
    dx, dy = x - x.mean(), y - y.mean()
    denom = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    r = float((dx * dy).sum() / denom) if n >= 2 and denom > 0 else np.nan
    return {
        "n": n,
        "r": r,
        "rmse": float(np.sqrt(np.mean(d * d))),
        "mad": float(np.mean(np.abs(d))),
        "bias": float(np.mean(d)),
    }
