"""Cross-region transfer: train in one region, predict another, and report the
accuracy drop with and without temporal augmentation."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from agrifactory.classify.accuracy import confusion_matrix, macro_f1, overall_accuracy
from agrifactory.classify.models import Classifier, make_model
from agrifactory.classify.train import split_validation
from agrifactory.errors import DataError

log = logging.getLogger(__name__)

#: Augmentation used by :func:`cnn_factory` when ``augment`` is true.
DEFAULT_AUGMENT = {
    "augment_shift": 2.0,
    "augment_scale": 0.15,
    "augment_magnitude": 0.1,
    "augment_p": 0.5,
}


def cnn_factory(
    params: Mapping[str, Any] | None = None, augment: Mapping[str, float] | None = None
) -> Callable[[bool], Classifier]:
    """``make(augment)`` -> a CNN with ``params``, plus ``augment`` settings when true."""
    base = {k: v for k, v in dict(params or {}).items() if not k.startswith("augment_")}
    aug = dict(DEFAULT_AUGMENT if augment is None else augment)

    def make(with_augmentation: bool) -> Classifier:
        return make_model("cnn1d", {**base, **(aug if with_augmentation else {})})

    return make


#: Columns of the table of :func:`transfer_experiment`.
COLUMNS = [
    "augmentation",
    "within_oa",
    "transfer_oa",
    "oa_drop",
    "within_macro_f1",
    "transfer_macro_f1",
    "macro_f1_drop",
    "n_train",
    "n_target",
]


def _source_split(
    y_source: np.ndarray, fraction: float, holdout: np.ndarray | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, hold-out)`` of the source: the given mask or a stratified split."""
    if holdout is None:
        return split_validation(y_source, fraction, seed)
    mask = np.asarray(holdout, dtype=bool)
    if mask.shape != y_source.shape or mask.all() or not mask.any():
        raise DataError(
            f"source_holdout must mark some but not all of the {len(y_source)} source samples"
        )
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def transfer_experiment(
    make: Callable[[bool], Classifier],
    X_source: np.ndarray,
    y_source: np.ndarray,
    X_target: np.ndarray,
    y_target: np.ndarray,
    *,
    holdout_fraction: float = 0.3,
    source_holdout: np.ndarray | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Train on the source region, score on a source hold-out and on the target region.

    Parameters
    ----------
    make
        ``make(augment: bool)`` returns a fresh model, with temporal augmentation when
        ``augment`` is true (see :func:`cnn_factory`).
    X_source, y_source, X_target, y_target
        Features and class codes of the two regions (same feature columns).
    holdout_fraction
        Stratified share of the source kept out of training to measure the
        within-region accuracy.
    source_holdout
        Boolean mask of the source samples to hold out instead (e.g. the samples'
        own validation split); ``holdout_fraction`` is then not used.

    Returns
    -------
    DataFrame
        One row per setting (``augmentation`` False / True): ``within_oa``,
        ``transfer_oa``, ``oa_drop`` (within - transfer), ``within_macro_f1``,
        ``transfer_macro_f1``, ``macro_f1_drop``, ``n_train``, ``n_target``.
    """
    X_source = np.asarray(X_source, dtype=np.float64)
    X_target = np.asarray(X_target, dtype=np.float64)
    y_source = np.asarray(y_source)
    y_target = np.asarray(y_target)
    classes = np.unique(np.concatenate([y_source, y_target])).tolist()
    train, hold = _source_split(y_source, holdout_fraction, source_holdout, seed)
    rows = []
    for augment in (False, True):
        model = make(augment).fit(X_source[train], y_source[train], seed=seed)
        cm_in = confusion_matrix(y_source[hold], model.predict(X_source[hold]), classes)
        cm_out = confusion_matrix(y_target, model.predict(X_target), classes)
        row = {
            "augmentation": augment,
            "within_oa": overall_accuracy(cm_in),
            "transfer_oa": overall_accuracy(cm_out),
            "within_macro_f1": macro_f1(cm_in),
            "transfer_macro_f1": macro_f1(cm_out),
            "n_train": len(train),
            "n_target": len(y_target),
        }
        row["oa_drop"] = row["within_oa"] - row["transfer_oa"]
        row["macro_f1_drop"] = row["within_macro_f1"] - row["transfer_macro_f1"]
        log.info(
            "transfer (augmentation %s): within OA %.4f, transfer OA %.4f, drop %.4f",
            augment,
            row["within_oa"],
            row["transfer_oa"],
            row["oa_drop"],
        )
        rows.append(row)
    return pd.DataFrame(rows)[COLUMNS]
