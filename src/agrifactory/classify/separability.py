"""Class separability: the Jeffries-Matusita (JM) distance, and sample re-selection.

Each class is modelled as a multivariate Gaussian (mean and covariance of its
training samples). The Bhattacharyya distance between classes ``a`` and ``b`` is

    B = 1/8 (m_a - m_b)^T S^-1 (m_a - m_b) + 1/2 ln( |S| / sqrt(|S_a| |S_b|) ),
    S = (S_a + S_b) / 2,

and ``JM = 2 (1 - exp(-B))`` lies on 0..2 (2: perfectly separable). Chen et al.
(2021) required JM >= 1.9 between irrigated and rainfed samples and re-selected
samples when it was below 1.8.

Covariances of long series estimated from few samples are singular, so each class
covariance gets a ridge ``ridge * trace(S)/d * I`` (default 1e-6 of the mean
variance), which leaves well-conditioned covariances practically unchanged.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from agrifactory.errors import DataError

log = logging.getLogger(__name__)

#: Chen et al. (2021): classes are taken as separable from this JM distance on.
JM_GOOD = 1.9
#: Below this JM distance Chen et al. (2021) re-selected the samples.
JM_RESELECT = 1.8


class SeparabilityWarning(UserWarning):
    """Two classes are less separable than the JM threshold."""


def _gaussian(x: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    cov = np.atleast_2d(np.cov(x, rowvar=False))
    d = cov.shape[0]
    scale = np.trace(cov) / d if np.trace(cov) > 0 else 1.0
    return mean, cov + ridge * scale * np.eye(d)


def bhattacharyya_distance(xa: np.ndarray, xb: np.ndarray, *, ridge: float = 1e-6) -> float:
    """Bhattacharyya distance between two samples ``(n, d)`` modelled as Gaussians."""
    xa = _check_samples(xa, "class a")
    xb = _check_samples(xb, "class b")
    if xa.shape[1] != xb.shape[1]:
        raise DataError(f"classes have {xa.shape[1]} and {xb.shape[1]} features")
    ma, sa = _gaussian(xa, ridge)
    mb, sb = _gaussian(xb, ridge)
    s = (sa + sb) / 2
    diff = ma - mb
    term1 = diff @ np.linalg.solve(s, diff) / 8
    _, logdet_s = np.linalg.slogdet(s)
    _, logdet_a = np.linalg.slogdet(sa)
    _, logdet_b = np.linalg.slogdet(sb)
    term2 = 0.5 * (logdet_s - 0.5 * (logdet_a + logdet_b))
    return float(term1 + term2)


def jeffries_matusita(xa: np.ndarray, xb: np.ndarray, *, ridge: float = 1e-6) -> float:
    """JM distance (0..2) between two samples ``(n, d)`` modelled as Gaussians."""
    return float(2.0 * (1.0 - np.exp(-bhattacharyya_distance(xa, xb, ridge=ridge))))


def _check_samples(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] < 2:
        raise DataError(f"{name} has {x.shape[0]} sample(s); a covariance needs at least 2")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{name} holds NaN or infinite feature values")
    return x


def pairwise_jm(
    x: np.ndarray, y: np.ndarray, *, ridge: float = 1e-6, classes: Sequence[int] | None = None
) -> pd.DataFrame:
    """JM distance of every pair of classes: columns ``class_a, class_b, jm, n_a, n_b``."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y)
    classes = sorted(np.unique(y).tolist()) if classes is None else list(classes)
    rows = []
    for a, b in itertools.combinations(classes, 2):
        xa, xb = x[y == a], x[y == b]
        rows.append(
            {
                "class_a": a,
                "class_b": b,
                "jm": jeffries_matusita(xa, xb, ridge=ridge),
                "n_a": len(xa),
                "n_b": len(xb),
            }
        )
    return pd.DataFrame(rows, columns=["class_a", "class_b", "jm", "n_a", "n_b"])


def _log_density(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    diff = x - mean
    _, logdet = np.linalg.slogdet(cov)
    maha = np.einsum("ij,ij->i", diff, np.linalg.solve(cov, diff.T).T)
    return -0.5 * (maha + logdet)


def _reselect_pair(
    x: np.ndarray,
    y: np.ndarray,
    keep: np.ndarray,
    classes: tuple[Any, Any],
    pair: np.ndarray,
    jm: float,
    records: list[dict],
    *,
    target: float,
    step: float,
    budget: int,
    ridge: float,
) -> tuple[float, int]:
    """Set aside the ambiguous samples of one class pair, round by round (``keep`` is
    updated, one record per sample appended); the final JM and the count set aside."""
    a, b = classes
    removed_here = 0
    round_no = 0
    while jm < target and removed_here < budget:
        round_no += 1
        idx = pair[keep[pair]]
        ia, ib = idx[y[idx] == a], idx[y[idx] == b]
        if len(ia) < 3 or len(ib) < 3:
            break
        ga, gb = _gaussian(x[ia], ridge), _gaussian(x[ib], ridge)
        la = _log_density(x[idx], *ga)
        lb = _log_density(x[idx], *gb)
        margin = np.where(y[idx] == a, la - lb, lb - la)
        n_out = min(max(1, int(round(step * len(pair)))), budget - removed_here)
        order = np.argsort(margin, kind="stable")[:n_out]
        keep[idx[order]] = False
        removed_here += n_out
        jm_new = jeffries_matusita(x[keep & (y == a)], x[keep & (y == b)], ridge=ridge)
        for o in order:
            records.append(
                {
                    "index": int(idx[o]),
                    "label": y[idx[o]].item() if hasattr(y[idx[o]], "item") else y[idx[o]],
                    "other_class": b if y[idx[o]] == a else a,
                    "margin": float(margin[o]),
                    "round": round_no,
                    "jm_before": float(jm),
                    "jm_after": float(jm_new),
                }
            )
        jm = jm_new
    return jm, removed_here


def reselect_samples(
    x: np.ndarray,
    y: np.ndarray,
    *,
    below: float = JM_RESELECT,
    target: float = JM_GOOD,
    step: float = 0.02,
    max_removed: float = 0.2,
    ridge: float = 1e-6,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Flag ambiguous samples of class pairs whose JM distance is below ``below``.

    For each such pair, the samples of the two classes are ranked by their Gaussian
    log-likelihood margin (own class minus the other class, with the class Gaussians
    re-estimated each round); the lowest ``step`` share (those that look more like
    the other class) is set aside, until JM reaches ``target`` or ``max_removed`` of
    the pair's samples are set aside. This stands in for the manual re-selection of
    Chen et al. (2021): the set-aside samples are meant for a person to review, and
    none is dropped without a record.

    Returns
    -------
    keep
        Boolean mask of the samples kept.
    removed
        One row per set-aside sample: ``index, label, other_class, margin, round,
        jm_before, jm_after``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y)
    keep = np.ones(len(y), dtype=bool)
    records = []
    for row in pairwise_jm(x, y, ridge=ridge).itertuples():
        if row.jm >= below:
            continue
        a, b = row.class_a, row.class_b
        pair = np.flatnonzero(((y == a) | (y == b)) & keep)
        budget = int(np.floor(max_removed * len(pair)))
        jm, removed_here = _reselect_pair(
            x,
            y,
            keep,
            (a, b),
            pair,
            row.jm,
            records,
            target=target,
            step=step,
            budget=budget,
            ridge=ridge,
        )
        log.info(
            "JM %s vs %s: %.3f -> %.3f after setting aside %d samples",
            a,
            b,
            row.jm,
            jm,
            removed_here,
        )
    removed = pd.DataFrame(
        records,
        columns=["index", "label", "other_class", "margin", "round", "jm_before", "jm_after"],
    )
    return keep, removed
