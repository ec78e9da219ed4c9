"""Active learning (CropLayer's strategy): propose the next samples to label where the
model is least sure, spread out in space; write them for a person to label; and
simulate rounds with known labels (an oracle) against random sampling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import points

from agrifactory.classify.accuracy import confusion_matrix, macro_f1, overall_accuracy
from agrifactory.errors import ConfigError, DataError
from agrifactory.io.files import atomic_path

log = logging.getLogger(__name__)

#: GeoPackage layer of the proposals.
PROPOSALS_LAYER = "proposals"


def uncertainty(proba: np.ndarray, method: str = "margin") -> np.ndarray:
    """Uncertainty of each row of class probabilities, on 0..1 (1: most uncertain).

    ``margin``: ``1 - (p_first - p_second)``; ``entropy``: Shannon entropy divided by
    ``log K``.
    """
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise DataError(f"probabilities must be (n, K>=2), got shape {p.shape}")
    if method == "margin":
        top = np.sort(p, axis=1)[:, -2:]
        return 1.0 - (top[:, 1] - top[:, 0])
    if method == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=1)
        return h / np.log(p.shape[1])
    raise ConfigError(f"uncertainty method must be 'margin' or 'entropy', got {method!r}")


def propose_samples(
    proba: np.ndarray,
    xy: np.ndarray,
    k: int,
    *,
    method: str = "margin",
    min_distance: float = 0.0,
    labelled_xy: np.ndarray | None = None,
    priority: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of up to ``k`` pool samples to label next, most uncertain first.

    Candidates are taken in order of decreasing uncertainty (ties by index), or with a
    ``priority`` per sample (e.g. how likely its block of the map is wrong) in order
    of decreasing priority first and uncertainty among equal priorities; one is
    accepted only if it lies at least ``min_distance`` (units of ``xy``) from every
    sample accepted before and from every already labelled sample, and, with
    ``groups`` (e.g. the sample's block), only if no sample of its group was accepted
    before in this call. Fewer than ``k``
    come back (with a log warning) when the spacing leaves no more candidates.
    """
    xy = np.asarray(xy, dtype=np.float64)
    score = uncertainty(proba, method)
    if xy.shape != (len(score), 2):
        raise DataError(f"coordinates of shape {xy.shape} for {len(score)} pool samples")
    if k < 0 or min_distance < 0:
        raise ConfigError(f"k and min_distance must be non-negative, got {k}, {min_distance}")
    if priority is None:
        order = np.argsort(-score, kind="stable")
    else:
        order = np.lexsort((np.arange(len(score)), -score, -np.asarray(priority, float)))
    taken = (
        np.empty((0, 2)) if labelled_xy is None else np.asarray(labelled_xy, float).reshape(-1, 2)
    )
    picks: list[int] = []
    used: set = set()
    d2 = min_distance**2
    for i in order:
        if len(picks) == k:
            break
        if groups is not None and groups[i] in used:
            continue
        if d2 > 0 and len(taken):
            if np.min(np.sum((taken - xy[i]) ** 2, axis=1)) < d2:
                continue
        picks.append(int(i))
        taken = np.vstack([taken, xy[i]])
        if groups is not None:
            used.add(groups[i])
    if len(picks) < k:
        log.warning("only %d of %d proposals fit a spacing of %g", len(picks), k, min_distance)
    return np.asarray(picks, dtype=np.int64)


def proposals_frame(
    xy: np.ndarray,
    picks: np.ndarray,
    proba: np.ndarray,
    classes: Sequence[int],
    *,
    crs: Any,
    ids: Sequence[Any] | None = None,
    class_names: dict[int, str] | None = None,
    method: str = "margin",
) -> gpd.GeoDataFrame:
    """Proposed samples as points for a person to label.

    Columns: ``rank``, ``pool_id``, ``uncertainty``, ``predicted`` (code),
    ``predicted_name``, ``p_max``, and an empty ``label`` to fill in.
    """
    xy = np.asarray(xy, dtype=np.float64)
    picks = np.asarray(picks, dtype=np.int64)
    p = np.asarray(proba)[picks]
    best = np.argmax(p, axis=1)
    codes = np.asarray(classes)[best]
    return gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(picks) + 1),
            "pool_id": np.asarray(ids)[picks] if ids is not None else picks,
            "uncertainty": uncertainty(np.asarray(proba), method)[picks],
            "predicted": codes.astype(np.int64),
            "predicted_name": [(class_names or {}).get(int(c), str(c)) for c in codes],
            "p_max": p[np.arange(len(picks)), best],
            "label": pd.Series([None] * len(picks), dtype="string"),
        },
        geometry=points(xy[picks]),
        crs=crs,
    )


def _fit_labelled(make_model, X, y, labelled, seed, feature_names=None):
    sub = y[labelled]
    classes, counts = np.unique(sub, return_counts=True)
    usable = np.isin(sub, classes[counts >= 2])
    if len(np.unique(sub[usable])) < 2:
        return None
    return make_model().fit(
        X[labelled][usable], sub[usable], feature_names=feature_names, seed=seed
    )


def _score(model: Any, X_test: np.ndarray, y_test: np.ndarray, classes: list) -> tuple:
    """Overall accuracy and macro-F1 on the test set (NaN without a model)."""
    if model is None:
        return float("nan"), float("nan")
    cm = confusion_matrix(y_test, model.predict(X_test), classes)
    return overall_accuracy(cm), macro_f1(cm)


def _next_batch(
    model: Any,
    X_pool: np.ndarray,
    xy_pool: np.ndarray,
    labelled: np.ndarray,
    batch: int,
    method: str,
    min_distance: float,
    rng: np.random.Generator,
    priority: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """The pool rows to label next: the most uncertain (spread in space) under ``model``;
    with ``priority`` (a priority and a group per pool row) the most uncertain of each of
    the groups of highest priority, one per group; topped up at random when spacing
    runs out; at random without a model."""
    pool = np.flatnonzero(~labelled)
    if model is None:
        return rng.choice(pool, size=batch, replace=False)
    proba = model.predict_proba(X_pool[pool])
    picks = propose_samples(
        proba,
        xy_pool[pool],
        batch,
        method=method,
        min_distance=min_distance,
        labelled_xy=xy_pool[labelled],
        priority=None if priority is None else priority[0][pool],
        groups=None if priority is None else priority[1][pool],
    )
    new = pool[picks]
    if len(new) < batch:  # spacing exhausted: fill at random
        rest = np.setdiff1d(pool, new)
        new = np.concatenate([new, rng.choice(rest, size=batch - len(new), replace=False)])
    return new


def simulate_active_learning(
    make_model: Callable[[], Any],
    X_pool: np.ndarray,
    y_pool: np.ndarray,
    xy_pool: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    initial: int = 20,
    batch: int = 10,
    rounds: int = 10,
    method: str = "margin",
    min_distance: float = 0.0,
    seed: int = 0,
    priority: tuple[np.ndarray, np.ndarray] | None = None,
    feature_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Accuracy versus number of labels: uncertainty sampling against random sampling
    and, given a ``priority`` and a group per pool sample, against priority-guided
    sampling (``correctness``: CropLayer's ranking of blocks by their predicted
    incorrectness; each round the most uncertain sample of each of the ``batch`` blocks
    most likely wrong).

    Every strategy starts from the same random ``initial`` labels; each round adds
    ``batch`` labels from the pool, the oracle (``y_pool``) answers, the model is
    refitted and scored on the test set. Classes with fewer than two labels so far
    wait until they have two (a model needs two per class). ``feature_names`` name the
    columns of ``X_pool`` and ``X_test`` for models that pick features by name (the
    ensemble's members).

    Returns
    -------
    DataFrame
        ``strategy`` (``uncertainty`` | ``random`` | ``correctness``), ``round``, ``n_labels``,
        ``overall_accuracy``, ``macro_f1``.
    """
    X_pool = np.asarray(X_pool, dtype=np.float64)
    y_pool = np.asarray(y_pool)
    xy_pool = np.asarray(xy_pool, dtype=np.float64)
    n = len(y_pool)
    if initial + batch * rounds > n:
        raise ConfigError(f"{initial} + {rounds} x {batch} labels exceed the pool of {n}")
    classes = np.unique(np.concatenate([y_pool, np.asarray(y_test)])).tolist()
    rng = np.random.default_rng(seed)
    start = rng.choice(n, size=initial, replace=False)
    rows = []
    strategies = ("uncertainty", "random") + (() if priority is None else ("correctness",))
    for strategy in strategies:
        labelled = np.zeros(n, dtype=bool)
        labelled[start] = True
        srng = np.random.default_rng(seed + 1)
        for r in range(rounds + 1):
            model = _fit_labelled(make_model, X_pool, y_pool, labelled, seed, feature_names)
            oa, f1 = _score(model, X_test, y_test, classes)
            rows.append(
                {
                    "strategy": strategy,
                    "round": r,
                    "n_labels": int(labelled.sum()),
                    "overall_accuracy": oa,
                    "macro_f1": f1,
                }
            )
            if r == rounds:
                break
            uncertain = None if strategy == "random" else model
            new = _next_batch(
                uncertain,
                X_pool,
                xy_pool,
                labelled,
                batch,
                method,
                min_distance,
                srng,
                priority=priority if strategy == "correctness" else None,
            )
            labelled[new] = True
        log.info("active learning (%s): final OA %.4f", strategy, rows[-1]["overall_accuracy"])
    return pd.DataFrame(rows)


def plot_learning_curve(
    curve: pd.DataFrame, path: str | Path, *, metric: str = "overall_accuracy", title: str = ""
) -> Path:
    """Plot ``metric`` against the number of labels, one line per strategy (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=120)
    for strategy, group in curve.groupby("strategy", sort=False):
        ax.plot(group["n_labels"], group[metric], marker="o", label=f"{strategy} sampling")
    ax.set_xlabel("number of labelled samples")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(title or f"active learning: {metric.replace('_', ' ')} vs labels")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return Path(path)
