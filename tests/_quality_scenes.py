"""Small synthetic Landsat-like scenes for the quality tests (not a test module)."""

from __future__ import annotations

import datetime as dt

import numpy as np


def landscape(shape: tuple[int, int] = (96, 96), seed: int = 100, n_fields: int = 50) -> np.ndarray:
    """Vegetation fraction in [0, 1] of irregular fields (nearest of random seed points)."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, shape[0], (n_fields, 2))
    vals = rng.uniform(0, 1, n_fields)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    d = (yy[..., None] - pts[:, 0]) ** 2 + (xx[..., None] - pts[:, 1]) ** 2
    return vals[d.argmin(-1)]


def reflectance(f: np.ndarray) -> np.ndarray:
    """(blue, red, nir) surface reflectance of vegetation fraction ``f``: red = 3 * blue - 0.06."""
    blue = 0.03 + 0.05 * (1 - f)
    red = 0.03 + 0.15 * (1 - f)
    nir = 0.22 + 0.25 * f
    return np.stack([blue, red, nir]).astype(np.float32)


def clear_scenes(
    n: int, seed: int = 0, shape: tuple[int, int] = (96, 96), field_seed: int = 100
) -> np.ndarray:
    """``n`` clear scenes (n, 3, rows, cols) of one landscape with small per-date changes."""
    rng = np.random.default_rng(seed)
    f0 = landscape(shape, field_seed)
    return np.stack([reflectance(np.clip(f0 + rng.normal(0, 0.02, shape), 0, 1)) for _ in range(n)])


def dates(n: int, start: dt.date = dt.date(2021, 6, 1), step: int = 16) -> list[dt.date]:
    return [start + dt.timedelta(days=step * i) for i in range(n)]
