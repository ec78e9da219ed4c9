"""Array-wide pieces of ESTARFM shared by the reference and the fast back ends.

Everything here works on NumPy or CuPy arrays alike (the module is looked up from
the arguments) and takes the block layout into account: ``"reference"`` clips
windows and statistics at the borders of non-overlapping blocks, ``"halo"`` only at
the array's edge.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import Any

import numpy as np

from agrifactory.backend import array_namespace
from agrifactory.fusion.params import EstarfmParams


def as_bands(x: Any) -> Any:
    """A (bands, rows, cols) view of a 2-D (one band) or 3-D array."""
    if x.ndim == 2:
        return x[None]
    return x


def valid_mask(images: list[Any], background: float | None) -> Any:
    """True where every band of every image is finite and not ``background``."""
    xp = array_namespace(*images)
    ok = None
    for img in images:
        good = xp.isfinite(img)
        if background is not None:
            good &= img != background
        good = good.all(axis=0)
        ok = good if ok is None else ok & good
    return ok


def block_starts(n: int, size: int) -> Any:
    """Start index of the reference block that holds each of ``n`` positions."""
    return (np.arange(n) // size) * size


def clip_bounds(n: int, half: int, params: EstarfmParams) -> tuple[np.ndarray, np.ndarray]:
    """Per position along one axis: the window ``[lo, hi)`` after clipping.

    ``reference`` clips at the border of the block that holds the centre; ``halo``
    only at the array's edge. Windows are separable, so rows and columns each get
    one pair of vectors.
    """
    pos = np.arange(n)
    if params.layout == "reference":
        start = block_starts(n, params.block_size)
        stop = np.minimum(start + params.block_size, n)
    else:
        start = np.zeros(n, dtype=np.int64)
        stop = np.full(n, n, dtype=np.int64)
    lo = np.maximum(pos - half, start)
    hi = np.minimum(pos + half + 1, stop)
    return lo.astype(np.int64), hi.astype(np.int64)


def _integral(xp: ModuleType, a: Any) -> Any:
    """Summed-area table with a leading row and column of zeros (float64)."""
    out = xp.zeros((a.shape[0] + 1, a.shape[1] + 1), dtype=np.float64)
    out[1:, 1:] = xp.cumsum(xp.cumsum(a, axis=0, dtype=np.float64), axis=1)
    return out


def box_sums(arrays: list[Any], rlo: Any, rhi: Any, clo: Any, chi: Any) -> list[Any]:
    """Sum of each 2-D array over the rectangle ``[rlo, rhi) x [clo, chi)`` of every pixel."""
    xp = array_namespace(*arrays)
    r0, r1 = xp.asarray(rlo)[:, None], xp.asarray(rhi)[:, None]
    c0, c1 = xp.asarray(clo)[None, :], xp.asarray(chi)[None, :]
    out = []
    for a in arrays:
        s = _integral(xp, a)
        out.append(s[r1, c1] - s[r0, c1] - s[r1, c0] + s[r0, c0])
    return out


def window_inverse_counts(valid: Any, params: EstarfmParams) -> Any:
    """``1 / (number of valid pixels)`` of each clipped window (NaN where none)."""
    xp = array_namespace(valid)
    rows, cols = valid.shape
    rlo, rhi = clip_bounds(rows, params.half_window, params)
    clo, chi = clip_bounds(cols, params.half_window, params)
    (count,) = box_sums([valid.astype(np.float64)], rlo, rhi, clo, chi)
    return xp.where(count > 0, 1.0 / xp.maximum(count, 1.0), xp.nan)


def window_means(
    images: list[Any], valid: Any, params: EstarfmParams, inverse_counts: Any | None = None
) -> list[Any]:
    """Mean of each (bands, rows, cols) image over the valid pixels of each clipped window.

    These are the means that give the temporal weights T_k (step 4) and the coarse
    change of the temporal fallback (step 5). Pixels whose window holds no valid
    pixel get NaN. ``inverse_counts`` (from :func:`window_inverse_counts` with the
    same ``valid``) saves recomputing them.
    """
    xp = array_namespace(valid, *images)
    rows, cols = valid.shape
    w = params.half_window
    rlo, rhi = clip_bounds(rows, w, params)
    clo, chi = clip_bounds(cols, w, params)
    inv = window_inverse_counts(valid, params) if inverse_counts is None else inverse_counts
    means = []
    for img in images:
        bands = []
        for b in range(img.shape[0]):
            x = xp.where(valid, img[b].astype(np.float64), 0.0)
            (s,) = box_sums([x], rlo, rhi, clo, chi)
            bands.append(s * inv)
        means.append(xp.stack(bands))
    return means


def similarity_thresholds(fine: Any, valid: Any, params: EstarfmParams) -> Any:
    """Threshold ``std(F[b]) * 2 / classes`` of one fine image, per band and pixel.

    The standard deviation (sample, ``ddof=1``, as IDL's ``stddev`` in the authors'
    code) is taken over the valid pixels of the reference block holding the pixel
    (``reference``) or of the ``block_size`` square centred on it (``halo``). Fewer
    than two valid pixels give NaN, which makes only the centre similar.

    Returns
    -------
    Array of shape (bands, rows, cols), float64.
    """
    xp = array_namespace(fine, valid)
    nb, rows, cols = fine.shape
    out = xp.full((nb, rows, cols), xp.nan, dtype=np.float64)
    scale = 2.0 / float(params.classes)
    if params.layout == "reference":
        size = params.block_size
        for r0 in range(0, rows, size):
            for c0 in range(0, cols, size):
                sl = (slice(r0, r0 + size), slice(c0, c0 + size))
                v = valid[sl]
                count = int(v.sum())
                if count < 2:
                    continue
                for b in range(nb):
                    vals = fine[b][sl][v].astype(np.float64)
                    out[b][sl] = xp.std(vals, ddof=1) * scale
        return out
    size = params.block_size
    half = size // 2
    pos_r, pos_c = np.arange(rows), np.arange(cols)
    rlo, rhi = np.maximum(pos_r - half, 0), np.minimum(pos_r - half + size, rows)
    clo, chi = np.maximum(pos_c - half, 0), np.minimum(pos_c - half + size, cols)
    v = valid.astype(np.float64)
    (count,) = box_sums([v], rlo, rhi, clo, chi)
    for b in range(nb):
        x = fine[b].astype(np.float64)
        # Centre on the valid mean so that the sums of squares do not cancel.
        shift = float(x[valid].mean()) if bool(valid.any()) else 0.0
        x = xp.where(valid, x - shift, 0.0)
        s1, s2 = box_sums([x, x * x], rlo, rhi, clo, chi)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = (s2 - s1 * s1 / count) / (count - 1)
        out[b] = xp.where(count >= 2, xp.sqrt(xp.maximum(var, 0.0)) * scale, xp.nan)
    return out


def spectral_correlation(fine1: Any, coarse1: Any, fine2: Any, coarse2: Any) -> Any:
    """Per pixel, the correlation R between its fine and coarse values (step 4).

    Several bands: Pearson's r between the vectors ``[F1(bands), F2(bands)]`` and
    ``[C1(bands), C2(bands)]``. One band (e.g. NDVI): the reference's
    ``R = 1 - (|(F1-C1)/(F1+C1)| + |(F2-C2)/(F2+C2)|) / 2``. NaN becomes 0.5.
    """
    xp = array_namespace(fine1, coarse1, fine2, coarse2)
    with np.errstate(invalid="ignore", divide="ignore"):
        if fine1.shape[0] == 1:
            f1, c1 = fine1[0].astype(np.float64), coarse1[0].astype(np.float64)
            f2, c2 = fine2[0].astype(np.float64), coarse2[0].astype(np.float64)
            r = 1.0 - 0.5 * (xp.abs((f1 - c1) / (f1 + c1)) + xp.abs((f2 - c2) / (f2 + c2)))
        else:
            x = xp.concatenate([fine1, fine2]).astype(np.float64)
            y = xp.concatenate([coarse1, coarse2]).astype(np.float64)
            dx = x - x.mean(axis=0)
            dy = y - y.mean(axis=0)
            r = (dx * dy).sum(axis=0) / xp.sqrt((dx * dx).sum(axis=0) * (dy * dy).sum(axis=0))
    return xp.where(xp.isnan(r), 0.5, r)


def distance_table(half: int) -> np.ndarray:
    """``D = 1 + sqrt(dx^2 + dy^2) / w`` for every offset of the (2w+1)^2 window."""
    d = np.arange(-half, half + 1, dtype=np.float64)
    return 1.0 + np.sqrt(d[:, None] ** 2 + d[None, :] ** 2) / half


@cache
def f_critical(max_dof: int, significance: float) -> np.ndarray:
    """Critical values ``F_crit[dof]`` of the F(1, dof) test at ``significance``.

    ``p <= significance`` exactly when ``F >= F_crit[dof]``; the kernels compare F
    with this table instead of evaluating the F distribution. Index 0 is +inf.
    """
    from scipy.special import fdtri  # inverse CDF of F; lighter to import than scipy.stats

    dof = np.arange(max_dof + 1, dtype=np.float64)
    out = np.full(max_dof + 1, np.inf)
    out[1:] = fdtri(1.0, dof[1:], 1.0 - significance)
    return out
