"""CUDA kernels of ESTARFM, compiled from the same source as the CPU kernels.

:func:`gpu_kernels` compiles :func:`~agrifactory.fusion.kernels.pixel_core` and
:func:`~agrifactory.fusion.kernels.cells_core` as CUDA device functions and wraps
them in kernels of one thread per pixel, with the same call signatures as the CPU
``scan_rows``, ``scan_pixels`` and ``cell_sums``. They take CuPy arrays (anything
with ``__cuda_array_interface__``); under numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``) they also run on NumPy arrays, which is how the CPU
test suite checks their arithmetic.

This module is imported only when CuPy arrays reach :func:`agrifactory.fusion.fuse`
(or by the simulator test), never with :mod:`agrifactory.fusion` itself; on GPU
machines ``numba.cuda`` comes from the ``numba-cuda`` package (the ``gpu`` extra).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from numba import cuda, float64
from numba import types as nbtypes

from agrifactory.errors import ConfigError
from agrifactory.fusion.kernels import (
    KernelSet,
    cells_core,
    combine_core,
    mask_size,
    pixel_core,
    scratch_size,
)

#: Largest band count and half window the CUDA kernels are compiled for (their
#: per-thread scratch arrays need sizes known at compile time).
MAX_BANDS = 8
MAX_HALF_WINDOW = 100
THREADS = 128
N_SCRATCH = scratch_size(MAX_BANDS, MAX_HALF_WINDOW)
N_MASK = mask_size(MAX_HALF_WINDOW)
#: Cell lookup table of the CUDA kernels; ``cell_capacity`` may be at most half of it.
N_TABLE = 256

_core = cuda.jit(device=True)(pixel_core)
_cells = cuda.jit(device=True)(cells_core)
_combine = cuda.jit(device=True)(combine_core)


@cuda.jit
def scan_rows_kernel(
    ra, rb, rlo, rhi, clo, chi, fv, th, fv32, th32, rec, valid, dist, w, min_change, max_conv,
    min_cand, fcrit, labels, use_cells, cell_ids, cell_wts, cell_count, out_n, out_par,
):  # fmt: skip
    """One thread per pixel of rows ``[ra, rb)``: :func:`pixel_core` on the valid ones."""
    idx = cuda.grid(1)
    cols = out_n.shape[1]
    if idx >= (rb - ra) * cols:
        return
    r = ra + idx // cols
    c = idx - (idx // cols) * cols
    if valid[r, c] == 0:
        return
    scratch = cuda.local.array(N_SCRATCH, float64)
    mask = cuda.local.array(N_MASK, nbtypes.int32)
    htab = cuda.local.array(N_TABLE, nbtypes.int32)
    _core(
        r, c, rlo[r], rhi[r], clo[c], chi[c], fv, th, fv32, th32, rec, valid, dist, w,
        min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts,
        cell_count, idx, scratch, mask, htab, out_n, out_par,
    )  # fmt: skip


@cuda.jit
def scan_pixels_kernel(
    pix_r, pix_c, rlo, rhi, clo, chi, fv, th, fv32, th32, rec, valid, dist, w, min_change,
    max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts, cell_count, out_n,
    out_par,
):  # fmt: skip
    """One thread per listed pixel: :func:`pixel_core`."""
    q = cuda.grid(1)
    if q >= pix_r.size:
        return
    r = pix_r[q]
    c = pix_c[q]
    scratch = cuda.local.array(N_SCRATCH, float64)
    mask = cuda.local.array(N_MASK, nbtypes.int32)
    htab = cuda.local.array(N_TABLE, nbtypes.int32)
    _core(
        r, c, rlo[r], rhi[r], clo[c], chi[c], fv, th, fv32, th32, rec, valid, dist, w,
        min_change, max_conv, min_cand, fcrit, labels, use_cells, cell_ids, cell_wts,
        cell_count, q, scratch, mask, htab, out_n, out_par,
    )  # fmt: skip


@cuda.jit
def cell_sums_kernel(pixels, indptr, ids, wts, rep, bad, any_bad, out, touched):
    """One thread per listed pixel: :func:`cells_core`."""
    q = cuda.grid(1)
    if q < pixels.size:
        _cells(pixels[q], indptr, ids, wts, rep, bad, any_bad, out, touched)


@cuda.jit
def combine_kernel(fine, n, par, g0, m0, m1, m2, valid, lo, hi, min_cand, out_pred, out_qa):
    """One thread per pixel: :func:`combine_core`."""
    p = cuda.grid(1)
    if p < valid.size:
        _combine(p, fine, n, par, g0, m0, m1, m2, valid, lo, hi, min_cand, out_pred, out_qa)


def _blocks(n: int) -> int:
    return max(1, (n + THREADS - 1) // THREADS)


def _check(fv: Any, w: int, cell_ids: Any) -> None:
    if cell_ids.shape[1] > N_TABLE // 2:
        raise ConfigError(
            f"the CUDA kernels keep at most {N_TABLE // 2} cells per window; lower cell_capacity"
        )
    if fv.shape[0] // 2 > MAX_BANDS or w > MAX_HALF_WINDOW:
        raise ConfigError(
            f"the CUDA kernels handle at most {MAX_BANDS} bands and a half window of "
            f"{MAX_HALF_WINDOW}; got {fv.shape[0] // 2} bands and w = {w}"
        )


def scan_rows(ra: int, rb: int, *args: Any) -> None:
    """GPU twin of :func:`agrifactory.fusion.kernels.scan_rows` (same arguments)."""
    fv, w, out_n = args[4], args[11], args[21]
    _check(fv, w, args[18])
    scan_rows_kernel[_blocks((rb - ra) * out_n.shape[1]), THREADS](ra, rb, *args)


def scan_pixels(pix_r: Any, pix_c: Any, *args: Any) -> None:
    """GPU twin of :func:`agrifactory.fusion.kernels.scan_pixels`."""
    _check(args[4], args[11], args[18])
    scan_pixels_kernel[_blocks(pix_r.size), THREADS](pix_r, pix_c, *args)


def cell_sums(pixels: Any, *args: Any) -> None:
    """GPU twin of :func:`agrifactory.fusion.kernels.cell_sums`."""
    cell_sums_kernel[_blocks(pixels.size), THREADS](pixels, *args)


def combine(fine: Any, n: Any, par: Any, *args: Any) -> None:
    """GPU twin of :func:`agrifactory.fusion.kernels.combine`."""
    combine_kernel[_blocks(n.size), THREADS](fine, n, par, *args)


@cache
def gpu_kernels() -> Any:
    """The CUDA kernel set (a :class:`~agrifactory.fusion.kernels.KernelSet`)."""
    return KernelSet(scan_rows, scan_pixels, cell_sums, combine)
