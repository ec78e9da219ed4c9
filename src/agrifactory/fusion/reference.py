"""The per-pixel ESTARFM baseline, written straight from the algorithm's steps.

This is the correctness baseline for the fast back ends and the speed baseline of
the benchmarks: one pixel at a time, one window at a time, as the authors'
reference code (Zhu et al. 2010) does it. It is slow (about a thousand pixels a
second with the default 51 x 51 window); use :func:`agrifactory.fusion.fuse` for
real work.

Conventions shared with the fast back ends: a pixel is valid when every band of all
five images is finite and not ``params.background``; invalid pixels are never used
and come out as NaN with QA flag ``QA_INVALID``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import fdtrc

from agrifactory.fusion.params import (
    QA_INVALID,
    QA_OUT_OF_RANGE,
    QA_TEMPORAL,
    QA_WEIGHTED,
    EstarfmParams,
)
from agrifactory.fusion.statistics import as_bands, similarity_thresholds, valid_mask


def _block_thresholds(fine: np.ndarray, valid: np.ndarray, classes: float) -> np.ndarray:
    """``std(F[b] over the block's valid pixels, ddof=1) * 2 / classes`` per band."""
    out = np.full(fine.shape[0], np.nan)
    if valid.sum() >= 2:
        for b in range(fine.shape[0]):
            out[b] = np.std(fine[b][valid].astype(np.float64), ddof=1) * 2.0 / float(classes)
    return out


def _correlation(fine_vecs: np.ndarray, coarse_vecs: np.ndarray) -> np.ndarray:
    """R of each candidate (columns): Pearson's r of its fine and coarse vectors, or the one-band rule."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if fine_vecs.shape[0] == 2:  # one band: rows are [F1, F2] and [C1, C2]
            f1, f2 = fine_vecs
            c1, c2 = coarse_vecs
            r = 1.0 - 0.5 * (np.abs((f1 - c1) / (f1 + c1)) + np.abs((f2 - c2) / (f2 + c2)))
        else:
            dx = fine_vecs - fine_vecs.mean(axis=0)
            dy = coarse_vecs - coarse_vecs.mean(axis=0)
            r = (dx * dy).sum(axis=0) / np.sqrt((dx * dx).sum(axis=0) * (dy * dy).sum(axis=0))
    return np.where(np.isnan(r), 0.5, r)


def _conversion(
    coarse_pts: np.ndarray, fine_pts: np.ndarray, n: int, params: EstarfmParams
) -> float:
    """V of one band: least-squares slope of fine on coarse, kept if significant and in (0, max]."""
    c1, c2 = coarse_pts[:n], coarse_pts[n:]
    if abs(c1.mean() - c2.mean()) < params.coarse_change_threshold:
        return 1.0
    x, y = coarse_pts, fine_pts
    dx, dy = x - x.mean(), y - y.mean()
    sxx, sxy = (dx * dx).sum(), (dx * dy).sum()
    if sxx <= 0:
        return 1.0
    slope = sxy / sxx
    ssr = sxy * sxy / sxx
    sse = ((dy - slope * dx) ** 2).sum()
    dof = x.size - 2
    if sse > 0:
        p = fdtrc(1, dof, ssr / (sse / dof))  # survival function of F(1, dof)
    else:
        p = 0.0 if ssr > 0 else 1.0
    if p <= params.significance and 0 < slope <= params.max_conversion:
        return float(slope)
    return 1.0


def _predict_block(
    f1: np.ndarray,
    c1: np.ndarray,
    f2: np.ndarray,
    c2: np.ndarray,
    c0: np.ndarray,
    valid: np.ndarray,
    todo: np.ndarray,
    th1: np.ndarray,
    th2: np.ndarray,
    params: EstarfmParams,
    out: np.ndarray,
    qa: np.ndarray,
    window_limits: tuple[int, int, int, int],
) -> None:
    """Predict every valid pixel of ``out``'s region; windows stay inside ``window_limits``.

    ``f1 ... c0`` are the whole arrays; ``todo`` marks the centres to predict; ``th1``/``th2`` give each pixel's threshold
    per band, shape (bands, rows, cols); ``window_limits`` is ``(row0, row1, col0,
    col1)`` of the region the windows are clipped to; ``out`` and ``qa`` are views of
    the region to predict, which starts at ``(row0, col0)``.
    """
    R0, R1, Q0, Q1 = window_limits
    images = (f1, c1, f2, c2, c0)
    for j in range(R0, R1):
        for i in range(Q0, Q1):
            if valid[j, i] and todo[j, i]:
                _predict_pixel(images, valid, (th1, th2), params, window_limits, j, i, out, qa)


def _predict_pixel(
    images: tuple[np.ndarray, ...],
    valid: np.ndarray,
    thresholds: tuple[np.ndarray, np.ndarray],
    params: EstarfmParams,
    window_limits: tuple[int, int, int, int],
    j: int,
    i: int,
    out: np.ndarray,
    qa: np.ndarray,
) -> None:
    """Predict pixel ``(j, i)`` (every band) into ``out`` and ``qa`` (see :func:`_predict_block`)."""
    f1, c1, f2, c2, c0 = images
    th1, th2 = thresholds
    nb = f1.shape[0]
    w = params.half_window
    lo, hi = params.valid_range
    R0, R1, Q0, Q1 = window_limits
    aj, bj = max(R0, j - w), min(R1, j + w + 1)
    ai, bi = max(Q0, i - w), min(Q1, i + w + 1)
    wvalid = valid[aj:bj, ai:bi]

    # Similar pixels: within the threshold in every band of both fine images.
    similar = wvalid.copy()
    for b in range(nb):
        similar &= np.abs(f1[b, aj:bj, ai:bi] - f1[b, j, i]) < th1[b, j, i]
        similar &= np.abs(f2[b, aj:bj, ai:bi] - f2[b, j, i]) < th2[b, j, i]
    similar[j - aj, i - ai] = True  # the centre is always a candidate
    rr, cc = np.nonzero(similar)
    n = rr.size

    # Temporal weights from the mean coarse values of all valid window pixels.
    m0 = np.array([c0[b, aj:bj, ai:bi][wvalid].mean() for b in range(nb)])
    m1 = np.array([c1[b, aj:bj, ai:bi][wvalid].mean() for b in range(nb)])
    m2 = np.array([c2[b, aj:bj, ai:bi][wvalid].mean() for b in range(nb)])

    if n <= params.min_candidates:
        for b in range(nb):
            d1 = m0[b] - m1[b] + 1e-10
            d2 = m0[b] - m2[b] + 1e-10
            t1 = (1 / abs(d1)) / (1 / abs(d1) + 1 / abs(d2))
            t2 = (1 / abs(d2)) / (1 / abs(d1) + 1 / abs(d2))
            out[b, j - R0, i - Q0] = t1 * (f1[b, j, i] + d1) + t2 * (f2[b, j, i] + d2)
            qa[b, j - R0, i - Q0] = QA_TEMPORAL
        return

    ys, xs = rr + aj, cc + ai
    fine_vecs = np.concatenate([f1[:, ys, xs], f2[:, ys, xs]])  # (2 nb, n)
    coarse_vecs = np.concatenate([c1[:, ys, xs], c2[:, ys, xs]])
    corr = _correlation(fine_vecs, coarse_vecs)
    dist = 1.0 + np.sqrt((ys - j) ** 2 + (xs - i) ** 2) / w
    cd = (1.0 - corr) * dist + 1e-7
    weight = (1.0 / cd) / np.sum(1.0 / cd)

    for b in range(nb):
        v = _conversion(
            np.concatenate([c1[b, ys, xs], c2[b, ys, xs]]),
            np.concatenate([f1[b, ys, xs], f2[b, ys, xs]]),
            n,
            params,
        )
        d1 = abs(m0[b] - m1[b]) + 1e-10
        d2 = abs(m0[b] - m2[b]) + 1e-10
        t1 = (1 / d1) / (1 / d1 + 1 / d2)
        t2 = (1 / d2) / (1 / d1 + 1 / d2)
        fine01 = f1[b, j, i] + np.sum(weight * v * (c0[b, ys, xs] - c1[b, ys, xs]))
        fine02 = f2[b, j, i] + np.sum(weight * v * (c0[b, ys, xs] - c2[b, ys, xs]))
        pred = t1 * fine01 + t2 * fine02
        flag = QA_WEIGHTED
        if pred <= lo or pred >= hi:
            pred = t1 * np.sum(weight * f1[b, ys, xs]) + t2 * np.sum(weight * f2[b, ys, xs])
            flag = QA_OUT_OF_RANGE
        out[b, j - R0, i - Q0] = pred
        qa[b, j - R0, i - Q0] = flag


def fuse_reference(
    fine1: np.ndarray,
    coarse1: np.ndarray,
    fine2: np.ndarray,
    coarse2: np.ndarray,
    coarse0: np.ndarray,
    params: EstarfmParams | None = None,
    *,
    region: tuple[slice, slice] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Predict the fine image at the target date, one pixel at a time.

    Parameters
    ----------
    fine1, coarse1, fine2, coarse2
        The two base pairs, (bands, rows, cols) or (rows, cols), coarse already on
        the fine grid.
    coarse0
        The coarse image at the target date.
    params
        Settings; the default is :class:`EstarfmParams()`.
    region
        Predict only this ``(rows, cols)`` slice (the windows and statistics still
        see the whole arrays); meant for timing the baseline on a subset.

    Returns
    -------
    prediction, qa
        float64 prediction (NaN where not predicted) and uint8 QA flags, both of the
        input's (bands, rows, cols) shape (or of the region).
    """
    params = params or EstarfmParams()
    arrays = [
        as_bands(np.asarray(a, dtype=np.float64)) for a in (fine1, coarse1, fine2, coarse2, coarse0)
    ]
    f1, c1, f2, c2, c0 = arrays
    nb, rows, cols = f1.shape
    valid = valid_mask(arrays, params.background)
    base_valid = valid_mask(arrays[:4], params.background)
    out = np.full((nb, rows, cols), np.nan)
    qa = np.full((nb, rows, cols), QA_INVALID, dtype=np.uint8)
    rs, cs = region or (slice(0, rows), slice(0, cols))
    want = np.zeros((rows, cols), dtype=bool)
    want[rs, cs] = True

    if params.layout == "reference":
        size = params.block_size
        for r0 in range(0, rows, size):
            for q0 in range(0, cols, size):
                r1, q1 = min(r0 + size, rows), min(q0 + size, cols)
                if not want[r0:r1, q0:q1].any():
                    continue
                bv = base_valid[r0:r1, q0:q1]
                th1 = np.broadcast_to(
                    _block_thresholds(f1[:, r0:r1, q0:q1], bv, params.classes)[:, None, None],
                    (nb, rows, cols),
                )
                th2 = np.broadcast_to(
                    _block_thresholds(f2[:, r0:r1, q0:q1], bv, params.classes)[:, None, None],
                    (nb, rows, cols),
                )
                _predict_block(
                    f1, c1, f2, c2, c0, valid, want, th1, th2, params,
                    out[:, r0:r1, q0:q1], qa[:, r0:r1, q0:q1], (r0, r1, q0, q1),
                )  # fmt: skip
    else:
        th1 = similarity_thresholds(f1, base_valid, params)
        th2 = similarity_thresholds(f2, base_valid, params)
        # One "block" covering the array: windows are clipped only at its edge.
        _predict_block(
            f1, c1, f2, c2, c0, valid, want, th1, th2, params, out, qa, (0, rows, 0, cols)
        )
    if region is not None:
        return out[:, rs, cs], qa[:, rs, cs]
    return out, qa
