"""Accuracy assessment: confusion matrix, OA, Kappa, user's/producer's accuracy, F1,
and the stratified estimators of Olofsson et al. (2014).

Convention (as in Olofsson et al. 2014): rows of a confusion matrix are the **map**
(predicted) classes, columns the **reference** classes; ``cm[i, j]`` counts samples
mapped as class ``i`` whose reference class is ``j``. A rate whose denominator is
zero (a class never mapped, or never in the reference) is NaN, never 0.

References
----------
Olofsson, P., Foody, G. M., Herold, M., Stehman, S. V., Woodcock, C. E., Wulder,
M. A. (2014). Good practices for estimating area and assessing accuracy of land
change. Remote Sensing of Environment 148, 42-57.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from agrifactory.errors import DataError

#: Two-sided 95% normal quantile, as used by Olofsson et al. (2014).
Z95 = 1.96


def confusion_matrix(
    reference: Sequence[int] | np.ndarray,
    mapped: Sequence[int] | np.ndarray,
    classes: Sequence[int],
) -> np.ndarray:
    """Counts ``cm[i, j]`` of samples mapped as ``classes[i]`` with reference ``classes[j]``.

    Raises
    ------
    DataError
        If the two vectors differ in length or hold a value not in ``classes``.
    """
    ref = np.asarray(reference).ravel()
    mp = np.asarray(mapped).ravel()
    if ref.shape != mp.shape:
        raise DataError(f"{ref.size} reference labels but {mp.size} mapped labels")
    cls = np.asarray(classes)
    if len(np.unique(cls)) != len(cls):
        raise DataError(f"classes {list(cls)} contain duplicates")
    for name, v in (("reference", ref), ("mapped", mp)):
        extra = np.setdiff1d(np.unique(v), cls)
        if extra.size:
            raise DataError(
                f"{name} labels {extra.tolist()} are not among the classes {cls.tolist()}"
            )
    index = {c: k for k, c in enumerate(cls.tolist())}
    i = np.array([index[v] for v in mp.tolist()], dtype=np.int64)
    j = np.array([index[v] for v in ref.tolist()], dtype=np.int64)
    cm = np.zeros((len(cls), len(cls)), dtype=np.int64)
    np.add.at(cm, (i, j), 1)
    return cm


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _check_cm(cm: np.ndarray) -> np.ndarray:
    cm = np.asarray(cm, dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise DataError(f"a confusion matrix must be square, got shape {cm.shape}")
    if np.any(cm < 0) or not np.all(np.isfinite(cm)):
        raise DataError("a confusion matrix holds finite non-negative counts")
    if cm.sum() == 0:
        raise DataError("the confusion matrix is empty (no samples)")
    return cm


def overall_accuracy(cm: np.ndarray) -> float:
    """Share of samples on the diagonal."""
    cm = _check_cm(cm)
    return float(np.trace(cm) / cm.sum())


def kappa(cm: np.ndarray) -> float:
    """Cohen's Kappa: ``(po - pe) / (1 - pe)`` with ``pe`` from the margins."""
    cm = _check_cm(cm)
    n = cm.sum()
    po = np.trace(cm) / n
    pe = float(np.sum(cm.sum(axis=1) * cm.sum(axis=0)) / n**2)
    return float((po - pe) / (1.0 - pe)) if pe != 1.0 else float("nan")


def users_accuracy(cm: np.ndarray) -> np.ndarray:
    """Per map class: correct / mapped (1 - commission error)."""
    cm = _check_cm(cm)
    return _ratio(np.diag(cm), cm.sum(axis=1))


def producers_accuracy(cm: np.ndarray) -> np.ndarray:
    """Per reference class: correct / reference (1 - omission error)."""
    cm = _check_cm(cm)
    return _ratio(np.diag(cm), cm.sum(axis=0))


def f1_scores(cm: np.ndarray) -> np.ndarray:
    """Per class F1 = ``2 n_ii / (n_i. + n_.i)`` (harmonic mean of UA and PA)."""
    cm = _check_cm(cm)
    return _ratio(2 * np.diag(cm), cm.sum(axis=1) + cm.sum(axis=0))


def macro_f1(cm: np.ndarray) -> float:
    """Unweighted mean of the F1 of the classes present in the map or the reference."""
    f1 = f1_scores(cm)
    return float(np.nanmean(f1))


@dataclass(frozen=True)
class StratifiedEstimate:
    """Olofsson et al. (2014) estimates from a sample stratified by map class.

    Areas are in the unit of the mapped areas given. ``*_se`` are standard errors;
    95% confidence intervals are ``estimate +- z * se`` (see :meth:`ci`).
    """

    classes: tuple[int, ...]
    proportions: np.ndarray  # estimated area proportions p_ij, rows map, cols reference
    area_proportion: np.ndarray
    area_proportion_se: np.ndarray
    area: np.ndarray
    area_se: np.ndarray
    users: np.ndarray
    users_se: np.ndarray
    producers: np.ndarray
    producers_se: np.ndarray
    overall: float
    overall_se: float
    z: float = Z95

    def ci(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper 95% bounds of ``area``, ``area_proportion``, ``users``,
        ``producers`` or ``overall``."""
        est = np.asarray(getattr(self, name), dtype=float)
        se = np.asarray(getattr(self, f"{name}_se"), dtype=float)
        return est - self.z * se, est + self.z * se


def _check_strata(
    cm: np.ndarray, mapped_area: Sequence[float] | np.ndarray, classes: Sequence[int] | None
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Mapped areas as floats and the class codes; raise unless every stratum with area
    has two samples and the areas fit the matrix."""
    k = cm.shape[0]
    area_m = np.asarray(mapped_area, dtype=float)
    classes = tuple(range(k)) if classes is None else tuple(int(c) for c in classes)
    if area_m.shape != (k,) or len(classes) != k:
        raise DataError(
            f"{area_m.size} mapped areas and {len(classes)} classes for a {k}x{k} matrix"
        )
    if np.any(area_m < 0) or area_m.sum() <= 0:
        raise DataError(f"mapped areas must be non-negative with a positive total, got {area_m}")
    n_i = cm.sum(axis=1)
    short = [classes[i] for i in range(k) if area_m[i] > 0 and n_i[i] < 2]
    if short:
        raise DataError(
            f"map classes {short} have mapped area but fewer than 2 validation samples; "
            "the stratified variance needs at least 2 per stratum (add samples)"
        )
    return area_m, classes


def _producers_se(
    pa: np.ndarray, area_m: np.ndarray, frac: np.ndarray, ua: np.ndarray, dof: np.ndarray
) -> np.ndarray:
    """Standard error of the producer's accuracies (Olofsson et al. 2014, eq. 7)."""
    k = len(pa)
    n_hat_col = (area_m[:, None] * frac).sum(axis=0)  # estimated reference area of class j
    pa_se = np.full(k, np.nan)
    for j in range(k):
        if n_hat_col[j] <= 0:
            continue
        first = area_m[j] ** 2 * (1 - pa[j]) ** 2 * ua[j] * (1 - ua[j]) / dof[j]
        others = [i for i in range(k) if i != j]
        second = pa[j] ** 2 * np.sum(
            area_m[others] ** 2 * frac[others, j] * (1 - frac[others, j]) / dof[others]
        )
        pa_se[j] = np.sqrt((first + second) / n_hat_col[j] ** 2)
    return pa_se


def stratified_estimates(
    cm: np.ndarray,
    mapped_area: Sequence[float] | np.ndarray,
    classes: Sequence[int] | None = None,
    *,
    z: float = Z95,
) -> StratifiedEstimate:
    """Stratified estimators of accuracy and area (Olofsson et al. 2014, eqs. 2-11).

    Parameters
    ----------
    cm
        Sample counts, rows map classes (the strata), columns reference classes.
    mapped_area
        Mapped area of each class (pixels, ha, km^2 ...), in the order of ``cm``.
    classes
        Class codes in the order of ``cm`` (default ``0..K-1``).
    z
        Normal quantile of the confidence intervals (1.96 for 95%).

    Raises
    ------
    DataError
        If a stratum with mapped area has fewer than two samples (its variance is
        undefined), or areas are negative or do not match the matrix.
    """
    cm = _check_cm(cm)
    area_m, classes = _check_strata(cm, mapped_area, classes)
    n_i = cm.sum(axis=1)
    total = area_m.sum()
    w = area_m / total
    frac = _ratio(cm, n_i[:, None])  # n_ij / n_i.
    frac = np.nan_to_num(frac)  # strata without samples have zero weight (checked above)
    p = w[:, None] * frac
    p_col = p.sum(axis=0)
    dof = np.where(n_i > 1, n_i - 1, 1.0)
    var_term = frac * (1 - frac) / dof[:, None]  # per stratum and reference class
    p_col_se = np.sqrt(np.sum(w[:, None] ** 2 * var_term, axis=0))

    ua = _ratio(np.diag(cm), n_i)
    ua_filled = np.nan_to_num(ua)
    ua_se = np.sqrt(np.where(n_i > 1, ua_filled * (1 - ua_filled) / dof, np.nan))
    ua_se = np.where(np.isnan(ua), np.nan, ua_se)

    oa = float(np.trace(p))
    oa_se = float(np.sqrt(np.sum(w**2 * ua_filled * (1 - ua_filled) / dof)))

    # Producer's accuracy (eq. 7 and its variance), with N_i. the mapped area of stratum i.
    pa = _ratio(np.diag(p), p_col)
    pa_se = _producers_se(pa, area_m, frac, ua_filled, dof)

    return StratifiedEstimate(
        classes=classes,
        proportions=p,
        area_proportion=p_col,
        area_proportion_se=p_col_se,
        area=p_col * total,
        area_se=p_col_se * total,
        users=ua,
        users_se=ua_se,
        producers=pa,
        producers_se=pa_se,
        overall=oa,
        overall_se=oa_se,
        z=z,
    )


def _rows(product, code, name, metric, value, se=np.nan, z=Z95, n=None):
    value = float(value)
    se = float(se)
    lo, hi = (value - z * se, value + z * se) if np.isfinite(se) else (np.nan, np.nan)
    return {
        "product": product,
        "class_code": code,
        "class_name": name,
        "metric": metric,
        "value": value,
        "se": se,
        "ci95_low": lo,
        "ci95_high": hi,
        "n": n,
    }


def _stratified_rows(
    cm: np.ndarray,
    legend: Mapping[str, int],
    mapped_area: Mapping[int, float],
    *,
    product: str,
    z: float,
) -> list[dict]:
    """Report rows of the Olofsson et al. (2014) estimates (see :func:`accuracy_table`)."""
    codes = list(legend.values())
    names = list(legend.keys())
    missing = [c for c in codes if c not in mapped_area]
    if missing:
        raise DataError(f"mapped_area lacks classes {missing} of the {product} legend")
    areas = np.array([mapped_area[c] for c in codes], dtype=float)
    est = stratified_estimates(cm, areas, codes, z=z)
    n = int(cm.sum())
    rows = [
        _rows(product, -1, "all", "overall_accuracy_stratified", est.overall, est.overall_se, z, n)
    ]
    for k, (code, name) in enumerate(zip(codes, names, strict=True)):
        rows += [
            _rows(
                product, code, name, "users_accuracy_stratified", est.users[k], est.users_se[k], z
            ),
            _rows(
                product,
                code,
                name,
                "producers_accuracy_stratified",
                est.producers[k],
                est.producers_se[k],
                z,
            ),
            _rows(
                product,
                code,
                name,
                "area_proportion",
                est.area_proportion[k],
                est.area_proportion_se[k],
                z,
            ),
            _rows(product, code, name, "area", est.area[k], est.area_se[k], z),
            _rows(product, code, name, "mapped_area", areas[k]),
        ]
    return rows


def accuracy_table(
    reference: Sequence[int] | np.ndarray,
    mapped: Sequence[int] | np.ndarray,
    legend: Mapping[str, int],
    *,
    product: str,
    mapped_area: Mapping[int, float] | None = None,
    z: float = Z95,
) -> pd.DataFrame:
    """A tidy accuracy report of one product (one row per class and metric).

    Columns: ``product, class_code, class_name, metric, value, se, ci95_low,
    ci95_high, n``. Overall metrics have ``class_code`` = -1 and ``class_name``
    ``"all"``. Sample-count metrics: ``overall_accuracy``, ``kappa``, ``macro_f1``,
    ``users_accuracy``, ``producers_accuracy``, ``f1``, ``n_reference``, ``n_mapped``.
    With ``mapped_area`` (code -> mapped area of the class) the sample is taken as
    stratified by map class and the Olofsson et al. (2014) estimates are added with
    standard errors and CIs: ``overall_accuracy_stratified``,
    ``users_accuracy_stratified``, ``producers_accuracy_stratified``,
    ``area_proportion``, ``area`` (in the unit of ``mapped_area``), ``mapped_area``.
    """
    codes = list(legend.values())
    names = list(legend.keys())
    cm = confusion_matrix(reference, mapped, codes)
    n = int(cm.sum())
    rows = [
        _rows(product, -1, "all", "overall_accuracy", overall_accuracy(cm), n=n),
        _rows(product, -1, "all", "kappa", kappa(cm), n=n),
        _rows(product, -1, "all", "macro_f1", macro_f1(cm), n=n),
    ]
    ua, pa, f1 = users_accuracy(cm), producers_accuracy(cm), f1_scores(cm)
    for k, (code, name) in enumerate(zip(codes, names, strict=True)):
        rows += [
            _rows(product, code, name, "users_accuracy", ua[k], n=int(cm[k].sum())),
            _rows(product, code, name, "producers_accuracy", pa[k], n=int(cm[:, k].sum())),
            _rows(product, code, name, "f1", f1[k], n=int(cm[k].sum() + cm[:, k].sum())),
            _rows(product, code, name, "n_reference", cm[:, k].sum()),
            _rows(product, code, name, "n_mapped", cm[k].sum()),
        ]
    if mapped_area is not None:
        rows += _stratified_rows(cm, legend, mapped_area, product=product, z=z)
    table = pd.DataFrame(rows)
    table["n"] = table["n"].astype("Int64")
    return table
