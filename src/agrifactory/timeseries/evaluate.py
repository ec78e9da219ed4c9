"""Held-out evaluation of smoothers: never score a smoother on the samples it fitted."""

from __future__ import annotations

import numpy as np


def holdout_mask(clear: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Pick each clear sample with probability ``fraction`` (seeded): the test samples.

    The smoothers are then given these samples as masked and scored on them.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"hold-out fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    return np.asarray(clear, dtype=bool) & (rng.random(np.shape(clear)) < fraction)


def rmse_on(pred: np.ndarray, obs: np.ndarray, where: np.ndarray) -> float:
    """Root-mean-square difference of ``pred`` and ``obs`` over the samples ``where``."""
    diff = (np.asarray(pred, dtype=np.float64) - obs)[np.asarray(where, dtype=bool)]
    if diff.size == 0:
        raise ValueError("no samples to score")
    return float(np.sqrt(np.mean(diff**2)))
