"""HANTS one series at a time, straight from the algorithm (NumPy only).

The baseline that the batched :func:`agrifactory.timeseries.hants.hants_fit` is
tested against (same parameters, same fallback, same tie-breaking) and timed
against in ``benchmarks/bench_hants.py``. Use ``hants_fit`` for real work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agrifactory.timeseries.hants import (
    FLAG_NO_DATA,
    FLAG_OK,
    FLAG_REDUCED,
    SINGULAR_RTOL,
    HantsParams,
    HantsResult,
    design_matrix,
)


@dataclass
class SeriesFit:
    """HANTS fit of one series (fields as in :class:`HantsResult`, without spatial axes)."""

    coefficients: np.ndarray
    outliers: np.ndarray
    rmse: float
    n_valid: int
    n_freq_used: int
    flag: int


def hants_fit_series(
    y: np.ndarray,
    t: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    params: HantsParams | None = None,
) -> SeriesFit:
    """Fit HANTS to one series ``y`` (T,) sampled on days ``t`` (T,)."""
    params = params or HantsParams()
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    valid = np.isfinite(y)
    if params.valid_range is not None:
        lo, hi = params.valid_range
        valid &= (y >= lo) & (y <= hi)
    if mask is not None:
        valid &= ~np.asarray(mask, dtype=bool)
    y = np.where(valid, y, 0.0)
    n_valid = int(valid.sum())
    coef = np.zeros(params.n_params)
    if n_valid == 0:
        coef[0] = params.fill_value
        return SeriesFit(coef, np.zeros(y.size, bool), float("nan"), 0, 0, FLAG_NO_DATA)

    k = min(params.n_freq, max(0, (n_valid - params.dod - 1) // 2))
    while True:
        fitted = _fit_order(y, t, valid, k, params)
        if fitted is not None:
            break
        k -= 1  # singular normal equations: one frequency less
    z, kept = fitted
    coef[: z.size] = z
    resid = design_matrix(t, k, params.base_period) @ z - y
    rmse = float(np.sqrt(np.mean(resid[kept] ** 2)))
    flag = FLAG_OK if k == params.n_freq else FLAG_REDUCED
    return SeriesFit(coef, valid & ~kept, rmse, n_valid, k, flag)


def _fit_order(
    y: np.ndarray, t: np.ndarray, valid: np.ndarray, k: int, params: HantsParams
) -> tuple[np.ndarray, np.ndarray] | None:
    """Iterate fit and rejection with ``k`` frequencies; None if the system is singular."""
    m = design_matrix(t, k, params.base_period)
    r = m.shape[1]
    kept = valid.copy()
    sign = {"low": 1.0, "high": -1.0, "none": 0.0}[params.reject]
    max_iter = y.size if params.max_iter is None else params.max_iter
    it = 0
    while True:
        mk = m[kept]
        a = mk.T @ mk + params.delta * np.diag([0.0] + [1.0] * (r - 1))
        try:
            chol = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            return None
        if np.any(np.diag(chol) ** 2 <= SINGULAR_RTOL * np.diag(a).max()):
            return None
        z = np.linalg.solve(a, mk.T @ y[kept])
        if params.reject == "none" or it >= max_iter:
            return z, kept
        err = sign * (m @ z - y)
        err[~kept] = -np.inf
        worst = float(err.max())
        budget = int(kept.sum()) - r - params.dod
        if worst <= params.fit_error_tolerance or budget <= 0:
            return z, kept
        if params.rejection == "worst":
            kept[int(np.argmax(err))] = False
        else:
            thr = params.fit_error_tolerance if params.rejection == "all" else 0.5 * worst
            worst_first = np.argsort(-err, kind="stable")
            candidates = [i for i in worst_first if err[i] > thr]
            kept[candidates[:budget]] = False
        it += 1


def hants_fit_loop(
    values: np.ndarray,
    t: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    params: HantsParams | None = None,
) -> HantsResult:
    """:func:`hants_fit_series` over every series of a ``(T, ...)`` stack, one by one."""
    params = params or HantsParams()
    values = np.asarray(values)
    n_t = values.shape[0]
    spatial = values.shape[1:]
    flat = values.reshape(n_t, -1)
    mflat = None if mask is None else np.asarray(mask, dtype=bool).reshape(n_t, -1)
    n = flat.shape[1]
    coef = np.zeros((params.n_params, n))
    outl = np.zeros((n_t, n), dtype=bool)
    rmse = np.zeros(n)
    n_valid = np.zeros(n, dtype=np.int16)
    n_freq = np.zeros(n, dtype=np.int16)
    flag = np.zeros(n, dtype=np.uint8)
    for i in range(n):
        fit = hants_fit_series(
            flat[:, i], t, mask=None if mflat is None else mflat[:, i], params=params
        )
        coef[:, i] = fit.coefficients
        outl[:, i] = fit.outliers
        rmse[i] = fit.rmse
        n_valid[i] = fit.n_valid
        n_freq[i] = fit.n_freq_used
        flag[i] = fit.flag
    return HantsResult(
        coefficients=coef.reshape((params.n_params,) + spatial),
        outliers=outl.reshape((n_t,) + spatial),
        rmse=rmse.reshape(spatial),
        n_valid=n_valid.reshape(spatial),
        n_outliers=outl.sum(axis=0).astype(np.int16).reshape(spatial),
        n_freq_used=n_freq.reshape(spatial),
        flag=flag.reshape(spatial),
        params=params,
    )
