"""Agreement of a fused image with a held-out fine image: statistics and the binned
scatter of the report."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

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


#: NDVI bins of the held-out scatter: 0.02 wide from -0.2 to 1.0 (values outside go to
#: the edge bins).
SCATTER_LOW, SCATTER_HIGH, SCATTER_WIDTH = -0.2, 1.0, 0.02
SCATTER_BINS = round((SCATTER_HIGH - SCATTER_LOW) / SCATTER_WIDTH)


def scatter_bins(values: np.ndarray) -> np.ndarray:
    """Bin index (0 to ``SCATTER_BINS - 1``) of each NDVI value; values must be finite."""
    index = np.floor((values.astype(np.float64) - SCATTER_LOW) / SCATTER_WIDTH)
    return np.clip(index, 0, SCATTER_BINS - 1).astype(np.int64)


def scatter_counts(observed: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Pixels per (observed bin, predicted bin): a ``SCATTER_BINS`` square of counts.

    Only pixels finite in both arrays count.
    """
    ok = np.isfinite(observed) & np.isfinite(predicted)
    cell = scatter_bins(observed[ok]) * SCATTER_BINS + scatter_bins(predicted[ok])
    counts = np.bincount(cell, minlength=SCATTER_BINS * SCATTER_BINS)
    return counts.reshape(SCATTER_BINS, SCATTER_BINS)


def scatter_table(counts: dict[int, np.ndarray], names: dict[int, str]) -> pd.DataFrame:
    """The non-empty cells of each flag's counts: ``flag``, ``flag_name``, ``observed``
    and ``fused`` (lower bin edges) and ``n``."""
    rows = []
    for code, square in counts.items():
        i, j = np.nonzero(square)
        rows.append(pd.DataFrame({
            "flag": code,
            "flag_name": names[code],
            "observed": np.round(SCATTER_LOW + i * SCATTER_WIDTH, 2),
            "fused": np.round(SCATTER_LOW + j * SCATTER_WIDTH, 2),
            "n": square[i, j],
        }))  # fmt: skip
    columns = ["flag", "flag_name", "observed", "fused", "n"]
    return pd.concat(rows, ignore_index=True)[columns] if rows else pd.DataFrame(columns=columns)
