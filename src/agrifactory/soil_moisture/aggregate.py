"""Area-weighted aggregation of a fine regular grid onto a coarse one.

Both grids are north-up and axis-aligned in the same CRS. Each coarse cell is
the area-weighted mean of the fine pixels it overlaps, each pixel weighted by
the area of its intersection with the cell, so pixels cut by a cell edge count
in part. The weights separate into a row matrix and a column matrix, which
makes the aggregation two small matrix products per band. In a geographic CRS
the area of a strip between latitudes phi1 and phi2 is proportional to
``sin(phi2) - sin(phi1)``, so rows are weighted by that, not by their height in
degrees.

Missing pixels (NaN) carry no weight; a coarse cell whose valid area is below
``min_coverage`` of its own area is NaN, never a mean of a few pixels.
"""

from __future__ import annotations

import numpy as np
from affine import Affine

from agrifactory.backend import array_namespace


def grid_edges(transform: Affine, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Row edges (top to bottom, ``height + 1``) and column edges (``width + 1``) of a grid."""
    if transform.b != 0 or transform.d != 0 or transform.a <= 0 or transform.e >= 0:
        raise ValueError(f"grid must be north-up and axis-aligned, got {tuple(transform)[:6]}")
    h, w = shape
    ys = transform.f + transform.e * np.arange(h + 1)
    xs = transform.c + transform.a * np.arange(w + 1)
    return ys, xs


def overlap_matrix(src_edges: np.ndarray, dst_edges: np.ndarray) -> np.ndarray:
    """Overlap length of every destination interval with every source interval.

    Edges may run up or down; the result has shape ``(n_dst, n_src)``.
    """
    s = np.sort(np.stack([src_edges[:-1], src_edges[1:]], axis=1), axis=1)
    d = np.sort(np.stack([dst_edges[:-1], dst_edges[1:]], axis=1), axis=1)
    lo = np.maximum(d[:, None, 0], s[None, :, 0])
    hi = np.minimum(d[:, None, 1], s[None, :, 1])
    return np.clip(hi - lo, 0, None)


def _sin_overlap(src_edges: np.ndarray, dst_edges: np.ndarray) -> np.ndarray:
    s = np.sort(np.stack([src_edges[:-1], src_edges[1:]], axis=1), axis=1)
    d = np.sort(np.stack([dst_edges[:-1], dst_edges[1:]], axis=1), axis=1)
    lo = np.maximum(d[:, None, 0], s[None, :, 0])
    hi = np.minimum(d[:, None, 1], s[None, :, 1])
    hi = np.maximum(hi, lo)
    return np.sin(np.deg2rad(hi)) - np.sin(np.deg2rad(lo))


def aggregation_weights(
    src_transform: Affine,
    src_shape: tuple[int, int],
    dst_transform: Affine,
    dst_shape: tuple[int, int],
    *,
    geographic: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row weights ``(dst_h, src_h)``, column weights ``(dst_w, src_w)`` and cell areas ``(dst_h, dst_w)``.

    The area of the overlap of destination cell (i, j) with source pixel (k, l)
    is ``rows[i, k] * cols[j, l]`` (in degree-radians for geographic grids, in
    squared CRS units otherwise).
    """
    sy, sx = grid_edges(src_transform, src_shape)
    dy, dx = grid_edges(dst_transform, dst_shape)
    if geographic:
        rows = _sin_overlap(sy, dy)
        dst_rows = np.abs(np.diff(np.sin(np.deg2rad(dy))))
    else:
        rows = overlap_matrix(sy, dy)
        dst_rows = np.abs(np.diff(dy))
    cols = overlap_matrix(sx, dx)
    cell_area = np.outer(dst_rows, np.abs(np.diff(dx)))
    return rows, cols, cell_area


def area_weighted_aggregate(
    data,
    src_transform: Affine,
    dst_transform: Affine,
    dst_shape: tuple[int, int],
    *,
    geographic: bool,
    min_coverage: float = 0.5,
):
    """Aggregate ``(..., H, W)`` fine data to the destination grid, area-weighted.

    Parameters
    ----------
    data
        NumPy or CuPy array; NaN marks missing pixels.
    src_transform, dst_transform
        North-up transforms of the fine and coarse grids (same CRS).
    dst_shape
        ``(rows, cols)`` of the coarse grid.
    geographic
        True for lon/lat grids (rows weighted by true area), False for projected ones.
    min_coverage
        Least share of a coarse cell's area that valid fine pixels must cover;
        cells below it are NaN.

    Returns
    -------
    mean, coverage
        The aggregated array ``(..., rows, cols)`` and the covered share of each
        cell ``(..., rows, cols)``, both of the input's array kind.
    """
    xp = array_namespace(data)
    rows, cols, cell_area = aggregation_weights(
        src_transform, data.shape[-2:], dst_transform, dst_shape, geographic=geographic
    )
    rows = xp.asarray(rows)
    cols_t = xp.asarray(cols.T)
    valid = xp.isfinite(data)
    filled = xp.where(valid, data, 0).astype(xp.float64)
    num = rows @ filled @ cols_t
    den = rows @ valid.astype(xp.float64) @ cols_t
    coverage = den / xp.asarray(cell_area)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = num / den
    mean = xp.where(coverage >= min_coverage - 1e-12, mean, xp.nan)
    return mean, coverage
