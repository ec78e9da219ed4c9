"""The per-pixel arithmetic of ESTARFM, one source for the CPU and the GPU.

The two functions ending in ``_core`` use only scalars and array indexing, so the
same Python source is compiled twice: by ``numba.njit`` for the CPU (wrapped in the
``prange`` loops below) and by ``numba.cuda.jit(device=True)`` for the GPU (wrapped
in :mod:`agrifactory.fusion.gpu`). Both back ends therefore do the same arithmetic
in the same order, in float64.

Layout of the arrays the kernels take:

* ``fine``, ``coarse``: (2, bands, rows, cols) float64, the base pairs (index 0 is
  date 1, index 1 date 2).
* ``valid``: (rows, cols) uint8, pixels usable as similar pixels.
* ``th``: (2, bands, rows, cols) float64, the similarity threshold at each centre.
* ``corr``: (rows, cols) float64, the spectral correlation R of each pixel.
* ``dist``: (2w+1, 2w+1) float64, ``D = 1 + sqrt(dx^2 + dy^2) / w``.
* ``rlo, rhi, clo, chi``: the clipped window of each row and column.
* ``out_par``: (6, bands, rows, cols) float64, per band ``V``, ``sum W*C1``,
  ``sum W*C2``, ``sum W*F1``, ``sum W*F2`` and (when a target coarse image is
  given) ``sum W*C0`` over the similar pixels; NaN where there are too few.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Accumulators per band in the window scan (see ``pixel_core``).
ACC_PER_BAND = 11
#: Parameters per band written to ``out_par``.
N_PAR = 6
PAR_V, PAR_WC1, PAR_WC2, PAR_WF1, PAR_WF2, PAR_WC0 = range(N_PAR)


def pixel_core(
    r,
    c,
    r0,
    r1,
    q0,
    q1,
    fine,
    coarse,
    coarse0,
    use_c0,
    valid,
    th,
    corr,
    dist,
    w,
    min_change,
    max_conv,
    min_cand,
    fcrit,
    labels,
    use_cells,
    cell_ids,
    cell_wts,
    cell_count,
    slot,
    acc,
    out_n,
    out_par,
):
    """ESTARFM steps 3-4 for the centre ``(r, c)`` over the window ``[r0, r1) x [q0, q1)``.

    Finds the similar pixels, their weights W and, per band, the conversion
    coefficient V and the W-weighted sums that the prediction needs; optionally
    the W-weighted sum of ``coarse0`` (``use_c0``) and the sum of W per coarse cell
    (``use_cells``: cell labels go to ``cell_ids[slot]``, their W to
    ``cell_wts[slot]``, their number, or -1 past the buffer's capacity, to
    ``cell_count[slot]``).
    """
    nb = fine.shape[1]
    capacity = cell_ids.shape[1]
    for a in range(ACC_PER_BAND * nb):
        acc[a] = 0.0
    n = 0
    sw = 0.0
    ncell = 0
    last = -1
    overflow = False
    for i in range(r0, r1):
        for j in range(q0, q1):
            if valid[i, j] == 0:
                continue
            if i != r or j != c:
                similar = True
                for k in range(2):
                    for b in range(nb):
                        if not abs(fine[k, b, i, j] - fine[k, b, r, c]) < th[k, b, r, c]:
                            similar = False
                            break
                    if not similar:
                        break
                if not similar:
                    continue
            wgt = 1.0 / ((1.0 - corr[i, j]) * dist[i - r + w, j - c + w] + 1e-7)
            n += 1
            sw += wgt
            for b in range(nb):
                c1 = coarse[0, b, i, j]
                c2 = coarse[1, b, i, j]
                f1 = fine[0, b, i, j]
                f2 = fine[1, b, i, j]
                base = ACC_PER_BAND * b
                acc[base] += c1
                acc[base + 1] += c2
                acc[base + 2] += f1 + f2
                acc[base + 3] += c1 * c1 + c2 * c2
                acc[base + 4] += c1 * f1 + c2 * f2
                acc[base + 5] += f1 * f1 + f2 * f2
                acc[base + 6] += wgt * c1
                acc[base + 7] += wgt * c2
                acc[base + 8] += wgt * f1
                acc[base + 9] += wgt * f2
                if use_c0:
                    acc[base + 10] += wgt * coarse0[b, i, j]
            if use_cells and not overflow:
                lab = labels[i, j]
                if last >= 0 and cell_ids[slot, last] == lab:
                    cell_wts[slot, last] += wgt
                else:
                    found = -1
                    for k in range(ncell):
                        if cell_ids[slot, k] == lab:
                            found = k
                            break
                    if found >= 0:
                        cell_wts[slot, found] += wgt
                    elif ncell < capacity:
                        cell_ids[slot, ncell] = lab
                        cell_wts[slot, ncell] = wgt
                        found = ncell
                        ncell += 1
                    else:
                        overflow = True
                    last = found
    out_n[r, c] = n
    if n <= min_cand:
        for b in range(nb):
            for p in range(6):
                out_par[p, b, r, c] = np.nan
        if use_cells:
            cell_count[slot] = 0
        return
    npts = 2.0 * n
    for b in range(nb):
        base = ACC_PER_BAND * b
        v = 1.0
        if abs(acc[base] / n - acc[base + 1] / n) >= min_change:
            sx = acc[base] + acc[base + 1]
            sy = acc[base + 2]
            sxx = acc[base + 3] - sx * sx / npts
            sxy = acc[base + 4] - sx * sy / npts
            syy = acc[base + 5] - sy * sy / npts
            if sxx > 0.0:
                slope = sxy / sxx
                ssr = sxy * sxy / sxx
                sse = syy - ssr
                dof = 2 * n - 2
                if sse > 0.0:
                    significant = ssr / (sse / dof) >= fcrit[dof]
                else:
                    significant = ssr > 0.0
                if significant and slope > 0.0 and slope <= max_conv:
                    v = slope
        out_par[0, b, r, c] = v
        out_par[1, b, r, c] = acc[base + 6] / sw
        out_par[2, b, r, c] = acc[base + 7] / sw
        out_par[3, b, r, c] = acc[base + 8] / sw
        out_par[4, b, r, c] = acc[base + 9] / sw
        if use_c0:
            out_par[5, b, r, c] = acc[base + 10] / sw
        else:
            out_par[5, b, r, c] = np.nan
    if use_cells:
        if overflow:
            cell_count[slot] = -1
        else:
            for k in range(ncell):
                cell_wts[slot, k] = cell_wts[slot, k] / sw
            cell_count[slot] = ncell


def cells_core(p, indptr, ids, wts, rep, out):
    """``sum W * C0`` of flat pixel ``p`` from its per-cell weights and the cells' C0 values."""
    nb = rep.shape[0]
    for b in range(nb):
        s = 0.0
        for k in range(indptr[p], indptr[p + 1]):
            s += wts[k] * rep[b, ids[k]]
        out[b, p] = s


_pixel = njit(cache=True, nogil=True, error_model="numpy")(pixel_core)
_cells = njit(cache=True, nogil=True)(cells_core)


@njit(cache=True, parallel=True, error_model="numpy")
def scan_rows(
    ra, rb, rlo, rhi, clo, chi, fine, coarse, coarse0, use_c0, valid, th, corr, dist, w,
    min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts, cell_count,
    out_n, out_par,
):  # fmt: skip
    """Run :func:`pixel_core` on every valid pixel of rows ``[ra, rb)``.

    Cell buffers hold one slot per pixel of those rows (``(r - ra) * cols + c``).
    """
    nb = fine.shape[1]
    cols = valid.shape[1]
    for r in prange(ra, rb):
        acc = np.empty(ACC_PER_BAND * nb)
        for c in range(cols):
            if valid[r, c] != 0:
                _pixel(
                    r, c, rlo[r], rhi[r], clo[c], chi[c], fine, coarse, coarse0, use_c0,
                    valid, th, corr, dist, w, min_change, max_conv, min_cand, fcrit,
                    labels, use_cells, cell_ids, cell_wts, cell_count, (r - ra) * cols + c,
                    acc, out_n, out_par,
                )  # fmt: skip


@njit(cache=True, parallel=True, error_model="numpy")
def scan_pixels(
    pix_r, pix_c, rlo, rhi, clo, chi, fine, coarse, coarse0, use_c0, valid, th, corr, dist, w,
    min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts, cell_count,
    out_n, out_par,
):  # fmt: skip
    """Run :func:`pixel_core` on the listed pixels (cell slot = position in the list)."""
    nb = fine.shape[1]
    for q in prange(pix_r.size):
        acc = np.empty(ACC_PER_BAND * nb)
        r = pix_r[q]
        c = pix_c[q]
        _pixel(
            r, c, rlo[r], rhi[r], clo[c], chi[c], fine, coarse, coarse0, use_c0,
            valid, th, corr, dist, w, min_change, max_conv, min_cand, fcrit,
            labels, use_cells, cell_ids, cell_wts, cell_count, q, acc, out_n, out_par,
        )  # fmt: skip


@njit(cache=True, parallel=True)
def cell_sums(pixels, indptr, ids, wts, rep, out):
    """:func:`cells_core` for every listed flat pixel index."""
    for q in prange(pixels.size):
        _cells(pixels[q], indptr, ids, wts, rep, out)
