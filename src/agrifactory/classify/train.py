"""Train one product's model from a training table, with a held-out validation report."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from agrifactory.classify.accuracy import accuracy_table
from agrifactory.classify.base import select_features
from agrifactory.classify.models import Classifier, make_model
from agrifactory.classify.rules import PRODUCTS, ClassifySettings
from agrifactory.classify.separability import JM_GOOD, JM_RESELECT, reselect_samples
from agrifactory.errors import ConfigError, DataError

log = logging.getLogger(__name__)

#: Model kind of each product by default (the ``classify.<product>.kind`` defaults).
DEFAULT_KIND = {p: getattr(ClassifySettings(), p).kind for p in PRODUCTS}


def split_validation(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified random split: indices ``(train, validation)``; ``fraction`` 0 keeps all."""
    y = np.asarray(y)
    if not 0 <= fraction < 1:
        raise ConfigError(f"validation_fraction must be in [0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_val = int(round(fraction * len(idx)))
        n_val = min(n_val, len(idx) - 2)  # keep two to train on
        val.append(idx[: max(n_val, 0)])
        train.append(idx[max(n_val, 0) :])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def train_from_table(
    table: pd.DataFrame,
    label_column: str,
    legend: Mapping[str, int],
    *,
    kind: str | None = None,
    params: Mapping[str, Any] | None = None,
    features: Sequence[str] | None = None,
    seed: int = 0,
    validation_fraction: float = 0.2,
    split_column: str | None = None,
    reselect_below: float | None = None,
) -> tuple[Classifier, pd.DataFrame]:
    """Fit the model of one product on the rows of ``table`` that carry ``label_column``.

    Parameters
    ----------
    table
        Training table (``TrainingSet.table``): label columns with legend codes and
        one column per feature.
    label_column, legend
        The product's label column and legend (label -> code).
    kind, params
        Model kind (``lightgbm``, ``svm``, ``cnn1d``; default by product) and its
        parameters.
    features
        Glob patterns of the feature columns to use (default: every column that is not
        an id, coordinate or label column).
    seed
        Seed of the validation split and of the model.
    validation_fraction
        Share of each class held out for the validation report (stratified), when
        ``split_column`` is not given.
    split_column
        Column with ``train`` / ``validation`` per row, to use a given split instead.
    reselect_below
        If set (1.8 in Chen et al. 2021), class pairs whose Jeffries-Matusita distance
        is below it get their ambiguous training samples set aside
        (:func:`~agrifactory.classify.separability.reselect_samples`); the set-aside
        samples are recorded in the model's metrics.

    Returns
    -------
    model
        The fitted model; ``model.metrics`` holds the validation report (records of
        :func:`~agrifactory.classify.accuracy.accuracy_table`), sample counts and,
        for the SVM, the JM distances.
    report
        The validation report as a tidy DataFrame (empty without validation rows).
    """
    if label_column not in table.columns:
        raise ConfigError(f"training table has no label column {label_column!r}")
    kind = kind or DEFAULT_KIND.get(label_column)
    if kind is None:
        raise ConfigError(f"no model kind given for {label_column!r}")
    rows, y, names = labelled_rows(table, label_column, legend, features, split_column)
    if split_column is not None:
        train, val = given_split(rows, split_column)
    else:
        train, val = split_validation(y, validation_fraction, seed)
    X = rows[names]
    X_train, y_train = X.iloc[train], y[train]
    reselected = None
    if reselect_below is not None:
        keep, reselected = _reselect(X_train, y_train, rows, train, reselect_below, label_column)
        X_train, y_train = X_train.iloc[np.flatnonzero(keep)], y_train[keep]
    names_by_code = {v: k for k, v in legend.items()}
    model = make_model(kind, params)
    model.fit(X_train, y_train, class_names=names_by_code, seed=seed)
    model.metrics.update(_training_metrics(label_column, y_train, len(val), names_by_code))
    if reselected is not None:
        model.metrics["reselected"] = reselected.to_dict(orient="records")
        model.metrics["reselect_below"] = reselect_below
    report = pd.DataFrame()
    if len(val):
        report = validation_report(model, X.iloc[val], y[val], legend, label_column)
    return model, report


def _training_metrics(
    label_column: str, y_train: np.ndarray, n_validation: int, names: Mapping[int, str]
) -> dict[str, Any]:
    """The sample counts recorded in a model's metrics."""
    return {
        "product": label_column,
        "n_train": int(len(y_train)),
        "n_validation": int(n_validation),
        "train_counts": {
            names[int(c)]: int(n)
            for c, n in zip(*np.unique(y_train, return_counts=True), strict=True)
        },
    }


def labelled_rows(
    table: pd.DataFrame,
    label_column: str,
    legend: Mapping[str, int],
    features: Sequence[str] | None,
    split_column: str | None,
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """The rows that carry ``label_column``, their codes and the selected feature names."""
    reserved = {"sample_id", "tile_id", "region", "x", "y", "year", split_column, *DEFAULT_KIND}
    candidates = [c for c in table.columns if c not in reserved and c != label_column]
    names = select_features(candidates, features)
    rows = table[table[label_column].notna()].reset_index(drop=True)
    y = rows[label_column].astype(np.int64).to_numpy()
    unknown = sorted(set(np.unique(y).tolist()) - set(legend.values()))
    if unknown:
        raise DataError(f"{label_column}: codes {unknown} are not in the legend {dict(legend)}")
    return rows, y, names


def given_split(rows: pd.DataFrame, split_column: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, validation)`` of the rows from their ``split_column``."""
    if split_column not in rows.columns:
        raise ConfigError(f"training table has no split column {split_column!r}")
    bad = sorted(set(rows[split_column].astype(str)) - {"train", "validation"})
    if bad:
        raise DataError(f"split column {split_column!r} holds {bad}; expected train/validation")
    split = rows[split_column].astype(str).to_numpy()
    return np.flatnonzero(split == "train"), np.flatnonzero(split == "validation")


def _reselect(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    rows: pd.DataFrame,
    train: np.ndarray,
    below: float,
    label_column: str,
) -> tuple[np.ndarray, pd.DataFrame | None]:
    """Keep mask of the training rows and the set-aside samples (with their ids)."""
    keep, reselected = reselect_samples(
        X_train.to_numpy(dtype=float), y_train, below=below, target=max(JM_GOOD, below)
    )
    if reselected is not None and len(reselected):
        reselected["sample_id"] = (
            rows["sample_id"].to_numpy()[train][reselected["index"]]
            if "sample_id" in rows
            else reselected["index"]
        )
        log.warning("%s: %d ambiguous training samples set aside", label_column, int((~keep).sum()))
    return keep, reselected


def validation_report(
    model: Classifier,
    X_val: pd.DataFrame,
    y_val: np.ndarray,
    legend: Mapping[str, int],
    label_column: str,
) -> pd.DataFrame:
    """Score the model on the held-out rows; the report also goes into its metrics."""
    pred = model.predict(X_val)
    report = accuracy_table(y_val, pred, legend, product=label_column)
    model.metrics["validation"] = report.to_dict(orient="records")
    oa = report.loc[report.metric == "overall_accuracy", "value"].iloc[0]
    kp = report.loc[report.metric == "kappa", "value"].iloc[0]
    log.info(
        "%s (%s): validation OA %.4f, kappa %.4f on %d samples",
        label_column,
        model.kind,
        oa,
        kp,
        len(y_val),
    )
    return report


__all__ = ["DEFAULT_KIND", "JM_RESELECT", "split_validation", "train_from_table"]
