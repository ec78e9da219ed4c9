"""Model evaluation: stratified k-fold cross-validation of several models in one run,
and a 1-nearest-neighbour (Euclidean) baseline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agrifactory.classify.accuracy import confusion_matrix, macro_f1, overall_accuracy
from agrifactory.errors import InputError

log = logging.getLogger(__name__)


def read_ucr_tsv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a UCR archive ``.tsv`` file: the class label, then the series, per row.

    Returns ``X (n, t)`` float64 and integer labels ``y``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "does not exist", "the UCR data live in ../shared/data/ucr_crop")
    data = np.loadtxt(path, delimiter="\t", dtype=np.float64, ndmin=2)
    if data.shape[1] < 3 or not np.all(np.isfinite(data)):
        raise InputError(path, f"is not a complete UCR table (shape {data.shape})")
    y = data[:, 0]
    if np.any(y != np.round(y)):
        raise InputError(path, "has non-integer class labels in column 1")
    return data[:, 1:], y.astype(np.int64)


def stratified_subset(y: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of up to ``per_class`` random samples of every class."""
    rng = np.random.default_rng(seed)
    picks = [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in np.unique(y)]
    return np.sort(np.concatenate(picks))


class NearestNeighbour:
    """1-nearest-neighbour on Euclidean distance (the classic time-series baseline)."""

    def fit(self, X: np.ndarray, y: np.ndarray, **_: Any) -> NearestNeighbour:
        from sklearn.neighbors import KNeighborsClassifier

        self.model_ = KNeighborsClassifier(n_neighbors=1, algorithm="brute", n_jobs=1)
        self.model_.fit(np.asarray(X, dtype=np.float64), np.asarray(y))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(np.asarray(X, dtype=np.float64))


def cross_validate(
    models: Mapping[str, Callable[[], Any]],
    X: np.ndarray,
    y: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 0,
    only: Sequence[int] | None = None,
    jobs: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified k-fold cross-validation of every model on the same folds.

    Parameters
    ----------
    models
        Name -> factory of a fresh model with ``fit(X, y, seed=)`` and ``predict(X)``.
    X, y
        Features ``(n, f)`` and integer class codes.
    folds, seed
        Number of folds and the seed of the fold split (and of each model's fit).
    only
        Run only these folds (same split; the pooled scores then cover their test sets).
    jobs
        Fits run at once, each in its own process (``spawn``; the factories must then
        pickle, e.g. a class or :func:`functools.partial`, not a lambda). Every fit is
        seeded as in a serial run, so the results do not depend on ``jobs``; the
        seconds are each fit's own wall time.

    Returns
    -------
    per_fold
        ``model, fold, n_test, overall_accuracy, macro_f1, seconds``.
    summary
        Per model: the OA and macro-F1 of the pooled out-of-fold predictions, the mean
        and standard deviation over folds, and the total seconds.
    """
    from sklearn.model_selection import StratifiedKFold

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    classes = np.unique(y).tolist()
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = [
        (k, train, test)
        for k, (train, test) in enumerate(splitter.split(X, y))
        if only is None or k in only
    ]
    data = {k: (X[train], y[train], X[test], y[test]) for k, train, test in splits}
    results = _run_fits(models, data, seed, jobs)
    pooled = {name: np.empty_like(y) for name in models}
    tested = np.zeros(len(y), dtype=bool)
    rows = []
    for k, _, test in splits:
        tested[test] = True
        for name in models:
            pred, seconds = results[(k, name)]
            pooled[name][test] = pred
            cm = confusion_matrix(y[test], pred, classes)
            rows.append(
                {
                    "model": name,
                    "fold": k,
                    "n_test": len(test),
                    "overall_accuracy": overall_accuracy(cm),
                    "macro_f1": macro_f1(cm),
                    "seconds": seconds,
                }
            )
    per_fold = pd.DataFrame(rows)
    summary_rows = []
    for name in models:
        cm = confusion_matrix(y[tested], pooled[name][tested], classes)
        f = per_fold[per_fold["model"] == name]
        summary_rows.append(
            {
                "model": name,
                "overall_accuracy": overall_accuracy(cm),
                "macro_f1": macro_f1(cm),
                "oa_fold_mean": f["overall_accuracy"].mean(),
                "oa_fold_sd": f["overall_accuracy"].std(ddof=1) if len(f) > 1 else np.nan,
                "f1_fold_mean": f["macro_f1"].mean(),
                "f1_fold_sd": f["macro_f1"].std(ddof=1) if len(f) > 1 else np.nan,
                "seconds": f["seconds"].sum(),
            }
        )
    return per_fold, pd.DataFrame(summary_rows)


def _run_fits(
    models: Mapping[str, Callable[[], Any]],
    data: Mapping[int, tuple[np.ndarray, ...]],
    seed: int,
    jobs: int,
) -> dict[tuple[int, str], tuple[np.ndarray, float]]:
    """:func:`_fit_predict` of every model on every fold's ``(X_train, y_train, X_test,
    y_test)``, ``jobs`` at a time; each fit is logged when it ends, with its OA."""
    results: dict[tuple[int, str], tuple[np.ndarray, float]] = {}
    tasks = [(k, name) for k in data for name in models]

    def submit_args(task: tuple[int, str]) -> tuple[Any, ...]:
        X_train, y_train, X_test, _ = data[task[0]]
        return models[task[1]], X_train, y_train, X_test, seed

    def done(task: tuple[int, str], result: tuple[np.ndarray, float]) -> None:
        results[task] = result
        oa = float(np.mean(result[0] == data[task[0]][3]))
        log.info("fold %d %s: OA %.4f (%.1f s)", *task, oa, result[1])

    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            done(task, _fit_predict(*submit_args(task)))
        return results
    import multiprocessing
    import pickle
    from concurrent.futures import ProcessPoolExecutor, as_completed

    for name, factory in models.items():
        try:
            pickle.dumps(factory)
        except Exception as exc:  # pickle raises several kinds for local objects
            raise TypeError(
                f"model {name!r}: its factory cannot be sent to another process ({exc}); "
                "with jobs > 1 give a class or functools.partial, not a lambda"
            ) from None
    context = multiprocessing.get_context("spawn")
    level = logging.getLogger().getEffectiveLevel()
    with ProcessPoolExecutor(
        min(jobs, len(tasks)), mp_context=context, initializer=_worker_logging, initargs=(level,)
    ) as pool:
        futures = {pool.submit(_fit_predict, *submit_args(t)): t for t in tasks}
        for future in as_completed(futures):
            done(futures[future], future.result())
    return results


def _fit_predict(
    factory: Callable[[], Any],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, float]:
    """One fit of a fresh model and its predictions on the test rows, with its seconds."""
    t0 = time.perf_counter()
    model = factory()
    model.fit(X_train, y_train, seed=seed)
    pred = np.asarray(model.predict(X_test))
    return pred, time.perf_counter() - t0


def _worker_logging(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(message)s")


def block_folds(shape: tuple[int, int], blocks: int = 4, folds: int = 4) -> np.ndarray:
    """Fold of every pixel for a spatially blocked split.

    The image is cut into ``blocks x blocks`` rectangles (as equal as the size allows);
    block ``(i, j)`` goes to fold ``(i + j) % folds``, so with ``folds == blocks`` every
    fold holds one block of each block row and column (spread over the image, never
    two neighbours side by side). Whole blocks are in train or test, never split.
    """
    rows, cols = shape
    if blocks < 1 or folds < 2 or blocks > min(rows, cols):
        raise ValueError(f"blocks={blocks}, folds={folds} do not fit an image of {shape}")
    bi = np.minimum(np.arange(rows) * blocks // rows, blocks - 1)
    bj = np.minimum(np.arange(cols) * blocks // cols, blocks - 1)
    return ((bi[:, None] + bj[None, :]) % folds).astype(np.int64)


def grouped_predictions(
    make: Callable[[], Any], X: np.ndarray, y: np.ndarray, fold: np.ndarray, *, seed: int = 0
) -> tuple[np.ndarray, pd.DataFrame]:
    """Out-of-fold predictions with the folds given (e.g. :func:`block_folds`).

    A fold whose training part holds a single class predicts that class (no model can
    be fitted; recorded in the per-fold table as ``constant``).

    Returns
    -------
    pred
        The pooled out-of-fold predictions.
    per_fold
        ``fold, n_train, n_test, train_classes, test_classes, constant, overall_accuracy``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    fold = np.asarray(fold)
    pred = np.empty_like(y)
    rows = []
    for k in np.unique(fold):
        test, train = fold == k, fold != k
        train_classes = np.unique(y[train])
        constant = len(train_classes) < 2
        if constant:
            pred[test] = train_classes[0]
        else:
            pred[test] = make().fit(X[train], y[train], seed=seed).predict(X[test])
        rows.append(
            {
                "fold": int(k),
                "n_train": int(train.sum()),
                "n_test": int(test.sum()),
                "train_classes": train_classes.tolist(),
                "test_classes": np.unique(y[test]).tolist(),
                "constant": constant,
                "overall_accuracy": float(np.mean(pred[test] == y[test])),
            }
        )
    return pred, pd.DataFrame(rows)
