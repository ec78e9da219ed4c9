"""The per-pixel arithmetic of ESTARFM, one source for the CPU and the GPU.

The functions ending in ``_core`` use only scalars, array indexing and slicing, so
the same Python source is compiled twice: by ``numba.njit`` for the CPU (wrapped in
the loops below) and by ``numba.cuda.jit(device=True)`` for the GPU (wrapped in
:mod:`agrifactory.fusion.gpu`). Both back ends therefore do the same arithmetic in the
same order, in float64. :func:`pixel_core` runs ESTARFM's steps as functions of their
own (:func:`pretest_row`, :func:`weigh_row`, :func:`add_row_sums`,
:func:`conversion_coefficient`, ...), which numba inlines into it for either target.

Arrays the kernels take (P = 2 * bands):

* ``fv``: (P, rows, cols) the fine values ``[F1 bands, F2 bands]``.
* ``th``: (P, rows, cols) the similarity threshold of each plane at each centre.
* ``fv32``: (P, rows, cols + PAD) float32 copy of ``fv``, NaN in the PAD columns.
* ``th32``: (2, P, rows, cols) float32 thresholds of the pre-test: ``[0]`` narrowed
  (a pixel below it in every plane is surely similar), ``[1]`` widened (a pixel at or
  above it in any plane surely is not); see
  :func:`agrifactory.fusion.estarfm.float32_thresholds`.
* ``rec``: (rows, cols, K) one record per pixel: ``R`` (the spectral correlation), then
  per band ``C1, C2, F1, F2, C0`` (``C0`` NaN without a target); K is rounded up to a
  multiple of 8 (:func:`record_size`), so a record fills whole cache lines.
* ``valid``: (rows, cols + PAD) uint8, pixels usable as similar pixels (0 in PAD).
* ``dist``: (2w+1, 2w+1) ``D = 1 + sqrt(dx^2 + dy^2) / w``.
* ``rlo, rhi, clo, chi``: the clipped window of each row and column.
* ``out_par``: (6, bands, rows, cols) per band ``V``, ``sum W*C1``, ``sum W*C2``,
  ``sum W*F1``, ``sum W*F2`` and ``sum W*C0`` (NaN without a target); all NaN
  where there are too few similar pixels.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit, prange
from numba.extending import overload

from agrifactory.fusion.params import QA_INVALID, QA_OUT_OF_RANGE, QA_TEMPORAL, QA_WEIGHTED

#: Parameters per band written to ``out_par``.
N_PAR = 6
PAR_V, PAR_WC1, PAR_WC2, PAR_WF1, PAR_WF2, PAR_WC0 = range(N_PAR)
#: Values per band in a pixel record (after ``R``): C1, C2, F1, F2, C0.
REC_BAND = 5
#: Sums per band over the similar pixels: C1, C2, F1 + F2, C1^2 + C2^2, C1 F1 + C2 F2,
#: F1^2 + F2^2 (for V) and W C1, W C2, W F1, W F2, W C0 (for the prediction).
N_SUMS = 11
#: Columns of padding after each row of ``fv32`` and ``valid``: the pre-test reads
#: whole multiples of PAD columns so that its loops need no scalar remainder.
PAD = 16
#: Centre columns per strip of the CPU scan (windows of neighbouring centres overlap,
#: so a narrow strip keeps their records in the core's cache while it moves down).
STRIP = 32


def record_size(nb: int) -> int:
    """Length of a pixel record: ``R`` and five values per band, rounded up to 8."""
    return (1 + REC_BAND * nb + 7) // 8 * 8


def mask_size(w: int) -> int:
    """Length of the int32 row mask: ``2 w + 1`` rounded up to a multiple of PAD."""
    return (2 * w + 1 + PAD - 1) // PAD * PAD


def scratch_size(nb: int, w: int) -> int:
    """Length of the float64 scratch vector one pixel needs."""
    return 2 * (2 * nb) + N_SUMS * nb + (2 * w + 1 + PAD - 1) // PAD * PAD


def table_size(capacity: int) -> int:
    """Size of the cell lookup table: a power of two >= 2 * capacity."""
    size = 1
    while size < 2 * capacity:
        size *= 2
    return size


def _step(func: Any) -> Any:
    """Mark ``func`` a step of :func:`pixel_core`: a plain Python function (what the CUDA
    simulator runs) that numba compiles with its caller. ``njit`` inlines it (numba IR),
    so a step costs no call on the CPU; ``cuda.jit`` compiles it as a device function,
    which NVVM inlines (inlining the IR there too doubles the kernels' compile time)."""
    overload(func, target="cpu", inline="always", strict=False)(lambda *args: func)
    overload(func, target="cuda", strict=False)(lambda *args: func)
    return func


@_step
def load_centre(r, c, fv, th, scratch):
    """Put the centre's values and thresholds at the start of ``scratch``; zero the sums."""
    nplanes = fv.shape[0]
    for p in range(nplanes):
        scratch[p] = fv[p, r, c]
        scratch[nplanes + p] = th[p, r, c]
    for k in range(N_SUMS * (nplanes // 2)):
        scratch[2 * nplanes + k] = 0.0


@_step
def pretest_row(i, r, c, q0, wpad, fv32, th32, valid, mask):
    """float32 pre-test of window row ``i``: ``mask[jj]`` 0 (not similar), 1 (maybe), 3 (surely).

    Branch-free over whole vectors: bit 0 = within the widened thresholds in every
    plane (maybe similar), bit 1 = within the narrowed ones (surely).
    """
    vrow = valid[i, q0 : q0 + wpad]
    for jj in range(wpad):
        mask[jj] = vrow[jj] * 3
    for p in range(fv32.shape[0]):
        cp = fv32[p, r, c]
        lo = th32[0, p, r, c]
        hi = th32[1, p, r, c]
        row = fv32[p, i, q0 : q0 + wpad]
        for jj in range(wpad):
            d = abs(row[jj] - cp)
            mask[jj] = mask[jj] & ((1 if d < hi else 0) | (2 if d < lo else 0))
    if i == r:
        mask[c - q0] = 3  # the centre is always a candidate


@_step
def compact_row(mask, width):
    """Move the codes ``jj << 1 | surely`` of the kept columns to the front of ``mask``.

    Without branches (a column that is not kept is overwritten by the next); returns
    the number kept.
    """
    count = 0
    for jj in range(width):
        m = mask[jj]
        mask[count] = (jj << 1) | (m >> 1)
        count += m & 1
    return count


@_step
def is_similar(i, j, fv, scratch):
    """float64 test of pixel ``(i, j)``: within the centre's threshold in every plane."""
    nplanes = fv.shape[0]
    for p in range(nplanes):
        if not abs(fv[p, i, j] - scratch[p]) < scratch[nplanes + p]:
            return False
    return True


@_step
def weigh_row(
    i, r, c, q0, count, w, fv, rec, dist, scratch, o_w, mask, sw,
    use_cells, labels, slot, cell_ids, cell_wts, htab, run,
):  # fmt: skip
    """Confirm the row's uncertain columns in float64 and weigh its similar pixels.

    Their columns go to the front of ``mask`` and their weights W to ``scratch[o_w:]``;
    returns their number, ``sw`` with their weights added one by one and the cell run
    after them (with ``use_cells``, see :func:`add_to_cell`).
    """
    di = i - r + w
    dc = q0 - c + w
    kept = 0
    for t in range(count):
        code = mask[t]
        jj = code >> 1
        j = q0 + jj
        if (code & 1) == 0 and not is_similar(i, j, fv, scratch):
            continue
        wgt = 1.0 / ((1.0 - rec[i, j, 0]) * dist[di, jj + dc] + 1e-7)
        sw += wgt
        mask[kept] = j
        scratch[o_w + kept] = wgt
        kept += 1
        if use_cells and not run[4]:
            run = add_to_cell(labels[i, j], wgt, slot, cell_ids, cell_wts, htab, run)
    return kept, sw, run


@_step
def find_cell(lab, slot, ncell, cell_ids, cell_wts, htab):
    """Position of cell ``lab`` in the window's list, added when new (-1: the list is full).

    ``htab`` is an open-addressing table: label -> position in the list + 1. Returns
    the position and the number of cells.
    """
    hmask = htab.shape[0] - 1
    h = lab & hmask
    while htab[h] != 0:
        if cell_ids[slot, htab[h] - 1] == lab:
            return htab[h] - 1, ncell
        h = (h + 1) & hmask
    if ncell < cell_ids.shape[1]:
        cell_ids[slot, ncell] = lab
        cell_wts[slot, ncell] = 0.0
        htab[h] = ncell + 1
        return ncell, ncell + 1
    return -1, ncell


@_step
def add_to_cell(lab, wgt, slot, cell_ids, cell_wts, htab, run):
    """Add the weight ``wgt`` of a similar pixel in cell ``lab`` to the cell's total.

    Similar pixels come in runs of one cell along a row: W adds up in the run's total,
    stored when the cell changes. ``run`` (label, position, W total, number of cells,
    overflow) is returned updated.
    """
    run_lab, run_k, run_w, ncell, overflow = run
    if lab == run_lab:
        return run_lab, run_k, run_w + wgt, ncell, overflow
    if run_k >= 0:
        cell_wts[slot, run_k] += run_w
    run_k, ncell = find_cell(lab, slot, ncell, cell_ids, cell_wts, htab)
    return lab, run_k, wgt, ncell, run_k < 0


@_step
def add_row_sums(i, kept, nb, mask, rec, scratch, o_sum, o_w):
    """Add the row's similar pixels to each band's 11 sums (in registers, then stored)."""
    for b in range(nb):
        u = o_sum + N_SUMS * b
        s_c1 = scratch[u]
        s_c2 = scratch[u + 1]
        s_f = scratch[u + 2]
        s_cc = scratch[u + 3]
        s_cf = scratch[u + 4]
        s_ff = scratch[u + 5]
        w_c1 = scratch[u + 6]
        w_c2 = scratch[u + 7]
        w_f1 = scratch[u + 8]
        w_f2 = scratch[u + 9]
        w_c0 = scratch[u + 10]
        o = 1 + REC_BAND * b
        for t in range(kept):
            j = mask[t]
            wgt = scratch[o_w + t]
            c1 = rec[i, j, o]
            c2 = rec[i, j, o + 1]
            f1 = rec[i, j, o + 2]
            f2 = rec[i, j, o + 3]
            s_c1 += c1
            s_c2 += c2
            s_f += f1 + f2
            s_cc += c1 * c1 + c2 * c2
            s_cf += c1 * f1 + c2 * f2
            s_ff += f1 * f1 + f2 * f2
            w_c1 += wgt * c1
            w_c2 += wgt * c2
            w_f1 += wgt * f1
            w_f2 += wgt * f2
            w_c0 += wgt * rec[i, j, o + 4]
        scratch[u] = s_c1
        scratch[u + 1] = s_c2
        scratch[u + 2] = s_f
        scratch[u + 3] = s_cc
        scratch[u + 4] = s_cf
        scratch[u + 5] = s_ff
        scratch[u + 6] = w_c1
        scratch[u + 7] = w_c2
        scratch[u + 8] = w_f1
        scratch[u + 9] = w_f2
        scratch[u + 10] = w_c0


@_step
def conversion_coefficient(scratch, u, n, min_change, max_conv, fcrit):
    """V of one band from its sums at ``scratch[u:]`` over ``n`` similar pixels (step 4).

    The slope of fine on coarse over both dates, kept when the coarse mean changed by
    at least ``min_change``, the fit passes the F-test and ``0 < slope <= max_conv``;
    else 1.
    """
    s_c1 = scratch[u]
    s_c2 = scratch[u + 1]
    if not abs(s_c1 / n - s_c2 / n) >= min_change:
        return 1.0
    npts = 2.0 * n
    sx = s_c1 + s_c2
    sy = scratch[u + 2]
    sxx = scratch[u + 3] - sx * sx / npts
    sxy = scratch[u + 4] - sx * sy / npts
    syy = scratch[u + 5] - sy * sy / npts
    if not sxx > 0.0:
        return 1.0
    slope = sxy / sxx
    ssr = sxy * sxy / sxx
    sse = syy - ssr
    dof = 2 * n - 2
    if sse > 0.0:
        significant = ssr / (sse / dof) >= fcrit[dof]
    else:
        significant = ssr > 0.0
    if significant and slope > 0.0 and slope <= max_conv:
        return slope
    return 1.0


@_step
def write_parameters(r, c, n, sw, nb, o_sum, scratch, min_change, max_conv, fcrit, out_par):
    """Each band's V and W-weighted sums (divided by the sum of W ``sw``) at ``(r, c)``."""
    for b in range(nb):
        u = o_sum + N_SUMS * b
        out_par[PAR_V, b, r, c] = conversion_coefficient(scratch, u, n, min_change, max_conv, fcrit)
        out_par[PAR_WC1, b, r, c] = scratch[u + 6] / sw
        out_par[PAR_WC2, b, r, c] = scratch[u + 7] / sw
        out_par[PAR_WF1, b, r, c] = scratch[u + 8] / sw
        out_par[PAR_WF2, b, r, c] = scratch[u + 9] / sw
        out_par[PAR_WC0, b, r, c] = scratch[u + 10] / sw


@_step
def write_no_parameters(r, c, out_par):
    """NaN parameters at ``(r, c)``: too few similar pixels."""
    for b in range(out_par.shape[1]):
        for k in range(N_PAR):
            out_par[k, b, r, c] = np.nan


@_step
def finish_cells(slot, sw, run, cell_wts, cell_count):
    """Store the last run's W, divide the cells' W by ``sw`` and store their number.

    The number is -1 after an overflow (the window's cells did not fit the buffer).
    """
    run_k, run_w, ncell, overflow = run[1], run[2], run[3], run[4]
    if overflow:
        cell_count[slot] = -1
        return
    if run_k >= 0:
        cell_wts[slot, run_k] += run_w
    for k in range(ncell):
        cell_wts[slot, k] = cell_wts[slot, k] / sw
    cell_count[slot] = ncell


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
    rec,
    valid,
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
    to ``cell_count[slot]``). ``scratch`` has :func:`scratch_size` float64 slots,
    ``mask`` (int32) :func:`mask_size` and ``htab`` (int32) a power of two at least
    twice ``cell_ids.shape[1]`` (a lookup table of the cells).

    Per window row: a float32 pre-test of every plane over whole vectors gives each
    column 0 (not similar), 1 (maybe: confirmed in float64) or 3 (surely similar);
    the kept columns are compacted, their weights computed once, and then each band
    sums its 11 quantities over them in registers. Every sum runs over the similar
    pixels in row-major order, whatever the loop nesting, so the result does not
    depend on it.
    """
    nplanes = fv.shape[0]
    nb = nplanes // 2
    # scratch: centre values | thresholds | sums (11 per band) | weights of a row
    o_sum = 2 * nplanes
    o_w = o_sum + N_SUMS * nb
    load_centre(r, c, fv, th, scratch)
    if use_cells:
        for k in range(htab.shape[0]):
            htab[k] = 0
    n = 0
    sw = 0.0
    run = (-1, -1, 0.0, 0, False)  # the cell run: label, position, W, cells, overflow
    width = q1 - q0
    wpad = (width + PAD - 1) // PAD * PAD
    for i in range(r0, r1):
        pretest_row(i, r, c, q0, wpad, fv32, th32, valid, mask)
        count = compact_row(mask, width)
        kept, sw, run = weigh_row(
            i, r, c, q0, count, w, fv, rec, dist, scratch, o_w, mask, sw,
            use_cells, labels, slot, cell_ids, cell_wts, htab, run,
        )  # fmt: skip
        n += kept
        add_row_sums(i, kept, nb, mask, rec, scratch, o_sum, o_w)
    out_n[r, c] = n
    if n <= min_cand:
        write_no_parameters(r, c, out_par)
        if use_cells:
            cell_count[slot] = 0
        return
    write_parameters(r, c, n, sw, nb, o_sum, scratch, min_change, max_conv, fcrit, out_par)
    if use_cells:
        finish_cells(slot, sw, run, cell_wts, cell_count)


def cells_core(p, indptr, ids, wts, rep, bad, any_bad, out, touched):
    """``sum W * C0`` of flat pixel ``p`` from its per-cell weights and the cells' C0 values.

    With ``any_bad``, ``touched[p]`` says whether one of the pixel's cells is flagged
    in ``bad`` (uint8 per cell); otherwise it is 0.
    """
    nb = rep.shape[0]
    hit = 0
    if any_bad:
        for k in range(indptr[p], indptr[p + 1]):
            hit |= bad[ids[k]]
    touched[p] = hit
    for b in range(nb):
        s = 0.0
        for k in range(indptr[p], indptr[p + 1]):
            s += wts[k] * rep[b, ids[k]]
        out[b, p] = s


def combine_core(p, fine, n, par, g0, m0, m1, m2, valid, lo, hi, min_cand, out_pred, out_qa):
    """The prediction and QA flag of flat pixel ``p`` in every band (steps 4 and 5).

    ``fine`` is (2, bands, pixels), ``par`` (6, bands, pixels) whose ``sum W*C0`` is
    taken from ``g0`` (bands, pixels) instead, the window means
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
            w0 = g0[b, p]
            pred = t1 * (f1 + v * (w0 - par[1, b, p])) + t2 * (f2 + v * (w0 - par[2, b, p]))
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
_mask_size = njit(cache=True)(mask_size)
_table_size = njit(cache=True)(table_size)
_cells = njit(cache=True, nogil=True)(cells_core)
_combine = njit(cache=True, nogil=True, error_model="numpy")(combine_core)


@njit(cache=True, nogil=True, error_model="numpy")
def _scan_strip(
    ra, rb, ca, cb, rlo, rhi, clo, chi, fv, th, fv32, th32, rec, valid, dist, w, min_change,
    max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts, cell_count, out_n, out_par,
):  # fmt: skip
    """:func:`pixel_core` on the valid pixels of rows ``[ra, rb)`` x columns ``[ca, cb)``,
    row by row (cell slot ``(r - ra) * cols + c``)."""
    cols = out_n.shape[1]
    scratch = np.empty(_scratch_size(fv.shape[0] // 2, w))
    mask = np.empty(_mask_size(w), dtype=np.int32)
    htab = np.empty(_table_size(cell_ids.shape[1]), dtype=np.int32)
    for r in range(ra, rb):
        for c in range(ca, cb):
            if valid[r, c] != 0:
                _pixel(
                    r, c, rlo[r], rhi[r], clo[c], chi[c], fv, th, fv32, th32, rec, valid, dist,
                    w, min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids,
                    cell_wts, cell_count, (r - ra) * cols + c, scratch, mask, htab, out_n,
                    out_par,
                )  # fmt: skip


@njit(cache=True, parallel=True, error_model="numpy")
def scan_rows(
    ra, rb, rlo, rhi, clo, chi, fv, th, fv32, th32, rec, valid, dist, w, min_change, max_conv,
    min_cand, fcrit, labels, use_cells, cell_ids, cell_wts, cell_count, out_n, out_par,
):  # fmt: skip
    """Run :func:`pixel_core` on every valid pixel of rows ``[ra, rb)``.

    The rows are cut into strips of :data:`STRIP` columns, one task per strip, each
    scanned row by row. Cell buffers hold one slot per pixel of those rows
    (``(r - ra) * cols + c``).
    """
    cols = out_n.shape[1]
    for s in prange((cols + STRIP - 1) // STRIP):
        ca = s * STRIP
        _scan_strip(
            ra, rb, ca, min(cols, ca + STRIP), rlo, rhi, clo, chi, fv, th, fv32, th32, rec,
            valid, dist, w, min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids,
            cell_wts, cell_count, out_n, out_par,
        )  # fmt: skip


@njit(cache=True, parallel=True, error_model="numpy")
def scan_pixels(
    pix_r, pix_c, rlo, rhi, clo, chi, fv, th, fv32, th32, rec, valid, dist, w, min_change,
    max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts, cell_count, out_n, out_par,
):  # fmt: skip
    """Run :func:`pixel_core` on the listed pixels (cell slot = position in the list)."""
    size = _scratch_size(fv.shape[0] // 2, w)
    for q in prange(pix_r.size):
        scratch = np.empty(size)
        mask = np.empty(_mask_size(w), dtype=np.int32)
        htab = np.empty(_table_size(cell_ids.shape[1]), dtype=np.int32)
        r = pix_r[q]
        c = pix_c[q]
        _pixel(
            r, c, rlo[r], rhi[r], clo[c], chi[c], fv, th, fv32, th32, rec, valid, dist, w,
            min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts,
            cell_count, q, scratch, mask, htab, out_n, out_par,
        )  # fmt: skip


@njit(cache=True, parallel=True)
def cell_sums(pixels, indptr, ids, wts, rep, bad, any_bad, out, touched):
    """:func:`cells_core` for every listed flat pixel index."""
    for q in prange(pixels.size):
        _cells(pixels[q], indptr, ids, wts, rep, bad, any_bad, out, touched)


@njit(cache=True, error_model="numpy")
def scan_rows_serial(
    ra, rb, rlo, rhi, clo, chi, fv, th, fv32, th32, rec, valid, dist, w, min_change, max_conv,
    min_cand, fcrit, labels, use_cells, cell_ids, cell_wts, cell_count, out_n, out_par,
):  # fmt: skip
    """One-thread twin of :func:`scan_rows` (the parallel loop costs more on one thread)."""
    cols = out_n.shape[1]
    for ca in range(0, cols, STRIP):
        _scan_strip(
            ra, rb, ca, min(cols, ca + STRIP), rlo, rhi, clo, chi, fv, th, fv32, th32, rec,
            valid, dist, w, min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids,
            cell_wts, cell_count, out_n, out_par,
        )  # fmt: skip


@njit(cache=True, error_model="numpy")
def scan_pixels_serial(
    pix_r, pix_c, rlo, rhi, clo, chi, fv, th, fv32, th32, rec, valid, dist, w, min_change,
    max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts, cell_count, out_n, out_par,
):  # fmt: skip
    """One-thread twin of :func:`scan_pixels`."""
    scratch = np.empty(_scratch_size(fv.shape[0] // 2, w))
    mask = np.empty(_mask_size(w), dtype=np.int32)
    htab = np.empty(_table_size(cell_ids.shape[1]), dtype=np.int32)
    for q in range(pix_r.size):
        r = pix_r[q]
        c = pix_c[q]
        _pixel(
            r, c, rlo[r], rhi[r], clo[c], chi[c], fv, th, fv32, th32, rec, valid, dist, w,
            min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts,
            cell_count, q, scratch, mask, htab, out_n, out_par,
        )  # fmt: skip


@njit(cache=True)
def cell_sums_serial(pixels, indptr, ids, wts, rep, bad, any_bad, out, touched):
    """One-thread twin of :func:`cell_sums`."""
    for q in range(pixels.size):
        _cells(pixels[q], indptr, ids, wts, rep, bad, any_bad, out, touched)


@njit(cache=True, parallel=True, error_model="numpy")
def combine(fine, n, par, g0, m0, m1, m2, valid, lo, hi, min_cand, out_pred, out_qa):
    """:func:`combine_core` for every flat pixel."""
    for p in prange(valid.size):
        _combine(p, fine, n, par, g0, m0, m1, m2, valid, lo, hi, min_cand, out_pred, out_qa)


@njit(cache=True, error_model="numpy")
def combine_serial(fine, n, par, g0, m0, m1, m2, valid, lo, hi, min_cand, out_pred, out_qa):
    """One-thread twin of :func:`combine`."""
    for p in range(valid.size):
        _combine(p, fine, n, par, g0, m0, m1, m2, valid, lo, hi, min_cand, out_pred, out_qa)


class KernelSet(NamedTuple):
    """The compiled kernels of one back end (same signatures on CPU and GPU)."""

    scan_rows: Any
    scan_pixels: Any
    cell_sums: Any
    combine: Any


#: The CPU kernels, parallel (numba ``prange``) and serial (one thread).
CPU_KERNELS = KernelSet(scan_rows, scan_pixels, cell_sums, combine)
CPU_KERNELS_SERIAL = KernelSet(
    scan_rows_serial, scan_pixels_serial, cell_sums_serial, combine_serial
)
