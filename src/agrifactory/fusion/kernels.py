"""The per-pixel arithmetic of ESTARFM, one source for the CPU and the GPU.

The two functions ending in ``_core`` use only scalars, array indexing and slicing,
so the same Python source is compiled twice: by ``numba.njit`` for the CPU (wrapped
in the ``prange`` loops below) and by ``numba.cuda.jit(device=True)`` for the GPU
(wrapped in :mod:`agrifactory.fusion.gpu`). Both back ends therefore do the same
arithmetic in the same order, in float64.

Arrays the kernels take (P = 2 * bands):

* ``fv``: (P, rows, cols) the fine values ``[F1 bands, F2 bands]``.
* ``th``: (P, rows, cols) the similarity threshold of each plane at each centre.
* ``fv32``, ``th32``: float32 copies of ``fv`` and of ``th`` widened so that the
  float32 test keeps every pixel the float64 test keeps (see
  :func:`agrifactory.fusion.estarfm.widened_thresholds`).
* ``qu``: (rows, cols, 6 * bands) per pixel and band ``C1, C2, F1 + F2,
  C1^2 + C2^2, C1 F1 + C2 F2, F1^2 + F2^2``: summed over the similar pixels they
  give the least-squares fit of V on the 2n stacked points.
* ``qw``: (rows, cols, 4 or 5 * bands) per pixel ``C1, C2, F1, F2`` (and ``C0``
  when a target is given) per band: their W-weighted sums give the prediction.
* ``valid``: (rows, cols) uint8, pixels usable as similar pixels.
* ``corr``: (rows, cols) the spectral correlation R of each pixel.
* ``dist``: (2w+1, 2w+1) ``D = 1 + sqrt(dx^2 + dy^2) / w``.
* ``rlo, rhi, clo, chi``: the clipped window of each row and column.
* ``out_par``: (6, bands, rows, cols) per band ``V``, ``sum W*C1``, ``sum W*C2``,
  ``sum W*F1``, ``sum W*F2`` and ``sum W*C0`` (NaN without a target); all NaN
  where there are too few similar pixels.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from agrifactory.fusion.params import QA_INVALID, QA_OUT_OF_RANGE, QA_TEMPORAL, QA_WEIGHTED

#: Parameters per band written to ``out_par``.
N_PAR = 6
PAR_V, PAR_WC1, PAR_WC2, PAR_WF1, PAR_WF2, PAR_WC0 = range(N_PAR)
#: Unweighted and weighted quantities per band in ``qu`` and ``qw``.
N_QU = 6
N_QW = 4


def scratch_size(nb: int) -> int:
    """Length of the float64 scratch vector one pixel needs."""
    return 2 * (2 * nb) + N_QU * nb + (N_QW + 1) * nb


def table_size(capacity: int) -> int:
    """Size of the cell lookup table: a power of two >= 2 * capacity."""
    size = 1
    while size < 2 * capacity:
        size *= 2
    return size


def pixel_core(
    r,
    c,
    r0,
    r1,
    q0,
    q1,
    fv,
    th,
    fv32,
    th32,
    qu,
    qw,
    valid,
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
    scratch,
    mask,
    htab,
    out_n,
    out_par,
):
    """ESTARFM steps 3-4 for the centre ``(r, c)`` over the window ``[r0, r1) x [q0, q1)``.

    Finds the similar pixels, their weights W and, per band, the conversion
    coefficient V and the W-weighted sums that the prediction needs; optionally
    the sum of W per coarse cell (``use_cells``: labels go to ``cell_ids[slot]``,
    their W to ``cell_wts[slot]``, their number, or -1 past the buffer's capacity,
    to ``cell_count[slot]``). ``scratch`` has :func:`scratch_size` float64 slots and
    ``mask`` (int32) at least ``2 * w + 1``; ``htab`` (int32) a power of two
    at least twice ``cell_ids.shape[1]`` (a lookup table of the cells).
    """
    nplanes = fv.shape[0]
    nb = nplanes // 2
    ku = qu.shape[2]
    kw = qw.shape[2]
    capacity = cell_ids.shape[1]
    # scratch: centre values | thresholds | unweighted sums | weighted sums
    o_th = nplanes
    o_au = 2 * nplanes
    o_aw = o_au + ku
    for p in range(nplanes):
        scratch[p] = fv[p, r, c]
        scratch[o_th + p] = th[p, r, c]
    au = scratch[o_au : o_au + ku]
    aw = scratch[o_aw : o_aw + kw]
    for k in range(ku + kw):
        scratch[o_au + k] = 0.0
    n = 0
    sw = 0.0
    ncell = 0
    run_lab = -1
    run_k = -1
    run_w = 0.0
    overflow = False
    hmask = htab.shape[0] - 1
    if use_cells:
        for k in range(htab.shape[0]):
            htab[k] = 0
    width = q1 - q0
    for i in range(r0, r1):
        # Similar pixels of this window row: valid and within every threshold.
        vrow = valid[i, q0:q1]
        for jj in range(width):
            mask[jj] = 1 if vrow[jj] != 0 else 0
        # A float32 pre-test with widened thresholds (twice the SIMD width) keeps a
        # superset of the similar pixels; the float64 test below confirms them.
        for p in range(nplanes):
            cp32 = fv32[p, r, c]
            tp32 = th32[p, r, c]
            row = fv32[p, i, q0:q1]
            for jj in range(width):
                mask[jj] = mask[jj] & (1 if abs(row[jj] - cp32) < tp32 else 0)
        if i == r:
            mask[c - q0] = 1
        # Compact the row's kept columns in place, without branches (jj >= count).
        count = 0
        for jj in range(width):
            keep = mask[jj]
            mask[count] = jj
            count += keep
        for t in range(count):
            jj = mask[t]
            j = q0 + jj
            if i != r or j != c:  # the centre is always a candidate
                similar = True
                for p in range(nplanes):
                    if not abs(fv[p, i, j] - scratch[p]) < scratch[o_th + p]:
                        similar = False
                        break
                if not similar:
                    continue
            wgt = 1.0 / ((1.0 - corr[i, j]) * dist[i - r + w, j - c + w] + 1e-7)
            n += 1
            sw += wgt
            qrow = qu[i, j]
            for k in range(ku):
                au[k] += qrow[k]
            qrow = qw[i, j]
            for k in range(kw):
                aw[k] += wgt * qrow[k]
            if use_cells and not overflow:
                # Similar pixels come in runs of one cell along a row: add W to the
                # run's total in a register and store it when the cell changes.
                lab = labels[i, j]
                if lab == run_lab:
                    run_w += wgt
                else:
                    if run_k >= 0:
                        cell_wts[slot, run_k] += run_w
                    # Open-addressing table: label -> position in the list + 1.
                    h = lab & hmask
                    found = -1
                    while htab[h] != 0:
                        if cell_ids[slot, htab[h] - 1] == lab:
                            found = htab[h] - 1
                            break
                        h = (h + 1) & hmask
                    if found < 0 and ncell < capacity:
                        cell_ids[slot, ncell] = lab
                        cell_wts[slot, ncell] = 0.0
                        htab[h] = ncell + 1
                        found = ncell
                        ncell += 1
                    if found < 0:
                        overflow = True
                    run_lab = lab
                    run_k = found
                    run_w = wgt
    out_n[r, c] = n
    if n <= min_cand:
        for b in range(nb):
            for k in range(6):
                out_par[k, b, r, c] = np.nan
        if use_cells:
            cell_count[slot] = 0
        return
    npts = 2.0 * n
    for b in range(nb):
        u = o_au + b
        s_c1 = scratch[u]
        s_c2 = scratch[u + nb]
        v = 1.0
        if abs(s_c1 / n - s_c2 / n) >= min_change:
            sx = s_c1 + s_c2
            sy = scratch[u + 2 * nb]
            sxx = scratch[u + 3 * nb] - sx * sx / npts
            sxy = scratch[u + 4 * nb] - sx * sy / npts
            syy = scratch[u + 5 * nb] - sy * sy / npts
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
        a = o_aw + b
        out_par[0, b, r, c] = v
        out_par[1, b, r, c] = scratch[a] / sw
        out_par[2, b, r, c] = scratch[a + nb] / sw
        out_par[3, b, r, c] = scratch[a + 2 * nb] / sw
        out_par[4, b, r, c] = scratch[a + 3 * nb] / sw
        if kw > 4 * nb:
            out_par[5, b, r, c] = scratch[a + 4 * nb] / sw
        else:
            out_par[5, b, r, c] = np.nan
    if use_cells:
        if run_k >= 0 and not overflow:
            cell_wts[slot, run_k] += run_w
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


def combine_core(p, fine, n, par, m0, m1, m2, valid, lo, hi, min_cand, out_pred, out_qa):
    """The prediction and QA flag of flat pixel ``p`` in every band (steps 4 and 5).

    ``fine`` is (2, bands, pixels), ``par`` (6, bands, pixels), the window means
    ``m0, m1, m2`` of C0, C1, C2 (bands, pixels); the ``QA_*`` flags of
    :mod:`agrifactory.fusion.params`.
    """
    nb = fine.shape[1]
    for b in range(nb):
        if valid[p] == 0:
            out_pred[b, p] = np.nan
            out_qa[b, p] = QA_INVALID
            continue
        d1 = m0[b, p] - m1[b, p]
        d2 = m0[b, p] - m2[b, p]
        f1 = fine[0, b, p]
        f2 = fine[1, b, p]
        if n[p] > min_cand:
            a1 = 1.0 / (abs(d1) + 1e-10)
            a2 = 1.0 / (abs(d2) + 1e-10)
            t1 = a1 / (a1 + a2)
            t2 = a2 / (a1 + a2)
            v = par[0, b, p]
            g0 = par[5, b, p]
            pred = t1 * (f1 + v * (g0 - par[1, b, p])) + t2 * (f2 + v * (g0 - par[2, b, p]))
            flag = QA_WEIGHTED
            if pred <= lo or pred >= hi:
                pred = t1 * par[3, b, p] + t2 * par[4, b, p]
                flag = QA_OUT_OF_RANGE
        else:
            s1 = d1 + 1e-10
            s2 = d2 + 1e-10
            u1 = 1.0 / abs(s1)
            u2 = 1.0 / abs(s2)
            pred = (u1 / (u1 + u2)) * (f1 + s1) + (u2 / (u1 + u2)) * (f2 + s2)
            flag = QA_TEMPORAL
        if pred - pred != 0.0:  # NaN or infinite
            out_pred[b, p] = np.nan
            out_qa[b, p] = QA_INVALID
        else:
            out_pred[b, p] = pred
            out_qa[b, p] = flag


_pixel = njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)(pixel_core)
_scratch_size = njit(cache=True)(scratch_size)
_table_size = njit(cache=True)(table_size)
_cells = njit(cache=True, nogil=True)(cells_core)
_combine = njit(cache=True, nogil=True, error_model="numpy")(combine_core)


@njit(cache=True, parallel=True, error_model="numpy")
def scan_rows(
    ra, rb, rlo, rhi, clo, chi, fv, th, fv32, th32, qu, qw, valid, corr, dist, w,
    min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts, cell_count,
    out_n, out_par,
):  # fmt: skip
    """Run :func:`pixel_core` on every valid pixel of rows ``[ra, rb)``.

    Cell buffers hold one slot per pixel of those rows (``(r - ra) * cols + c``).
    """
    cols = valid.shape[1]
    size = _scratch_size(fv.shape[0] // 2)
    for r in prange(ra, rb):
        scratch = np.empty(size)
        mask = np.empty(2 * w + 1, dtype=np.int32)
        htab = np.empty(_table_size(cell_ids.shape[1]), dtype=np.int32)
        for c in range(cols):
            if valid[r, c] != 0:
                _pixel(
                    r, c, rlo[r], rhi[r], clo[c], chi[c], fv, th, fv32, th32, qu, qw, valid, corr,
                    dist, w, min_change, max_conv, min_cand, fcrit, labels, use_cells,
                    cell_ids, cell_wts, cell_count, (r - ra) * cols + c, scratch, mask, htab,
                    out_n, out_par,
                )  # fmt: skip


@njit(cache=True, parallel=True, error_model="numpy")
def scan_pixels(
    pix_r, pix_c, rlo, rhi, clo, chi, fv, th, fv32, th32, qu, qw, valid, corr, dist, w,
    min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts, cell_count,
    out_n, out_par,
):  # fmt: skip
    """Run :func:`pixel_core` on the listed pixels (cell slot = position in the list)."""
    size = _scratch_size(fv.shape[0] // 2)
    for q in prange(pix_r.size):
        scratch = np.empty(size)
        mask = np.empty(2 * w + 1, dtype=np.int32)
        htab = np.empty(_table_size(cell_ids.shape[1]), dtype=np.int32)
        r = pix_r[q]
        c = pix_c[q]
        _pixel(
            r, c, rlo[r], rhi[r], clo[c], chi[c], fv, th, fv32, th32, qu, qw, valid, corr, dist, w,
            min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts,
            cell_count, q, scratch, mask, htab, out_n, out_par,
        )  # fmt: skip


@njit(cache=True, parallel=True)
def cell_sums(pixels, indptr, ids, wts, rep, out):
    """:func:`cells_core` for every listed flat pixel index."""
    for q in prange(pixels.size):
        _cells(pixels[q], indptr, ids, wts, rep, out)


@njit(cache=True, error_model="numpy")
def scan_rows_serial(
    ra, rb, rlo, rhi, clo, chi, fv, th, fv32, th32, qu, qw, valid, corr, dist, w,
    min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts, cell_count,
    out_n, out_par,
):  # fmt: skip
    """One-thread twin of :func:`scan_rows` (the parallel loop costs a quarter more on one thread).

    Cell buffers hold one slot per pixel of those rows (``(r - ra) * cols + c``).
    """
    cols = valid.shape[1]
    size = _scratch_size(fv.shape[0] // 2)
    for r in range(ra, rb):
        scratch = np.empty(size)
        mask = np.empty(2 * w + 1, dtype=np.int32)
        htab = np.empty(_table_size(cell_ids.shape[1]), dtype=np.int32)
        for c in range(cols):
            if valid[r, c] != 0:
                _pixel(
                    r, c, rlo[r], rhi[r], clo[c], chi[c], fv, th, fv32, th32, qu, qw, valid, corr,
                    dist, w, min_change, max_conv, min_cand, fcrit, labels, use_cells,
                    cell_ids, cell_wts, cell_count, (r - ra) * cols + c, scratch, mask, htab,
                    out_n, out_par,
                )  # fmt: skip


@njit(cache=True, error_model="numpy")
def scan_pixels_serial(
    pix_r, pix_c, rlo, rhi, clo, chi, fv, th, fv32, th32, qu, qw, valid, corr, dist, w,
    min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts, cell_count,
    out_n, out_par,
):  # fmt: skip
    """One-thread twin of :func:`scan_pixels`."""
    size = _scratch_size(fv.shape[0] // 2)
    for q in range(pix_r.size):
        scratch = np.empty(size)
        mask = np.empty(2 * w + 1, dtype=np.int32)
        htab = np.empty(_table_size(cell_ids.shape[1]), dtype=np.int32)
        r = pix_r[q]
        c = pix_c[q]
        _pixel(
            r, c, rlo[r], rhi[r], clo[c], chi[c], fv, th, fv32, th32, qu, qw, valid, corr, dist, w,
            min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts,
            cell_count, q, scratch, mask, htab, out_n, out_par,
        )  # fmt: skip


@njit(cache=True)
def cell_sums_serial(pixels, indptr, ids, wts, rep, out):
    """One-thread twin of :func:`cell_sums`."""
    for q in range(pixels.size):
        _cells(pixels[q], indptr, ids, wts, rep, out)


@njit(cache=True, parallel=True, error_model="numpy")
def combine(fine, n, par, m0, m1, m2, valid, lo, hi, min_cand, out_pred, out_qa):
    """:func:`combine_core` for every flat pixel."""
    for p in prange(valid.size):
        _combine(p, fine, n, par, m0, m1, m2, valid, lo, hi, min_cand, out_pred, out_qa)


@njit(cache=True, error_model="numpy")
def combine_serial(fine, n, par, m0, m1, m2, valid, lo, hi, min_cand, out_pred, out_qa):
    """One-thread twin of :func:`combine`."""
    for p in range(valid.size):
        _combine(p, fine, n, par, m0, m1, m2, valid, lo, hi, min_cand, out_pred, out_qa)
