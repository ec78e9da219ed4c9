"""Blocks of a tile and their features: CropLayer's four groups.

A tile's 30 m grid is cut into square blocks of ``block_px`` pixels. Every block gets
one row of features (:data:`FEATURE_GROUPS`):

* **IQA** (image quality): shares of the fusion flags over the season's dates, clear
  Landsat observations per pixel over the year, the tile's scene quality scores;
* **Geography**: mean elevation and slope, position (Albers x, y);
* **Regional property**: the province (adcode) and the classification region;
* **Consistency**: the factory map's cropland fraction, the mean entropy of its
  cropland probability, its edge density, and per other product its mean cropland
  fraction, the share of pixels where it agrees with the factory's map and the share
  it covers.

A feature that cannot be computed (a product that does not cover the block, no DEM)
is NaN, never zero: LightGBM treats NaN as missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from agrifactory.errors import ConfigError
from agrifactory.grid import PixelGrid

#: Feature columns by group (``{source}`` stands for each product's name).
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "iqa": ("flag_*", "clear_obs", "scene_score_mean", "scene_score_min"),
    "geography": ("elevation", "slope", "x", "y"),
    "region": ("province", "region"),
    "consistency": (
        "factory_fraction",
        "entropy",
        "edge_density",
        "frac_{source}",
        "agree_{source}",
        "cover_{source}",
    ),
}


@dataclass(frozen=True)
class BlockLattice:
    """The blocks of one tile: squares of ``block_px`` pixels on the tile's grid
    (``key``: the config key of the block edge, named when it does not fit the tile)."""

    grid: PixelGrid
    block_px: int
    key: str = "integration.block_m"

    def __post_init__(self) -> None:
        h, w = self.grid.shape
        if h % self.block_px or w % self.block_px:
            raise ConfigError(
                f"{self.key} ({self.block_px * self.grid.res:g} m) does not divide "
                f"the tile ({w} x {h} px of {self.grid.res:g} m): choose a divisor of the "
                "tile edge (1500 divides every tile edge)"
            )

    @property
    def shape(self) -> tuple[int, int]:
        """Blocks per column and per row: ``(n_rows, n_cols)``."""
        h, w = self.grid.shape
        return h // self.block_px, w // self.block_px

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of a ``(rows, cols)`` pixel array in every block (booleans count pixels)."""
        nr, nc = self.shape
        b = self.block_px
        return np.asarray(values).reshape(nr, b, nc, b).sum(axis=(1, 3))

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Mean of a ``(rows, cols)`` pixel array in every block, NaN pixels left out
        (NaN where a block has none)."""
        nr, nc = self.shape
        b = self.block_px
        v = np.asarray(values, dtype=np.float64).reshape(nr, b, nc, b)
        count = np.sum(~np.isnan(v), axis=(1, 3))
        total = np.nansum(v, axis=(1, 3))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def frame(self, tile_id: str, origin: tuple[float, float]) -> pd.DataFrame:
        """One row per block, row-major: ``block_id``, ``tile``, ``row``, ``col``,
        ``bx``, ``by`` (the block's column and row on the lattice of blocks that starts
        at the grid ``origin``, unique over all tiles), and the centre ``x``, ``y``."""
        nr, nc = self.shape
        size = self.block_px * self.grid.res
        rows, cols = np.divmod(np.arange(nr * nc), nc)
        x0 = self.grid.x_min + cols * size
        y1 = self.grid.y_max - rows * size
        return pd.DataFrame(
            {
                "block_id": [
                    f"{tile_id}_r{r:02d}c{c:02d}" for r, c in zip(rows, cols, strict=True)
                ],
                "tile": tile_id,
                "row": rows,
                "col": cols,
                "bx": np.rint((x0 - origin[0]) / size).astype(np.int64),
                "by": np.rint((origin[1] - y1) / size).astype(np.int64),
                "x": x0 + size / 2,
                "y": y1 - size / 2,
            }
        )


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """Entropy in bits of a two-class probability (0 at 0 and 1, 1 at 0.5; NaN stays NaN)."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    return np.where((p == 0) | (p == 1), 0.0, h)


def edge_pixels(classes: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """1.0 where a pixel's class differs from its right or lower neighbour, 0.0 where
    not, NaN where the pixel or both neighbours are invalid (the last row and column
    compare with what they have)."""
    c = np.asarray(classes)
    diff = np.zeros(c.shape, dtype=np.float64)
    seen = np.zeros(c.shape, dtype=bool)
    for axis in (0, 1):
        a = np.moveaxis(c, axis, 0)
        v = np.moveaxis(valid, axis, 0)
        both = v[:-1] & v[1:]
        d = np.moveaxis(diff, axis, 0)
        s = np.moveaxis(seen, axis, 0)
        d[:-1] = np.maximum(d[:-1], (a[:-1] != a[1:]) & both)
        s[:-1] |= both
    return np.where(valid & seen, diff, np.nan)


def consistency_features(
    lattice: BlockLattice,
    factory: np.ndarray,
    proba: np.ndarray,
    sources: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """The consistency group, one ``(n_rows, n_cols)`` array per feature.

    Parameters
    ----------
    factory
        The factory's cropland classes (0 other, 1 cropland, anything else nodata).
    proba
        The factory's cropland probability (NaN outside data).
    sources
        Each other product's cropland fraction on the grid (NaN where it has no data).
    """
    valid = (factory == 0) | (factory == 1)
    crop = np.where(valid, factory == 1, np.nan)
    out = {
        "factory_fraction": lattice.mean(crop),
        "entropy": lattice.mean(np.where(valid, binary_entropy(proba), np.nan)),
        "edge_density": lattice.mean(edge_pixels(factory, valid)),
    }
    for name, frac in sources.items():
        has = ~np.isnan(frac)
        both = has & valid
        agree = np.where(both, (frac >= 0.5) == (factory == 1), np.nan)
        out[f"frac_{name}"] = lattice.mean(np.where(valid, frac, np.nan))
        out[f"agree_{name}"] = lattice.mean(agree)
        out[f"cover_{name}"] = lattice.mean(np.where(valid, has, np.nan))
    return out


def flag_shares(
    lattice: BlockLattice, flags: np.ndarray, names: Mapping[int, str]
) -> dict[str, np.ndarray]:
    """Share of the dates of a ``(dates, rows, cols)`` fusion flag stack that carry each
    flag, per block (``flag_<name>``); codes not in ``names`` count as ``flag_other``."""
    out = {}
    known = np.zeros(flags.shape[1:], dtype=np.float64)
    for code, name in names.items():
        share = np.mean(flags == code, axis=0)
        known += share
        out[f"flag_{name}"] = lattice.mean(share)
    out["flag_other"] = lattice.mean(1.0 - known)
    return out


def slope_degrees(elevation: np.ndarray, spacing_m: float) -> np.ndarray:
    """Slope in degrees of an elevation grid with square cells of ``spacing_m``."""
    if min(elevation.shape) < 2:
        return np.full(elevation.shape, np.nan)
    dz_dy, dz_dx = np.gradient(np.asarray(elevation, dtype=np.float64), spacing_m)
    return np.degrees(np.arctan(np.hypot(dz_dx, dz_dy)))


def feature_columns(columns: list[str] | pd.Index) -> list[str]:
    """The feature columns of a block table (all but the ids and the lattice indices)."""
    ids = {"block_id", "tile", "row", "col", "bx", "by"}
    return [c for c in columns if c not in ids]


def group_of(feature: str) -> str:
    """The group a feature column belongs to (:data:`FEATURE_GROUPS`), or ``'pixel'``
    for the per-pixel values of the integration model."""
    for group, patterns in FEATURE_GROUPS.items():
        for pattern in patterns:
            head = pattern.split("{")[0].rstrip("*")
            exact = "{" not in pattern and "*" not in pattern
            if (exact and feature == pattern) or (not exact and feature.startswith(head)):
                return group
    return "pixel"
