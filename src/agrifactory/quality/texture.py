"""Image statistics of one scene over its kept (clear) pixels: sharpness, noise, striping.

All three work on one 2-D image (NDVI in the stage) and a boolean ``keep`` mask;
a statistic uses only pixels whose whole stencil is kept and finite, and returns
the number of stencils it used so a caller can tell "undefined" from "zero".
"""

from __future__ import annotations

import numpy as np

#: median(|N(0, 1)|): turns a median absolute value into a standard deviation.
_MAD_TO_SD = 0.6744897501960817


def _usable(image: np.ndarray, keep: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    img = np.asarray(image, dtype=np.float64)
    ok = np.isfinite(img)
    if keep is not None:
        ok &= np.asarray(keep, dtype=bool)
    return np.where(ok, img, 0.0), ok


def laplacian_variance(image: np.ndarray, keep: np.ndarray | None = None) -> tuple[float, int]:
    """Variance of the 5-point Laplacian over pixels whose 4 neighbours are all kept.

    Returns ``(variance, n)``; the variance is NaN when ``n < 2``.
    """
    img, ok = _usable(image, keep)
    c = img[1:-1, 1:-1]
    lap = img[:-2, 1:-1] + img[2:, 1:-1] + img[1:-1, :-2] + img[1:-1, 2:] - 4.0 * c
    inner = ok[1:-1, 1:-1] & ok[:-2, 1:-1] & ok[2:, 1:-1] & ok[1:-1, :-2] & ok[1:-1, 2:]
    n = int(inner.sum())
    if n < 2:
        return float("nan"), n
    return float(np.var(lap[inner])), n


def noise_sigma(image: np.ndarray, keep: np.ndarray | None = None) -> tuple[float, int]:
    """Noise standard deviation from the finest Haar diagonal detail (Donoho's MAD).

    ``d = (a - b - c + e) / 2`` over aligned 2x2 blocks ``[[a, b], [c, e]]`` has the
    noise's variance for white noise and is near zero on smooth ground, edges and
    row/column offsets; ``sigma = median(|d|) / 0.6745``. Returns ``(sigma, n)``.
    """
    img, ok = _usable(image, keep)
    h, w = (img.shape[0] // 2) * 2, (img.shape[1] // 2) * 2
    a, b = img[0:h:2, 0:w:2], img[0:h:2, 1:w:2]
    c, e = img[1:h:2, 0:w:2], img[1:h:2, 1:w:2]
    block_ok = ok[0:h:2, 0:w:2] & ok[0:h:2, 1:w:2] & ok[1:h:2, 0:w:2] & ok[1:h:2, 1:w:2]
    n = int(block_ok.sum())
    if n < 1:
        return float("nan"), n
    d = (a - b - c + e)[block_ok] / 2.0
    return float(np.median(np.abs(d)) / _MAD_TO_SD), n


def _line_offsets(image: np.ndarray, ok: np.ndarray) -> float:
    """RMS over rows of the median difference between each row and the next."""
    diff = image[1:] - image[:-1]
    pair_ok = ok[1:] & ok[:-1]
    enough = pair_ok.sum(axis=1) >= 0.5 * ok.shape[1]
    if enough.sum() < 2:
        return float("nan")
    d = np.where(pair_ok, diff, np.nan)[enough]
    return float(np.sqrt(np.mean(np.nanmedian(d, axis=1) ** 2)))


def stripe_level(image: np.ndarray, keep: np.ndarray | None = None) -> tuple[float, int]:
    """Striping: RMS of the median line-to-line difference, the larger of rows and columns.

    A stripe shifts a whole line, so the median over a line of the difference to
    the next line is the offset; on natural ground most pixels of two neighbouring
    lines lie in the same field and the median is near zero. Only line pairs with at
    least half their pixels kept count. Returns ``(level, pixels kept)``; NaN when
    fewer than two line pairs qualify on both axes. Axis-aligned stripes only.
    """
    img, ok = _usable(image, keep)
    rows = _line_offsets(img, ok)
    cols = _line_offsets(img.T, ok.T)
    both = [v for v in (rows, cols) if np.isfinite(v)]
    return (max(both) if both else float("nan")), int(ok.sum())
