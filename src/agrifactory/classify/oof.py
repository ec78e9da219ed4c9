"""Out-of-fold probabilities of the training samples (for models stacked on this one).

A model's probabilities at its own training samples are over-confident: a model
stacked on them (the integration stage's) would learn to trust it blindly. Each
sample's out-of-fold probability comes from the same model kind and settings fitted
on the other folds of the training samples, which never saw it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from agrifactory.classify.dataset import drop_rare_classes, region_rows
from agrifactory.classify.legend import LEGENDS
from agrifactory.classify.train import labelled_rows, train_from_table

#: Folds of the out-of-fold probabilities.
FOLDS = 5


def stratified_folds(y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """A fold number per row, each class spread evenly over the folds (seeded)."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    for code in np.unique(y):
        idx = np.flatnonzero(y == code)
        fold[rng.permutation(idx)] = np.arange(len(idx)) % folds
    return fold


def out_of_fold(
    table: pd.DataFrame,
    product: str,
    region: str,
    *,
    kind: str,
    params: Mapping[str, Any] | None,
    features: Sequence[str] | None,
    seed: int,
    min_count: int,
    folds: int = FOLDS,
) -> pd.DataFrame:
    """``sample_id``, ``fold`` and ``p_<class>`` of every training sample of ``region``:
    its probabilities under the model fitted on the other folds."""
    legend = LEGENDS[product]
    rows, _ = drop_rare_classes(region_rows(table, product, region), product, min_count, "split")
    train = rows[rows["split"] == "train"].reset_index(drop=True)
    train, y, names = labelled_rows(train, product, legend, features, None)
    fold = stratified_folds(y, folds, seed)
    names_by_code = {v: k for k, v in legend.items()}
    out = []
    for k in range(folds):
        model, _ = train_from_table(
            train[fold != k].assign(split="train"),
            product,
            legend,
            kind=kind,
            params=params,
            features=features,
            seed=seed,
            split_column="split",
        )
        held = fold == k
        proba = model.predict_proba(train.loc[held, names])
        part = pd.DataFrame(proba, columns=[f"p_{names_by_code[int(c)]}" for c in model.classes_])
        part.insert(0, "sample_id", train.loc[held, "sample_id"].to_numpy())
        part.insert(1, "fold", k)
        out.append(part)
    return pd.concat(out, ignore_index=True).sort_values("sample_id", kind="stable")
