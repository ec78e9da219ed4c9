"""Leave-one-out accuracy of a classifier on a small labelled sample.

With a handful of labelled points (e.g. the 18 of the sits Sinop example) a held-out
split or a stratified map sample is not possible: each point is predicted by a model
trained on all the others, with the sample's own labels (no product legend). The
overall accuracy of n points has a binomial standard error of sqrt(p (1 - p) / n):
about 0.1 at n = 18, so it is a small-sample figure, not a map accuracy.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pyproj import Transformer

from agrifactory.classify.base import select_features
from agrifactory.classify.stack import TileStack
from agrifactory.errors import DataError

log = logging.getLogger(__name__)


def features_at_samples(
    samples: pd.DataFrame, stacks: Mapping[str, TileStack], label_column: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The input stack's values at each sample point (the pixel holding it).

    ``samples``: a GeoDataFrame in EPSG:4326 with ``sample_id`` and ``label_column``.
    Returns ``(table, excluded)``: ``table`` has ``sample_id, tile_id, label`` and one
    column per band; ``excluded`` lists points outside every tile or on missing data.
    """
    rows, inside = [], np.zeros(len(samples), dtype=bool)
    for tile_id, stack in stacks.items():
        to_grid = Transformer.from_crs("EPSG:4326", stack.crs, always_xy=True)
        x, y = to_grid.transform(samples.geometry.x.to_numpy(), samples.geometry.y.to_numpy())
        col, row = (~stack.transform) * (np.asarray(x), np.asarray(y))
        col, row = np.floor(col).astype(int), np.floor(row).astype(int)
        here = (row >= 0) & (row < stack.shape[0]) & (col >= 0) & (col < stack.shape[1])
        here &= ~inside
        inside |= here
        if not here.any():
            continue
        data = stack.values_at(np.asarray(x)[here], np.asarray(y)[here])
        part = pd.DataFrame(data, columns=stack.feature_names)
        part.insert(0, "label", samples[label_column].astype(str).to_numpy()[here])
        part.insert(0, "tile_id", tile_id)
        part.insert(0, "sample_id", samples["sample_id"].astype(str).to_numpy()[here])
        rows.append(part)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    missing = table.drop(columns=["sample_id", "tile_id", "label"]).isna().any(axis=1)
    excluded = pd.concat(
        [
            pd.DataFrame({"sample_id": samples["sample_id"][~inside], "reason": "outside tiles"}),
            pd.DataFrame({"sample_id": table["sample_id"][missing], "reason": "missing data"}),
        ],
        ignore_index=True,
    )
    return table.loc[~missing].reset_index(drop=True), excluded


def leave_one_out(
    table: pd.DataFrame,
    *,
    kind: str,
    params: Mapping[str, Any] | None = None,
    features: Sequence[str] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Predict each row of ``table`` with a model fitted on all the other rows.

    ``table``: ``sample_id, label`` and band columns (:func:`features_at_samples`);
    ``features``: glob patterns of the bands used (None - all). Returns
    ``sample_id, label, predicted, correct``.
    """
    from agrifactory.classify.models import make_model

    bands = [c for c in table.columns if c not in ("sample_id", "tile_id", "label")]
    names = select_features(bands, features)
    labels = sorted(table["label"].unique())
    if len(labels) < 2:
        raise DataError(f"leave-one-out needs two classes or more, got {labels}")
    codes = table["label"].map({name: i for i, name in enumerate(labels)}).to_numpy()
    X = table[names].to_numpy(dtype=np.float64)
    predicted = []
    for i in range(len(table)):
        keep = np.arange(len(table)) != i
        model = make_model(kind, params).fit(
            X[keep], codes[keep], feature_names=names, class_names=dict(enumerate(labels)),
            seed=seed,
        )  # fmt: skip
        predicted.append(labels[int(model.predict(X[i : i + 1])[0])])
    out = table[["sample_id", "label"]].assign(predicted=predicted)
    out["correct"] = out["label"] == out["predicted"]
    log.info("leave-one-out: %d of %d correct", int(out["correct"].sum()), len(out))
    return out


def loo_report(predictions: pd.DataFrame) -> pd.DataFrame:
    """Per class (and ``all``): points, correct, accuracy, and the overall accuracy's
    binomial standard error sqrt(p (1 - p) / n)."""
    per_class = predictions.groupby("label")["correct"].agg(n="size", correct="sum")
    per_class.loc["all"] = [len(predictions), int(predictions["correct"].sum())]
    out = per_class.reset_index().rename(columns={"label": "class"})
    out["accuracy"] = out["correct"] / out["n"]
    out["std_error"] = np.sqrt(out["accuracy"] * (1 - out["accuracy"]) / out["n"])
    return out
