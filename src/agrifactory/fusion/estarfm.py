"""Fast ESTARFM: one algorithm, a compiled CPU kernel and a CUDA kernel, one API.

``fuse`` predicts one target date. ``prepare`` + ``predict`` split the work for
many target dates that share one set of base pairs: ``prepare`` finds the similar
pixels, their weights W and the conversion coefficients V once; ``predict`` then
needs only the target's coarse image, whose weighted sum over the similar pixels is
taken per coarse cell (see :func:`coarse_cell_labels`) when the coarse image is
blocky. Whatever the route, the result equals the per-pixel baseline
(:mod:`agrifactory.fusion.reference`) to rounding.

Conventions
-----------
Arrays are (bands, rows, cols) or (rows, cols) for one band, NumPy or CuPy (the
result is of the same kind; CuPy runs the CUDA kernels). A pixel is missing in an
image when any band is NaN or equals ``params.background``; a pixel missing in any
of the five images is never a similar pixel nor part of a window mean, and comes out
as NaN with QA flag ``QA_INVALID`` (see :mod:`agrifactory.fusion.params`). The similarity thresholds (a statistic of each fine
image) use the pixels valid in the four base images, so they do not depend on the
target date.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numba
import numpy as np

from agrifactory.backend import array_namespace
from agrifactory.errors import DataError, GridError
from agrifactory.fusion import kernels as cpu_kernels
from agrifactory.fusion.kernels import CPU_KERNELS, CPU_KERNELS_SERIAL, KernelSet
from agrifactory.fusion.params import EstarfmParams
from agrifactory.fusion.statistics import (
    as_bands,
    clip_bounds,
    distance_table,
    f_critical,
    similarity_thresholds,
    spectral_correlation,
    valid_mask,
    window_inverse_counts,
    window_means,
)

log = logging.getLogger(__name__)

INPUT_NAMES = ("fine1", "coarse1", "fine2", "coarse2", "coarse0")


def _kernel_set(xp: ModuleType) -> KernelSet:
    if xp is np:
        return CPU_KERNELS_SERIAL if numba.get_num_threads() == 1 else CPU_KERNELS
    from agrifactory.fusion.gpu import gpu_kernels

    return gpu_kernels()


@dataclass
class EstarfmModel:
    """What :func:`prepare` computes from two base pairs, reused for every target date.

    Attributes hold arrays of the input's kind (NumPy or CuPy): the base images
    ``fine``/``coarse`` (2, bands, rows, cols) float64; ``base_valid`` (rows, cols);
    thresholds ``th`` (2 * bands, rows, cols), their float32 bounds ``th32`` and the
    fine values in float32 ``fv32`` for the kernels' pre-test; the per-pixel records
    ``rec`` (the spectral correlation R and each band's values, see
    :mod:`agrifactory.fusion.kernels`); the number of similar pixels ``n``; per band V
    and the W-weighted sums ``par``; and, when coarse cells were given, the weights
    per cell as compressed rows (``indptr``, ``cell_ids``, ``cell_wts``) with
    ``overflow`` marking windows of too many cells.
    """

    params: EstarfmParams
    two_d: bool
    fine: Any
    coarse: Any
    base_valid: Any
    th: Any
    th32: Any
    fv32: Any
    rec: Any
    bounds: tuple[Any, Any, Any, Any]
    n: Any
    par: Any
    labels: Any | None = None
    cell_first: Any | None = None
    indptr: Any | None = None
    cell_ids: Any | None = None
    cell_wts: Any | None = None
    overflow: Any | None = None
    base_means: tuple[Any, Any, Any] | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """(bands, rows, cols) of the images."""
        return tuple(self.fine.shape[1:])  # type: ignore[return-value]


def float32_thresholds(fv: Any, th: Any, valid: Any) -> Any:
    """float32 bounds for the kernels' pre-test, (2, planes, rows, cols).

    With ``u = 2**-24`` and M a plane's largest valid magnitude, the float32
    difference ``|x - c|`` of two valid values is within ``5 u M`` of the float64 one
    the algorithm compares with ``th``. So a pixel with ``|x - c| < th`` in float64
    always passes the widened bound ``th + 8 u M + 2 u th`` (rounded up) in float32,
    and one that passes the narrowed bound ``th - 8 u M - 2 u th`` (rounded down) in
    float32 always has ``|x - c| < th`` in float64. Only pixels between the two
    bounds, hardly any, are confirmed in float64 by the kernels.
    """
    xp = array_namespace(fv, th, valid)
    u = 2.0**-24
    big = xp.stack([xp.max(xp.abs(xp.where(valid, p, 0.0))) for p in fv])[:, None, None]
    margin = 8 * u * big + 2 * u * xp.abs(th)
    hi = xp.nextafter((th + margin).astype(np.float32), xp.asarray(np.inf, dtype=np.float32))
    lo = xp.nextafter((th - margin).astype(np.float32), xp.asarray(-np.inf, dtype=np.float32))
    return xp.stack([lo, hi])


def _padded(xp: ModuleType, a: Any, fill: float, dtype: Any) -> Any:
    """``a`` with :data:`~agrifactory.fusion.kernels.PAD` columns of ``fill`` appended."""
    out = xp.full((*a.shape[:-1], a.shape[-1] + cpu_kernels.PAD), fill, dtype=dtype)
    out[..., : a.shape[-1]] = a
    return out


def _aligned_empty(xp: ModuleType, shape: tuple[int, ...]) -> Any:
    """An uninitialised float64 array whose data starts on a 64-byte boundary."""
    size = int(np.prod(shape))
    if xp is not np:
        return xp.empty(shape)  # device allocations are aligned already
    buf = np.empty(size + 8)
    start = (-buf.ctypes.data // 8) % 8
    return buf[start : start + size].reshape(shape)


def pixel_records(xp: ModuleType, corr: Any, fine: Any, coarse: Any) -> Any:
    """The kernels' per-pixel records (rows, cols, K): R, then per band C1, C2, F1, F2, C0.

    ``fine`` and ``coarse`` are (2, bands, rows, cols); C0 stays NaN until a target
    is written in with :func:`_put_target`.
    """
    nb, rows, cols = fine.shape[1:]
    rec = _aligned_empty(xp, (rows, cols, cpu_kernels.record_size(nb)))
    rec[...] = np.nan
    rec[..., 0] = corr
    for b in range(nb):
        o = 1 + cpu_kernels.REC_BAND * b
        rec[..., o] = coarse[0, b]
        rec[..., o + 1] = coarse[1, b]
        rec[..., o + 2] = fine[0, b]
        rec[..., o + 3] = fine[1, b]
    return rec


def _put_target(rec: Any, coarse0: Any) -> Any:
    """Write the target's coarse values (bands, rows, cols) into the records' C0 slots."""
    for b in range(coarse0.shape[0]):
        rec[..., 1 + cpu_kernels.REC_BAND * b + 4] = coarse0[b]
    return rec


def _check_inputs(arrays: list[Any], names: tuple[str, ...]) -> tuple[ModuleType, list[Any], bool]:
    xp = array_namespace(*arrays)
    two_d = arrays[0].ndim == 2
    out = []
    for a, name in zip(arrays, names, strict=True):
        if a.ndim not in (2, 3):
            raise GridError(
                f"{name}: expected a (rows, cols) or (bands, rows, cols) array, got shape {a.shape}"
            )
        out.append(as_bands(xp.asarray(a, dtype=np.float64)))
    shape = out[0].shape
    for a, name in zip(out[1:], names[1:], strict=True):
        if a.shape != shape:
            raise GridError(
                f"{name} has shape (bands, rows, cols) {a.shape} but {names[0]} has {shape}; "
                "all images must be on one grid with the same bands (resample the coarse "
                "images onto the fine grid first)"
            )
    return xp, out, two_d


def _dummies(xp: ModuleType, nb: int) -> dict[str, Any]:
    return {
        "labels": xp.zeros((1, 1), dtype=np.int32),
        "cell_ids": xp.zeros((1, 1), dtype=np.int32),
        "cell_wts": xp.zeros((1, 1)),
        "cell_count": xp.zeros(1, dtype=np.int32),
    }


def _kernel_constants(xp: ModuleType, params: EstarfmParams) -> tuple[Any, Any]:
    w = params.half_window
    dist = xp.asarray(distance_table(w))
    fcrit = xp.asarray(f_critical(2 * (2 * w + 1) ** 2, params.significance))
    return dist, fcrit


def _setup(fine1, coarse1, fine2, coarse2, params, names) -> tuple[ModuleType, EstarfmModel]:
    """Check the base pairs and compute what the kernels read from them."""
    xp, (f1, c1, f2, c2), two_d = _check_inputs([fine1, coarse1, fine2, coarse2], names)
    nb, rows, cols = f1.shape
    base_valid = valid_mask([f1, c1, f2, c2], params.background)
    if not bool(base_valid.any()):
        raise DataError(
            f"no pixel is valid in all four base images ({', '.join(names)}): every pixel "
            f"is NaN or background ({params.background}) in at least one of them; "
            "choose other base pairs"
        )
    th = xp.concatenate(
        [
            similarity_thresholds(f1, base_valid, params),
            similarity_thresholds(f2, base_valid, params),
        ]
    )
    fine = xp.stack([f1, f2])
    coarse = xp.stack([c1, c2])
    fv = fine.reshape(2 * nb, rows, cols)
    rlo, rhi = clip_bounds(rows, params.half_window, params)
    clo, chi = clip_bounds(cols, params.half_window, params)
    model = EstarfmModel(
        params=params,
        two_d=two_d,
        fine=fine,
        coarse=coarse,
        base_valid=base_valid,
        th=th,
        th32=float32_thresholds(fv, th, base_valid),
        fv32=_padded(xp, fv, np.nan, np.float32),
        rec=pixel_records(xp, spectral_correlation(f1, c1, f2, c2), fine, coarse),
        bounds=tuple(xp.asarray(b) for b in (rlo, rhi, clo, chi)),  # type: ignore[arg-type]
        n=xp.zeros((rows, cols), dtype=np.int32),
        par=xp.full((cpu_kernels.N_PAR, nb, rows, cols), xp.nan),
    )
    return xp, model


def _scan_args(
    model: EstarfmModel, xp: ModuleType, valid: Any, rec: Any | None = None
) -> tuple[Any, ...]:
    """The kernels' arguments from the window bounds to ``fcrit`` (records: the model's
    unless ``rec`` is given)."""
    p = model.params
    dist, fcrit = _kernel_constants(xp, p)
    nb, rows, cols = model.shape
    fv = model.fine.reshape(2 * nb, rows, cols)
    rec = model.rec if rec is None else rec
    valid8 = _padded(xp, valid, 0, np.uint8)
    return (
        *model.bounds, fv, model.th, model.fv32, model.th32, rec, valid8, dist,
        p.half_window, p.coarse_change_threshold, p.max_conversion, p.min_candidates, fcrit,
    )  # fmt: skip


def _strip_rows(xp: ModuleType, cols: int, capacity: int) -> int:
    budget = 2**21 if xp is np else 2**26  # cell-buffer entries per strip
    return max(1, budget // max(1, cols * capacity))


def _relabel(xp: ModuleType, labels: Any) -> tuple[Any, Any]:
    """Consecutive int32 labels and the flat index of one pixel of each label."""
    flat = labels.ravel()
    _, first, inverse = xp.unique(flat, return_index=True, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int32), first


def prepare(
    fine1: Any,
    coarse1: Any,
    fine2: Any,
    coarse2: Any,
    params: EstarfmParams | None = None,
    *,
    coarse_cells: Any | None = None,
    centres: Any | None = None,
) -> EstarfmModel:
    """Similar pixels, weights W and conversion coefficients V of one set of base pairs.

    Parameters
    ----------
    fine1, coarse1, fine2, coarse2
        The base pairs on the fine grid, (bands, rows, cols) or (rows, cols).
    params
        Settings (default :class:`EstarfmParams()`).
    coarse_cells
        Optional (rows, cols) integer labels of the coarse cells, e.g. from
        :func:`coarse_cell_labels`: pixels with one label share one coarse value at
        every target date. With them, :func:`predict` sums the weights per cell,
        which makes a target date cost a few dozen operations per pixel. Labels
        that turn out wrong for a date are detected and those pixels are computed
        exactly, so labels never change a result, only its speed.
    centres
        Optional (rows, cols) bool: scan only these pixels' windows (their windows
        still see every valid pixel). :func:`predict` then gives :func:`fuse`'s
        values at these pixels; elsewhere its values are meaningless (no similar
        pixels were counted there), so callers keep only the centres.

    Returns
    -------
    EstarfmModel
        Arrays of the input's kind.
    """
    params = params or EstarfmParams()
    xp, model = _setup(fine1, coarse1, fine2, coarse2, params, INPUT_NAMES[:4])
    ks = _kernel_set(xp)
    nb, rows, cols = model.shape
    d = _dummies(xp, nb)
    args = _scan_args(model, xp, model.base_valid)
    pixels = None
    if centres is not None:
        listed = model.base_valid & xp.asarray(centres, dtype=bool)
        pixels = tuple(xp.ascontiguousarray(a) for a in xp.nonzero(listed))
    if coarse_cells is None:
        tail = (d["labels"], False, d["cell_ids"], d["cell_wts"], d["cell_count"], model.n,
                model.par)  # fmt: skip
        if pixels is None:
            ks.scan_rows(0, rows, *args, *tail)
        elif pixels[0].size:
            ks.scan_pixels(*pixels, *args, *tail)
        return model

    cells = xp.asarray(coarse_cells)
    if cells.shape != (rows, cols):
        raise GridError(
            f"coarse_cells has shape {cells.shape}, expected (rows, cols) = {(rows, cols)}"
        )
    labels, first = _relabel(xp, cells)
    cap = params.cell_capacity
    if pixels is None:
        raw_count, ids, wts = _scan_cells(ks, xp, model, args, labels, cap)
    else:
        raw_count, ids, wts = _scan_cell_pixels(ks, xp, model, args, labels, cap, pixels)
    count = xp.maximum(raw_count, 0)
    overflow = raw_count < 0
    model.labels = labels
    model.cell_first = first
    model.indptr = xp.concatenate([xp.zeros(1, dtype=np.int64), xp.cumsum(count, dtype=np.int64)])
    model.cell_ids = ids
    model.cell_wts = wts
    model.overflow = overflow.reshape(rows, cols) & model.base_valid
    log.info(
        "prepared %d x %d pixels: %.1f similar pixels and %.1f coarse cells per window on average",
        rows, cols, float(model.n[model.base_valid].mean()), float(count.sum()) / max(1, rows * cols),
    )  # fmt: skip
    if bool(model.overflow.any()):
        log.info(
            "%d windows hold more than %d coarse cells; they are predicted by the exact path",
            int(model.overflow.sum()), cap,
        )  # fmt: skip
    return model


def _scan_cells(
    ks: KernelSet, xp: Any, model: EstarfmModel, args: tuple[Any, ...], labels: Any, cap: int
) -> tuple[Any, Any, Any]:
    """Scan strip after strip with coarse cells: each pixel's raw cell count (< 0: more
    than ``cap``), and the cell ids and float32 weights of all pixels, row after row."""
    _, rows, cols = model.shape
    step = _strip_rows(xp, cols, cap)
    raw, ids, wts = [], [], []
    # Buffers are reused strip after strip; entries past a pixel's count are never read.
    buf_ids = xp.empty((step * cols, cap), dtype=np.int32)
    buf_wts = xp.empty((step * cols, cap), dtype=np.float64)
    for ra in range(0, rows, step):
        rb = min(rows, ra + step)
        npx = (rb - ra) * cols
        buf_cnt = xp.zeros(npx, dtype=np.int32)
        ks.scan_rows(ra, rb, *args, labels, True, buf_ids, buf_wts, buf_cnt, model.n,
                     model.par)  # fmt: skip
        # Gather each pixel's first count entries (flat positions), row after row.
        raw.append(buf_cnt)
        i, w = _gather(xp, buf_cnt, buf_ids, buf_wts)
        ids.append(i)
        wts.append(w)
        log.debug("prepared rows %d-%d of %d", ra, rb, rows)
    del buf_ids, buf_wts
    return xp.concatenate(raw), xp.concatenate(ids), xp.concatenate(wts)


def _gather(xp: ModuleType, raw: Any, buf_ids: Any, buf_wts: Any) -> tuple[Any, Any]:
    """Each slot's first ``raw`` (< 0: none) cell ids and float32 weights, slot after slot."""
    cap = buf_ids.shape[1]
    count = xp.maximum(raw, 0).astype(np.int64)
    starts = xp.cumsum(count) - count
    at = xp.repeat(xp.arange(raw.size, dtype=np.int64) * cap - starts, count)
    at += xp.arange(at.size, dtype=np.int64)
    return buf_ids.reshape(-1)[at], buf_wts.reshape(-1)[at].astype(np.float32)


def _scan_cell_pixels(
    ks: KernelSet,
    xp: Any,
    model: EstarfmModel,
    args: tuple[Any, ...],
    labels: Any,
    cap: int,
    pixels: tuple[Any, Any],
) -> tuple[Any, Any, Any]:
    """:func:`_scan_cells` for the listed pixels only (row-major); the others get no cells."""
    _, rows, cols = model.shape
    step = _strip_rows(xp, 1, cap)
    raw = xp.zeros(rows * cols, dtype=np.int32)
    ids, wts = [], []
    buf_ids = xp.empty((min(step, pixels[0].size), cap), dtype=np.int32)
    buf_wts = xp.empty(buf_ids.shape, dtype=np.float64)
    for a in range(0, pixels[0].size, step):
        pr, pc = (xp.ascontiguousarray(p[a : a + step]) for p in pixels)
        buf_cnt = xp.zeros(pr.size, dtype=np.int32)
        ks.scan_pixels(pr, pc, *args, labels, True, buf_ids, buf_wts, buf_cnt, model.n,
                       model.par)  # fmt: skip
        raw[pr * cols + pc] = buf_cnt
        i, w = _gather(xp, buf_cnt, buf_ids, buf_wts)
        ids.append(i)
        wts.append(w)
    empty = (xp.zeros(0, dtype=np.int32), xp.zeros(0, dtype=np.float32))
    return raw, xp.concatenate(ids or [empty[0]]), xp.concatenate(wts or [empty[1]])


def _combine(
    xp: ModuleType,
    fine: Any,
    n: Any,
    par: Any,
    g0: Any,
    means: tuple[Any, Any, Any],
    valid: Any,
    params: EstarfmParams,
) -> tuple[Any, Any]:
    """The prediction and QA flags from the per-pixel sums (steps 4 and 5); ``g0`` is
    ``sum W * C0`` (bands, rows, cols)."""
    nb, rows, cols = fine.shape[1:]
    flat = lambda a: a.reshape(*a.shape[:-2], rows * cols)  # noqa: E731
    pred = xp.empty((nb, rows * cols), dtype=np.float32)
    qa = xp.empty((nb, rows * cols), dtype=np.uint8)
    lo, hi = params.valid_range
    _kernel_set(xp).combine(
        flat(fine), flat(n), flat(par), flat(g0), *(flat(m) for m in means),
        flat(valid.astype(np.uint8)), float(lo), float(hi), params.min_candidates, pred, qa,
    )  # fmt: skip
    return pred.reshape(nb, rows, cols), qa.reshape(nb, rows, cols)


def _finish(model: EstarfmModel, pred: Any, qa: Any) -> tuple[Any, Any]:
    if model.two_d:
        return pred[0], qa[0]
    return pred, qa


def _target(model: EstarfmModel, coarse0: Any, xp: ModuleType) -> Any:
    c0 = xp.asarray(coarse0, dtype=np.float64)
    if c0.ndim not in (2, 3) or as_bands(c0).shape != model.shape:
        raise GridError(
            f"coarse0 has shape {tuple(c0.shape)} but the base pairs have (bands, rows, cols) "
            f"{model.shape}; resample the target coarse image onto the same fine grid"
        )
    return as_bands(c0)


def predict(model: EstarfmModel, coarse0: Any) -> tuple[Any, Any]:
    """Predict the fine image at a target date from a prepared model.

    Parameters
    ----------
    model
        From :func:`prepare` (same array kind as ``coarse0``).
    coarse0
        The coarse image at the target date on the fine grid; NaN or background
        where missing.

    Returns
    -------
    prediction, qa
        float32 prediction (NaN where not predicted) and uint8 QA flags
        (``QA_*`` in :mod:`agrifactory.fusion.params`), shaped like the inputs.
    """
    xp = array_namespace(model.fine, coarse0)
    params = model.params
    c0 = _target(model, coarse0, xp)
    nb, rows, cols = model.shape
    c0_valid = valid_mask([c0], params.background)
    valid = model.base_valid & c0_valid
    if not bool(valid.any()):
        log.warning("coarse0 is missing at every valid pixel: nothing to predict")
    weighted = valid & (model.n > params.min_candidates)
    n, par = model.n, model.par
    g0 = xp.full((nb, rows, cols), xp.nan)  # sum W * C0 of the date
    ks = _kernel_set(xp)

    if model.labels is None:
        exact = weighted
    else:
        labels = model.labels.ravel()
        flat = c0.reshape(nb, -1)
        rep = flat[:, model.cell_first]  # one C0 value per cell and band
        same = (flat == rep[:, labels]) | (xp.isnan(flat) & xp.isnan(rep[:, labels]))
        bad = xp.zeros(rep.shape[1], dtype=bool)
        bad[labels[~same.all(axis=0)]] = True  # cells whose C0 is not one value
        bad |= ~valid_mask([rep[:, :, None]], params.background)[:, 0]  # missing cells
        # Sum W * C0 per cell; windows touching a bad cell are flagged for the exact path.
        touched = xp.zeros(rows * cols, dtype=np.uint8)
        listed = xp.nonzero((weighted & ~model.overflow).ravel())[0]
        if listed.size:
            ks.cell_sums(
                listed, model.indptr, model.cell_ids, model.cell_wts, rep,
                bad.astype(np.uint8), bool(bad.any()), g0.reshape(nb, -1), touched,
            )  # fmt: skip
        exact = weighted & ((touched.reshape(rows, cols) != 0) | model.overflow)

    pix_r, pix_c = (xp.ascontiguousarray(a) for a in xp.nonzero(exact))
    if pix_r.size:
        n, par = n.copy(), par.copy()
        d = _dummies(xp, nb)
        rec = _aligned_empty(xp, model.rec.shape)
        rec[...] = model.rec
        ks.scan_pixels(
            pix_r, pix_c, *_scan_args(model, xp, valid, _put_target(rec, c0)), d["labels"],
            False, d["cell_ids"], d["cell_wts"], d["cell_count"], n, par,
        )  # fmt: skip
        g0 = xp.where(exact, par[cpu_kernels.PAR_WC0], g0)

    if bool((valid == model.base_valid).all()):
        if model.base_means is None:  # the base dates' means, shared by every such date
            inv = window_inverse_counts(valid, params)
            m1, m2 = window_means([model.coarse[0], model.coarse[1]], valid, params, inv)
            model.base_means = (inv, m1, m2)
        inv, m1, m2 = model.base_means
        (m0,) = window_means([c0], valid, params, inv)
    else:
        m0, m1, m2 = window_means([c0, model.coarse[0], model.coarse[1]], valid, params)
    pred, qa = _combine(xp, model.fine, n, par, g0, (m0, m1, m2), valid, params)
    return _finish(model, pred, qa)


def fuse(
    fine1: Any,
    coarse1: Any,
    fine2: Any,
    coarse2: Any,
    coarse0: Any,
    params: EstarfmParams | None = None,
) -> tuple[Any, Any]:
    """ESTARFM: predict the fine image at a target date from two base pairs.

    Parameters
    ----------
    fine1, coarse1, fine2, coarse2
        Fine and coarse images of the two base dates, all on the fine grid,
        (bands, rows, cols) or (rows, cols); NumPy or CuPy.
    coarse0
        The coarse image at the target date.
    params
        Settings (default :class:`EstarfmParams()`, the authors' defaults with the
        ``halo`` block layout).

    Returns
    -------
    prediction, qa
        float32 prediction (NaN where not predicted) and uint8 QA flags, of the
        inputs' shape and array kind.

    Raises
    ------
    GridError
        If the images differ in shape or band count.
    DataError
        If no pixel is valid in all four base images.
    """
    params = params or EstarfmParams()
    xp, model = _setup(fine1, coarse1, fine2, coarse2, params, INPUT_NAMES[:4])
    c0 = _target(model, coarse0, xp)
    nb, rows, cols = model.shape
    valid = model.base_valid & valid_mask([c0], params.background)
    _put_target(model.rec, c0)  # the model is this call's own
    d = _dummies(xp, nb)
    _kernel_set(xp).scan_rows(
        0, rows, *_scan_args(model, xp, valid), d["labels"], False, d["cell_ids"],
        d["cell_wts"], d["cell_count"], model.n, model.par,
    )  # fmt: skip
    means = window_means([c0, model.coarse[0], model.coarse[1]], valid, params)
    g0 = model.par[cpu_kernels.PAR_WC0]
    pred, qa = _combine(xp, model.fine, model.n, model.par, g0, tuple(means), valid, params)
    return _finish(model, pred, qa)


def coarse_cell_labels(*coarse: Any) -> Any:
    """Label the coarse cells of coarse images resampled (nearest) to the fine grid.

    Pixels get one label when their values are identical in every given image, so a
    label marks one coarse cell (or several cells that happen to agree everywhere,
    which is just as good). Pass all coarse images of the year to label cells that
    hold for every target date.

    Parameters
    ----------
    *coarse
        Arrays of shape (rows, cols) or (k, rows, cols); NaN counts as one value.

    Returns
    -------
    (rows, cols) int32 labels, of the inputs' array kind.
    """
    xp = array_namespace(*coarse)
    layers = [as_bands(xp.asarray(c)) for c in coarse]
    shape = layers[0].shape[1:]
    h = xp.full(shape, 1469598103934665603, dtype=np.uint64)
    prime = np.uint64(1099511628211)
    for stack in layers:
        if stack.shape[1:] != shape:
            raise GridError(
                f"coarse images of shapes {shape} and {stack.shape[1:]} cannot be labelled together"
            )
        for k in range(stack.shape[0]):  # one image at a time: no stack-sized temporaries
            x = stack[k].astype(np.float64) + 0.0  # -0.0 becomes 0.0
            x[xp.isnan(x)] = xp.nan  # one NaN bit pattern
            h ^= x.view(np.uint64)
            h *= prime
    _, inverse = xp.unique(h.ravel(), return_inverse=True)
    return inverse.reshape(shape).astype(np.int32)


def blend_then_index(
    fine1: Any,
    coarse1: Any,
    fine2: Any,
    coarse2: Any,
    coarse0: Any,
    params: EstarfmParams | None = None,
    *,
    red: int = 0,
    nir: int = 1,
) -> tuple[Any, Any]:
    """Fuse the red and NIR bands, then compute NDVI from the fused bands.

    The alternative to the factory's default (fuse NDVI images directly with
    :func:`fuse` and :meth:`EstarfmParams.ndvi`). Inputs are multi-band
    reflectance images holding red and NIR at band indices ``red`` and ``nir``.

    Returns
    -------
    ndvi, qa
        float32 NDVI (rows, cols), NaN where either band was not predicted or
        ``red + nir == 0``; QA flags (2, rows, cols) of the fused red and NIR.
    """
    xp = array_namespace(fine1, coarse1, fine2, coarse2, coarse0)
    pick = [red, nir]
    images = []
    for a, name in zip((fine1, coarse1, fine2, coarse2, coarse0), INPUT_NAMES, strict=True):
        if a.ndim != 3 or max(pick) >= a.shape[0]:
            raise GridError(
                f"{name}: expected (bands, rows, cols) with bands {pick}, got shape {a.shape}"
            )
        images.append(a[pick])
    pred, qa = fuse(*images, params)
    r, n = pred[0].astype(np.float64), pred[1].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = (n - r) / (n + r)
    ndvi = xp.where(xp.isfinite(ndvi), ndvi, xp.nan).astype(np.float32)
    return ndvi, qa
