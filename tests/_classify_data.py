"""Small synthetic data sets for the classification tests (deterministic)."""

from __future__ import annotations

import numpy as np


def phenology_series(
    n_per_class: int = 30,
    peaks: tuple[float, ...] = (3.0, 6.0, 9.0),
    n_times: int = 12,
    n_channels: int = 1,
    noise: float = 0.05,
    seed: int = 0,
    shift: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian-peaked NDVI-like curves, one peak month per class (codes 1, 2, ...).

    Returns ``X (n, n_channels * n_times)`` channel-major and ``y``.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_times)
    xs, ys = [], []
    for k, peak in enumerate(peaks):
        centre = peak + shift + rng.normal(0, 0.4, size=(n_per_class, 1))
        width = 1.5 + rng.uniform(-0.2, 0.2, size=(n_per_class, 1))
        base = 0.2 + 0.6 * np.exp(-0.5 * ((t - centre) / width) ** 2)
        chans = [base * (1 + 0.3 * c) + rng.normal(0, noise, base.shape) for c in range(n_channels)]
        xs.append(np.concatenate(chans, axis=1))
        ys.append(np.full(n_per_class, k + 1))
    return np.concatenate(xs), np.concatenate(ys)
