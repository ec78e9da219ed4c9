"""HANTS: Harmonic ANalysis of Time Series (Verhoef 1996; Roerink et al. 2000), batched.

A series ``y(t)`` on an irregular time axis (days) is fitted by weighted least
squares with a mean and ``n_freq`` harmonics of a base period ``P``::

    y(t) ~ a0 + sum_k [ a_k cos(2 pi k t / P) + b_k sin(2 pi k t / P) ]

Masked, NaN and out-of-range samples carry zero weight. The fit is repeated,
each time dropping outliers on one side (cloud dips are *low* NDVI outliers),
until the worst error on that side is within the fit error tolerance or no more
samples may be dropped. The normal equations are regularised with ``delta`` on
the diagonal of every harmonic term (not the mean), as in the original code.

All pixels of a chunk are solved together (series along the last axis, one
``(R, R)`` normal matrix per pixel from one matrix product, a vectorised
Cholesky solve); pixels with no masked sample share one projection matrix. The
same array code runs on NumPy and CuPy. :mod:`agrifactory.timeseries.hants_reference`
holds the plain per-series loop it is tested and benchmarked against.
See ``docs/timeseries.md`` for the parameters, rejection modes, fallback and QA.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, field_validator

from agrifactory.backend import array_namespace, to_numpy
from agrifactory.settings import KeepInt, Settings

log = logging.getLogger(__name__)


#: QA flag values of a series.
FLAG_OK = 0  #: fitted with all ``n_freq`` frequencies
FLAG_REDUCED = 1  #: too few valid samples: fitted with fewer frequencies (maybe the mean only)
FLAG_NO_DATA = 2  #: no valid sample: reconstruction is ``fill_value``

#: A Cholesky pivot at or below this fraction of the largest diagonal entry marks a
#: singular system (samples that cannot tell the harmonics apart).
SINGULAR_RTOL = 1e-10

QA_BAND_NAMES = ("rmse", "n_outliers", "n_valid", "n_freq_used", "flag")


class HantsParams(Settings):
    """HANTS parameters (Verhoef 1996; Roerink et al. 2000); config ``timeseries.hants``.

    The defaults follow the example of the widely used Python port.
    """

    base_period: Annotated[float, Field(gt=0, allow_inf_nan=False), KeepInt] = 365
    """Base period in days (the period of the first harmonic)."""

    n_freq: Annotated[int, Field(ge=0)] = 3
    """Number of harmonic frequencies above the mean (1..n_freq per base period)."""

    fit_error_tolerance: Annotated[float, Field(ge=0), KeepInt] = 0.05
    """Samples farther than this from the fit (NDVI) are outliers: rejection stops when
    no valid sample on the rejected side lies further from the fit."""

    reject: Literal["low", "high", "none"] = "low"
    """Which outliers to reject (low - cloud dips; none - one plain fit)."""

    valid_range: tuple[float, float] | None = (-1.0, 1.0)
    """Samples outside this range are masked (null accepts all finite values)."""

    dod: Annotated[int, Field(ge=0)] = 1
    """Degree of overdetermination: at least 2 n_freq + 1 + dod samples must remain;
    rejection never goes below that."""

    delta: Annotated[float, Field(ge=0), KeepInt] = 0.25
    """Regularisation (damping) of the normal equations: a ridge on the diagonal of
    every harmonic term (not the mean)."""

    rejection: Literal["worst", "all", "half_max"] = "worst"
    """Per iteration reject the single worst sample, all beyond the tolerance, or all
    beyond half the worst error (GRASS r.hants)."""

    fill_value: Annotated[float, KeepInt] = 0.0
    """Curve value of series with no valid sample (flagged in QA)."""

    max_iter: Annotated[int, Field(ge=0)] | None = None
    """Most rejection iterations (null - until done, the number of samples)."""

    @field_validator("valid_range")
    @classmethod
    def _ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not value[0] <= value[1]:
            raise ValueError(f"must be (low, high), got {value}")
        return value

    @property
    def n_params(self) -> int:
        """Number of coefficients: the mean and a cosine and a sine per frequency."""
        return 2 * self.n_freq + 1

    @property
    def min_samples(self) -> int:
        """Valid samples a series needs for the full model."""
        return self.n_params + self.dod


def design_matrix(t: Any, n_freq: int, base_period: float, xp: Any = np) -> Any:
    """Columns ``1, cos(w t), sin(w t), cos(2 w t), sin(2 w t), ...`` with ``w = 2 pi / P``.

    Returns an array of shape ``(len(t), 2 * n_freq + 1)`` (float64).
    """
    t = xp.asarray(t, dtype=xp.float64)
    cols = [xp.ones_like(t)]
    for k in range(1, n_freq + 1):
        ang = (2.0 * math.pi * k / base_period) * t
        cols += [xp.cos(ang), xp.sin(ang)]
    return xp.stack(cols, axis=1)


def coefficient_names(n_freq: int) -> list[str]:
    """Names of the coefficient bands: ``harm_mean, harm_cos1, harm_sin1, ...``."""
    names = ["harm_mean"]
    for k in range(1, n_freq + 1):
        names += [f"harm_cos{k}", f"harm_sin{k}"]
    return names


@dataclass
class HantsResult:
    """HANTS fit of a stack; every array keeps the stack's spatial shape ``S``.

    Attributes
    ----------
    coefficients
        ``(2 * n_freq + 1, *S)`` float64: mean, then cosine and sine term of each
        frequency. Frequencies a reduced fit did not use are 0.
    outliers
        ``(T, *S)`` bool: samples rejected by the iteration (not those masked or out
        of range beforehand).
    rmse
        ``(*S)`` float64: root-mean-square difference between fit and the samples
        kept in the final fit; NaN where no sample was valid.
    n_valid, n_outliers, n_freq_used
        ``(*S)`` int16: valid samples before rejection, rejected samples, frequencies
        of the final model.
    flag
        ``(*S)`` uint8: ``FLAG_OK``, ``FLAG_REDUCED`` or ``FLAG_NO_DATA``.
    params
        The parameters of the fit.
    """

    coefficients: Any
    outliers: Any
    rmse: Any
    n_valid: Any
    n_outliers: Any
    n_freq_used: Any
    flag: Any
    params: HantsParams

    @property
    def mean(self) -> Any:
        """The zero-frequency term ``a0``."""
        return self.coefficients[0]

    @property
    def amplitude(self) -> Any:
        """``(n_freq, *S)``: ``sqrt(a_k**2 + b_k**2)`` of frequencies 1..n_freq."""
        xp = array_namespace(self.coefficients)
        return xp.hypot(self.coefficients[1::2], self.coefficients[2::2])

    @property
    def phase(self) -> Any:
        """``(n_freq, *S)`` in degrees [0, 360): ``y = a0 + sum A_k cos(2 pi k t / P - phi_k)``."""
        xp = array_namespace(self.coefficients)
        deg = xp.degrees(xp.arctan2(self.coefficients[2::2], self.coefficients[1::2]))
        return xp.where(deg < 0, deg + 360.0, deg)

    def reconstruct(self, t: Any, dtype: Any = np.float32) -> Any:
        """The fitted curve on the days ``t`` (any dates: the 8-day grid, daily, ...).

        Returns ``(len(t), *S)``; series without valid samples read ``fill_value``.
        """
        xp = array_namespace(self.coefficients)
        coef = self.coefficients.reshape(self.coefficients.shape[0], -1)
        m = design_matrix(xp.asarray(to_numpy(t)), self.params.n_freq, self.params.base_period, xp)
        out = (m @ coef).astype(dtype)
        return out.reshape((m.shape[0],) + self.coefficients.shape[1:])

    def qa_bands(self) -> tuple[Any, list[str]]:
        """QA stack ``(5, *S)`` float32 with names ``rmse, n_outliers, n_valid, n_freq_used, flag``."""
        xp = array_namespace(self.coefficients)
        bands = [self.rmse, self.n_outliers, self.n_valid, self.n_freq_used, self.flag]
        return xp.stack([b.astype(xp.float32) for b in bands]), list(QA_BAND_NAMES)


def hants_fit(
    values: Any,
    t: Any,
    *,
    mask: Any = None,
    params: HantsParams | None = None,
    chunk_size: int | None = None,
) -> HantsResult:
    """Fit HANTS to every series of a stack, all pixels of a chunk together.

    Parameters
    ----------
    values
        ``(T, ...)`` NumPy or CuPy array, time first (a raster stack ``(T, rows, cols)``
        or series ``(T, n)``). NaN counts as masked.
    t
        ``(T,)`` sample times in days (any origin; irregular spacing and repeated
        days are fine).
    mask
        Optional ``(T, ...)`` bool, True where a sample is masked (cloud, QA).
    params
        :class:`HantsParams`; defaults if omitted.
    chunk_size
        Pixels solved together (memory about ``T * chunk_size * 40`` bytes). Default:
        8192 with NumPy (the working arrays stay in the CPU cache, measured fastest),
        2**20 with CuPy (large kernels).

    Returns
    -------
    HantsResult
        Arrays of the same kind (NumPy or CuPy) as ``values``.
    """
    params = params or HantsParams()
    xp = array_namespace(values, mask)
    values = xp.asarray(values)
    if values.ndim < 1:
        raise ValueError("values must have a time axis first, got a scalar")
    n_t = values.shape[0]
    t_host = np.asarray(to_numpy(t), dtype=np.float64)
    if t_host.shape != (n_t,):
        raise ValueError(f"t has shape {t_host.shape}, expected ({n_t},) to match values")
    if not np.isfinite(t_host).all():
        raise ValueError("t (days) must be finite")
    if mask is not None and tuple(mask.shape) != tuple(values.shape):
        raise ValueError(f"mask has shape {mask.shape}, expected {values.shape}")
    spatial = values.shape[1:]
    flat = values.reshape(n_t, -1)
    mflat = None if mask is None else xp.asarray(mask, dtype=bool).reshape(n_t, -1)
    n_pix = flat.shape[1]
    m = design_matrix(xp.asarray(t_host), params.n_freq, params.base_period, xp)

    out = _allocate(xp, params, n_t, n_pix)
    if chunk_size is None:
        chunk_size = 8192 if xp is np else 1 << 20
    n_chunks = max(1, -(-n_pix // chunk_size))
    for i, start in enumerate(range(0, n_pix, chunk_size)):
        stop = min(start + chunk_size, n_pix)
        y = flat[:, start:stop].astype(xp.float64)
        valid = _valid_samples(y, None if mflat is None else mflat[:, start:stop], params, xp)
        xp.copyto(y, 0.0, where=~valid)
        part = _fit_chunk(y, valid, m, params, xp)
        for name, arr in part.items():
            out[name][..., start:stop] = arr
        if n_chunks > 1 and (i + 1) % max(1, n_chunks // 10) == 0:
            log.info("HANTS: %d of %d pixels done", stop, n_pix)

    return HantsResult(
        coefficients=out["coefficients"].reshape((params.n_params,) + spatial),
        outliers=out["outliers"].reshape((n_t,) + spatial),
        rmse=out["rmse"].reshape(spatial),
        n_valid=out["n_valid"].reshape(spatial),
        n_outliers=out["n_outliers"].reshape(spatial),
        n_freq_used=out["n_freq_used"].reshape(spatial),
        flag=out["flag"].reshape(spatial),
        params=params,
    )


def _valid_samples(y: Any, masked: Any, params: HantsParams, xp: Any) -> Any:
    """True where a sample counts: in the valid range (finite) and not masked."""
    if params.valid_range is not None:
        lo, hi = params.valid_range
        valid = y >= lo  # NaN compares False
        valid &= y <= hi
        if not (math.isfinite(lo) and math.isfinite(hi)):
            valid &= xp.isfinite(y)
    else:
        valid = xp.isfinite(y)
    if masked is not None:
        valid &= ~masked
    return valid


def _allocate(xp: Any, params: HantsParams, n_t: int, n_pix: int) -> dict[str, Any]:
    return {
        "coefficients": xp.zeros((params.n_params, n_pix), dtype=xp.float64),
        "outliers": xp.zeros((n_t, n_pix), dtype=bool),
        "rmse": xp.zeros(n_pix, dtype=xp.float64),
        "n_valid": xp.zeros(n_pix, dtype=xp.int16),
        "n_outliers": xp.zeros(n_pix, dtype=xp.int16),
        "n_freq_used": xp.zeros(n_pix, dtype=xp.int16),
        "flag": xp.zeros(n_pix, dtype=xp.uint8),
    }


def _fit_chunk(y: Any, valid: Any, m: Any, params: HantsParams, xp: Any) -> dict[str, Any]:
    """Fit ``(T, n)`` series (``y`` zero where not ``valid``); returns per-pixel outputs."""
    n_t, n = y.shape
    nf = params.n_freq
    n_valid = xp.count_nonzero(valid, axis=0)
    # The largest model the valid samples allow (the fallback for short series).
    k = xp.clip((n_valid - params.dod - 1) // 2, 0, nf)
    todo = n_valid > 0
    coef = xp.zeros((params.n_params, n), dtype=xp.float64)
    coef[0] = params.fill_value
    kept = xp.zeros((n_t, n), dtype=bool)
    rmse = xp.full(n, xp.nan, dtype=xp.float64)
    for kk in range(nf, -1, -1):
        members = todo & (k == kk)
        n_members = int(xp.count_nonzero(members))
        if n_members == 0:
            continue
        r = 2 * kk + 1
        if n_members == n:  # the common case: no gather needed
            cols = slice(None)
            group = _fit_group(y, valid, m[:, :r], params, xp, kk == nf)
        else:
            cols = xp.nonzero(members)[0]
            ys, vs = xp.take(y, cols, axis=1), xp.take(valid, cols, axis=1)
            group = _fit_group(ys, vs, m[:, :r], params, xp, kk == nf)
        z, w, err, singular = group
        coef[:r, cols] = z
        kept[:, cols] = w
        rmse[cols] = err
        if bool(singular.any()):
            # A singular system (samples aliasing the harmonics) retries with one frequency less.
            bad = xp.nonzero(members)[0][singular]
            coef[:, bad] = 0.0
            coef[0, bad] = params.fill_value
            kept[:, bad] = False
            rmse[bad] = xp.nan
            k[bad] = kk - 1
    outliers = valid & ~kept
    flag = xp.where(todo, xp.where(k < nf, FLAG_REDUCED, FLAG_OK), FLAG_NO_DATA)
    return {
        "coefficients": coef,
        "outliers": outliers,
        "rmse": rmse,
        "n_valid": n_valid.astype(xp.int16),
        "n_outliers": xp.count_nonzero(outliers, axis=0).astype(xp.int16),
        "n_freq_used": xp.where(todo, k, 0).astype(xp.int16),
        "flag": flag.astype(xp.uint8),
    }


def _fit_group(
    y: Any, valid: Any, m: Any, params: HantsParams, xp: Any, share_full: bool
) -> tuple[Any, Any, Any, Any]:
    """Iterative HANTS on series that all use the model ``m`` (T, R).

    Returns coefficients ``(R, n)``, the weights of the final fit ``(T, n)``, the
    RMSE of the final fit ``(n,)`` and a flag of singular normal equations ``(n,)``.
    Series that are done leave the working arrays, so each round only touches the
    series still rejecting.
    """
    n_t, n = y.shape
    r = m.shape[1]
    pairs = _lower_pairs(r)
    mm = m[:, [i for i, _ in pairs]] * m[:, [j for _, j in pairs]]  # packed A = mm.T @ w
    z = xp.zeros((r, n), dtype=xp.float64)
    kept = xp.zeros((n_t, n), dtype=bool)
    rmse = xp.zeros(n, dtype=xp.float64)
    singular = xp.zeros(n, dtype=bool)
    sign = {"low": 1.0, "high": -1.0, "none": 0.0}[params.reject]
    max_iter = n_t if params.max_iter is None else params.max_iter
    n_min = r + params.dod

    idx = None  # columns of the active series in the group; None: all of them
    ya, wa = y, valid  # wa is only changed after `compress` has copied it
    n_w = xp.count_nonzero(wa, axis=0)
    it = 0
    while True:
        za, sing = _solve_weighted(wa, ya, m, mm, params.delta, xp, share_full and it == 0)
        res = m @ za
        res -= ya
        res *= wa  # residuals of the samples in the fit, 0 elsewhere
        sq = xp.sqrt(xp.einsum("tn,tn->n", res, res) / xp.maximum(n_w, 1))
        if params.reject == "none" or it >= max_iter:
            go = xp.zeros(za.shape[1], dtype=bool)
        else:
            # Samples out of the fit read 0 here; since the tolerance is >= 0 they can
            # never be the worst error that triggers a rejection, nor be rejected.
            err = res if sign > 0 else -res
            maxerr = err.max(axis=0)
            go = (maxerr > params.fit_error_tolerance) & (n_w > n_min) & ~sing
        any_go = bool(go.any())
        if idx is None and not any_go:
            return za, wa, sq, sing
        stop = ~go
        done = xp.nonzero(stop)[0] if idx is None else idx[stop]
        z[:, done] = xp.compress(stop, za, axis=1)
        kept[:, done] = xp.compress(stop, wa, axis=1)
        rmse[done] = sq[stop]
        singular[done] = sing[stop]
        if not any_go:
            return z, kept, rmse, singular
        idx = xp.nonzero(go)[0] if idx is None else idx[go]
        # compress: a column subset several times faster than boolean indexing in NumPy
        ya, wa, n_w = xp.compress(go, ya, axis=1), xp.compress(go, wa, axis=1), n_w[go]
        err = xp.compress(go, err, axis=1)
        rej = _choose_rejections(err, maxerr[go], n_w - n_min, params, xp)
        wa &= ~rej
        n_w = n_w - xp.count_nonzero(rej, axis=0)
        it += 1


def _solve_weighted(
    w: Any, y: Any, m: Any, mm: Any, delta: float, xp: Any, share_full: bool
) -> tuple[Any, Any]:
    """Weighted least squares with ridge ``delta`` for every column of ``w``/``y`` (T, n)."""
    if share_full:
        full = w.all(axis=0)
        n_full = int(xp.count_nonzero(full))
        if n_full:
            # One projection for every pixel with all samples valid.
            packed = mm.sum(axis=0)[:, None]
            proj, sing = _cholesky_solve(packed, m.T, delta, xp)
            sing = bool(sing.any())
            if n_full == w.shape[1]:
                return proj @ y, xp.full(n_full, sing, dtype=bool)
            z = xp.empty((m.shape[1], w.shape[1]), dtype=xp.float64)
            singular = xp.empty(w.shape[1], dtype=bool)
            z[:, full] = proj @ xp.compress(full, y, axis=1)
            singular[full] = sing
            rest = xp.nonzero(~full)[0]
            z[:, rest], singular[rest] = _solve_normal(
                xp.take(w, rest, axis=1), xp.take(y, rest, axis=1), m, mm, delta, xp
            )
            return z, singular
    return _solve_normal(w, y, m, mm, delta, xp)


def _solve_normal(w: Any, y: Any, m: Any, mm: Any, delta: float, xp: Any) -> tuple[Any, Any]:
    """Per-pixel normal equations (two matrix products) and a batched Cholesky solve."""
    wf = w.astype(xp.float64)
    packed = mm.T @ wf
    wf *= y
    return _cholesky_solve(packed, m.T @ wf, delta, xp)


def _lower_pairs(r: int) -> list[tuple[int, int]]:
    """Entries ``(i, j)``, ``i >= j``, of an ``r x r`` lower triangle, column by column."""
    return [(i, j) for j in range(r) for i in range(j, r)]


def _cholesky_solve(packed: Any, b: Any, delta: float, xp: Any) -> tuple[Any, Any]:
    """Solve ``(A + delta D) x = b`` for many symmetric ``A``, batch last.

    ``packed`` holds the lower triangle of each ``A`` column by column
    (:func:`_lower_pairs`), shape ``(R (R + 1) / 2, n)``; ``D`` is the identity
    without its first entry (the mean is not damped); ``b`` is ``(R, n)`` (or
    ``(R, k)`` for one shared ``A`` with ``n = 1``). Returns ``x`` and a bool flag of
    systems whose Cholesky pivot fell to ``SINGULAR_RTOL`` of the largest diagonal
    entry or below (their ``x`` is 0).

    Every matrix entry is a vector over the batch, so each step below is one
    vectorised operation over all pixels (R is small: 7 for three frequencies).
    """
    r = b.shape[0]
    starts = [j * r - j * (j - 1) // 2 for j in range(r)]  # row of A[j, j] in packed
    diag = [packed[s] + (delta if j else 0.0) for j, s in enumerate(starts)]
    scale = diag[0]
    for d in diag[1:]:
        scale = xp.maximum(scale, d)
    tol = SINGULAR_RTOL * scale
    low: list[list[Any]] = [[None] * r for _ in range(r)]
    inv = [None] * r  # 1 / L[j, j]
    bad = xp.zeros(packed.shape[1], dtype=bool)
    for j in range(r):
        d = diag[j]
        for k in range(j):
            d = d - low[j][k] * low[j][k]
        sing = ~(d > tol)
        bad |= sing
        inv[j] = 1.0 / xp.sqrt(xp.where(sing, 1.0, d))
        for i in range(j + 1, r):
            v = packed[starts[j] + i - j]
            for k in range(j):
                v = v - low[i][k] * low[j][k]
            low[i][j] = v * inv[j]
    u = [None] * r  # L u = b
    for i in range(r):
        v = b[i]
        for k in range(i):
            v = v - low[i][k] * u[k]
        u[i] = v * inv[i]
    x = [None] * r  # L^T x = u
    for i in range(r - 1, -1, -1):
        v = u[i]
        for k in range(i + 1, r):
            v = v - low[k][i] * x[k]
        x[i] = v * inv[i]
    return xp.where(bad, 0.0, xp.stack(x)), bad


def _choose_rejections(err: Any, maxerr: Any, budget: Any, params: HantsParams, xp: Any) -> Any:
    """Samples to drop this round, ``(T, n)`` bool; never more than ``budget`` per series."""
    if params.rejection == "worst":
        rej = err == maxerr
        tied = xp.nonzero(xp.count_nonzero(rej, axis=0) > 1)[0]
        if tied.size:  # equal worst errors: drop the first, as argmax would
            rej[:, tied] = False
            rej[xp.argmax(xp.take(err, tied, axis=1), axis=0), tied] = True
        return rej
    thr = params.fit_error_tolerance if params.rejection == "all" else 0.5 * maxerr
    rej = err > thr
    over = xp.count_nonzero(rej, axis=0) > budget
    if bool(over.any()):
        # Keep the worst `budget` candidates: rank samples by error, worst first.
        cols = xp.nonzero(over)[0]
        order = _argsort_stable(-err[:, cols], xp)
        rank = _argsort_stable(order, xp)
        rej[:, cols] = rej[:, cols] & (rank < budget[cols])
    return rej


def _argsort_stable(a: Any, xp: Any) -> Any:
    """Stable argsort along axis 0 (CuPy's sort is always stable and takes no ``kind``)."""
    if xp is np:
        return np.argsort(a, axis=0, kind="stable")
    return xp.argsort(a, axis=0)
