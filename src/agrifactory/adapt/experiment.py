"""Comparison of adaptation methods on one case (source -> target): accuracy on the
target's labelled evaluation samples per method and seed, the in-domain reference and
the summary over seeds.

Target labels (``ye``) are used only to score predictions, after training.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from agrifactory.adapt.settings import AdaptSettings
from agrifactory.adapt.train import check_series, fit
from agrifactory.classify.accuracy import confusion_matrix, kappa, macro_f1, overall_accuracy
from agrifactory.classify.models import make_model

log = logging.getLogger(__name__)

#: The source-only LightGBM baseline on the flattened series (not a network method).
LIGHTGBM = "lightgbm"

#: Columns of :func:`run_case`'s table.
COLUMNS = [
    "method",
    "seed",
    "oa",
    "macro_f1",
    "kappa",
    "kept_share",
    "n_source",
    "n_target",
    "n_eval",
]
METRICS = ("oa", "macro_f1", "kappa", "kept_share")


def scores(ye: np.ndarray, predicted: np.ndarray, classes: Sequence[int]) -> dict[str, float]:
    """OA, macro F1 and Kappa of ``predicted`` against reference ``ye``."""
    cm = confusion_matrix(ye, predicted, classes)
    return {"oa": overall_accuracy(cm), "macro_f1": macro_f1(cm), "kappa": kappa(cm)}


def _one(
    method: str,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    classes: Sequence[int],
    settings: AdaptSettings,
    seed: int,
    lightgbm_params: Mapping[str, Any] | None,
) -> tuple[np.ndarray, float, Any]:
    """Predictions of ``method`` on ``Xe``, its final kept share of the target (NaN
    where the method has no pseudo-labels) and the model."""
    xs, ys, xt, xe = data
    if method == LIGHTGBM:
        model = make_model("lightgbm", lightgbm_params).fit(xs.reshape(len(xs), -1), ys, seed=seed)
        return model.predict(xe.reshape(len(xe), -1)), float("nan"), model
    model = fit(method, xs, ys, xt, classes=classes, settings=settings, seed=seed)
    kept = model.history[-1].get("n_kept", float("nan")) / len(xt)
    return model.predict(xe), kept, model


def run_case(
    Xs: np.ndarray,
    ys: np.ndarray,
    Xt: np.ndarray,
    Xe: np.ndarray,
    ye: np.ndarray,
    *,
    classes: Sequence[int],
    methods: Sequence[str],
    seeds: Sequence[int],
    settings: AdaptSettings | None = None,
    lightgbm_params: Mapping[str, Any] | None = None,
    fitted: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per (method, seed) in the order given: scores on ``(Xe, ye)`` of a model
    trained on ``(Xs, ys)`` and unlabelled ``Xt`` (``lightgbm``: on the source only).

    ``kept_share`` is the share of the target pool with a kept pseudo-label at the last
    epoch (NaN for methods without pseudo-labels). ``fitted``, where given, receives the
    model of the first seed of each method (so a caller need not train it again).
    """
    s = settings or AdaptSettings()
    xe = check_series("Xe (evaluation)", Xe)
    data = (np.asarray(Xs), np.asarray(ys), np.asarray(Xt), xe)
    rows = []
    for method in methods:
        for seed in seeds:
            start = time.perf_counter()
            predicted, kept, model = _one(method, data, classes, s, int(seed), lightgbm_params)
            if fitted is not None and seed == seeds[0]:
                fitted[method] = model
            row = {"method": method, "seed": int(seed), **scores(ye, predicted, classes)}
            row |= {"kept_share": kept, "n_source": len(Xs), "n_target": len(Xt), "n_eval": len(xe)}
            log.info(
                "%s seed %d: OA %.3f (%.1f s)", method, seed, row["oa"], time.perf_counter() - start
            )
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def in_domain_cv(
    Xe: np.ndarray,
    ye: np.ndarray,
    *,
    classes: Sequence[int],
    settings: AdaptSettings | None = None,
    seed: int = 0,
    folds: int = 5,
) -> float:
    """Mean OA of the ``augment`` CNN (today's crop-type CNN) in stratified ``folds``-fold cross-validation on
    the target's own labelled samples: an in-domain upper reference that no map uses.

    Each fold trains on the classes present in its training part (a class rarer than
    ``folds`` may be absent from one) and is scored with all of ``classes``.
    """
    from sklearn.model_selection import StratifiedKFold

    xe, ye = check_series("Xe (evaluation)", Xe), np.asarray(ye)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    oas = []
    for train, test in cv.split(xe.reshape(len(xe), -1), ye):
        model = fit(
            "augment",
            xe[train],
            ye[train],
            xe[train],
            classes=np.unique(ye[train]),
            settings=settings,
            seed=seed,
        )
        oas.append(scores(ye[test], model.predict(xe[test]), classes)["oa"])
    return float(np.mean(oas))


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample s.d. over seeds of each metric, one row per method (order kept)."""
    g = table.groupby("method", sort=False)[list(METRICS)]
    out = g.agg(["mean", "std"])
    out.columns = [f"{m}_{stat.replace('std', 'sd')}" for m, stat in out.columns]
    out.insert(0, "n_seeds", table.groupby("method", sort=False).size())
    return out.reset_index()
