"""The classifiers' common base: one interface to fit with a seed, predict classes and
probabilities, save and load with config and metrics; and the checks at its edge.

:mod:`~agrifactory.classify.models` (LightGBM, SVM) and :mod:`~agrifactory.classify.cnn`
(1-D CNN) subclass :class:`Classifier`; both import this module, and
:mod:`~agrifactory.classify.models` imports the CNN (no import cycle).

A saved model is a directory::

    model_dir/
      config.json    kind, params, classes, class_names, feature_names, seed, state
      metrics.json   whatever was measured (validation report, JM distances, ...)
      model.txt      LightGBM booster (text)      | model.joblib (scikit-learn)
                                                  | weights.pt (torch state_dict)
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from agrifactory import __version__
from agrifactory.errors import ConfigError, DataError, InputError

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
FORMAT_VERSION = 1


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        v = float(obj)
        return None if not np.isfinite(v) else v
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def as_matrix(
    X: pd.DataFrame | np.ndarray, feature_names: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Features as a float64 ``(n, f)`` matrix and their names.

    A DataFrame gives its column names; an array takes ``feature_names`` (default
    ``f0, f1, ...``).
    """
    if isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns]
        if feature_names is not None and list(feature_names) != names:
            missing = [str(n) for n in feature_names if n not in X.columns]
            if missing:
                raise DataError(f"features {missing} are not columns of the feature table")
            X = X[list(feature_names)]
            names = list(feature_names)
        arr = X.to_numpy(dtype=np.float64)
    else:
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2:
            raise DataError(f"features must be a 2-D (samples, features) matrix, got {arr.shape}")
        names = (
            [f"f{i}" for i in range(arr.shape[1])]
            if feature_names is None
            else [str(n) for n in feature_names]
        )
        if len(names) != arr.shape[1]:
            raise DataError(f"{len(names)} feature names for {arr.shape[1]} feature columns")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"duplicate feature names {dup}")
    return arr, names


def select_features(columns: Sequence[str], patterns: Sequence[str] | None) -> list[str]:
    """Feature columns matching any glob pattern (``ndvi_*``), in column order.

    ``None`` selects every column. A pattern that matches nothing is an error.
    """
    columns = [str(c) for c in columns]
    if patterns is None:
        return columns
    unmatched = [p for p in patterns if not fnmatch.filter(columns, p)]
    if unmatched:
        raise ConfigError(
            f"feature patterns {unmatched} match no feature; available: {columns[:20]}"
            f"{' ...' if len(columns) > 20 else ''}"
        )
    return [c for c in columns if any(fnmatch.fnmatchcase(c, p) for p in patterns)]


def check_finite(X: np.ndarray, names: Sequence[str], *, allow_nan: bool = False) -> None:
    """Raise :class:`DataError` naming every feature that holds NaN or infinity (only
    infinity with ``allow_nan``: models that handle missing values themselves)."""
    bad = np.isinf(X) if allow_nan else ~np.isfinite(X)
    if bad.any():
        cols = np.flatnonzero(bad.any(axis=0))
        detail = ", ".join(f"{names[c]} ({int(bad[:, c].sum())} rows)" for c in cols[:10])
        more = f" and {len(cols) - 10} more" if len(cols) > 10 else ""
        raise DataError(
            f"features hold NaN or infinite values: {detail}{more}; fill or mask them "
            "before training or prediction (pixels without data are nodata, not features)"
        )


def check_labels(y: np.ndarray, class_names: Mapping[int, str] | None = None) -> np.ndarray:
    """Integer class codes with at least two classes of at least two samples each."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"labels must be a 1-D vector, got shape {y.shape}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise DataError("labels must be integer class codes (found NaN or fractions)")
    elif y.dtype.kind not in "iu":
        raise DataError(f"labels must be integer class codes, got dtype {y.dtype}")
    y = y.astype(np.int64)
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise DataError(f"training needs at least two classes, found only {classes.tolist()}")
    single = classes[counts < 2]
    if single.size:
        named = [
            f"{c} ({class_names[c]})" if class_names and c in class_names else str(c)
            for c in single.tolist()
        ]
        raise DataError(
            f"class {', '.join(named)} has only one training sample; add samples or drop "
            "the class from the legend (training_set reports such classes with min_count)"
        )
    return y


class Classifier:
    """Common behaviour of the factory's classifiers (subclasses fill in the model)."""

    kind: ClassVar[str] = ""
    #: Whether the model takes NaN features (missing values) in training and prediction.
    allow_nan: ClassVar[bool] = False
    default_params: ClassVar[dict[str, Any]] = {}
    weights_file: ClassVar[str] = ""

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.default_params))
        if unknown:
            raise ConfigError(
                f"{type(self).__name__}: unknown parameters {unknown}; known: "
                f"{sorted(self.default_params)}"
            )
        self.params: dict[str, Any] = {**self.default_params, **params}
        self.classes_: np.ndarray | None = None
        self.class_names_: dict[int, str] = {}
        self.feature_names_: list[str] = []
        self.seed_: int | None = None
        self.metrics: dict[str, Any] = {}

    # -- interface -----------------------------------------------------------------
    def fit(
        self,
        X: pd.DataFrame | np.ndarray,
        y: Sequence[int] | np.ndarray,
        *,
        feature_names: Sequence[str] | None = None,
        class_names: Mapping[int, str] | None = None,
        seed: int = 0,
    ) -> Classifier:
        """Train on features ``X (n, f)`` and integer class codes ``y``; deterministic for a seed."""
        arr, names = as_matrix(X, feature_names)
        check_finite(arr, names, allow_nan=self.allow_nan)
        y = check_labels(np.asarray(y), class_names)
        if len(y) != arr.shape[0]:
            raise DataError(f"{arr.shape[0]} feature rows but {len(y)} labels")
        self.classes_ = np.unique(y)
        self.class_names_ = {
            int(c): str(class_names[c]) for c in self.classes_ if class_names and c in class_names
        }
        self.feature_names_ = names
        self.seed_ = int(seed)
        self.metrics = {}
        index = np.searchsorted(self.classes_, y)
        log.info(
            "fitting %s on %d samples, %d features, classes %s",
            self.kind,
            len(y),
            len(names),
            dict(zip(self.classes_.tolist(), np.bincount(index).tolist(), strict=True)),
        )
        self._fit(arr, index, int(seed))
        return self

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, K)`` in the order of ``classes_``; rows sum to 1."""
        arr = self._features_for_prediction(X)
        if arr.shape[0] == 0:
            return np.zeros((0, len(self.classes_)))
        p = np.clip(np.asarray(self._proba(arr), dtype=np.float64), 0.0, None)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Class codes (values of ``classes_``): the most probable class of each row."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # -- persistence -----------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild the model except its weights."""
        self._require_fitted()
        return _jsonable(
            {
                "format": FORMAT_VERSION,
                "kind": self.kind,
                "agrifactory_version": __version__,
                "params": self.params,
                "classes": self.classes_,
                "class_names": {str(k): v for k, v in self.class_names_.items()},
                "feature_names": self.feature_names_,
                "seed": self.seed_,
                "state": self._state(),
            }
        )

    def save(self, path: str | Path) -> Path:
        """Write the model directory atomically (a killed job leaves no half model)."""
        self._require_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
        tmp.mkdir()
        try:
            (tmp / CONFIG_FILE).write_text(json.dumps(self.config(), indent=2), encoding="utf-8")
            (tmp / METRICS_FILE).write_text(
                json.dumps(_jsonable(self.metrics), indent=2), encoding="utf-8"
            )
            self._save_weights(tmp / self.weights_file)
            if path.exists():
                old = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.old")
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path

    @classmethod
    def _from_config(cls, config: dict[str, Any], directory: Path) -> Classifier:
        model = cls(**config["params"])
        model.classes_ = np.asarray(config["classes"], dtype=np.int64)
        model.class_names_ = {int(k): v for k, v in config.get("class_names", {}).items()}
        model.feature_names_ = list(config["feature_names"])
        model.seed_ = config.get("seed")
        model._load_state(config.get("state") or {})
        weights = directory / cls.weights_file
        if not weights.exists():
            raise InputError(weights, "is missing from the model directory", "retrain the model")
        model._load_weights(weights)
        return model

    # -- helpers ----------------------------------------------------------------------
    def _require_fitted(self) -> None:
        if self.classes_ is None:
            raise DataError(f"this {type(self).__name__} is not fitted yet; call fit() first")

    def _features_for_prediction(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        self._require_fitted()
        expected = self.feature_names_
        if isinstance(X, pd.DataFrame):
            missing = [n for n in expected if n not in X.columns]
            if missing:
                extra = [str(c) for c in X.columns if c not in expected]
                raise DataError(
                    f"features {missing} of the model are missing from the input "
                    f"(input has extra columns {extra[:10]}); the model was trained on "
                    f"{len(expected)} features: {expected[:10]}{' ...' if len(expected) > 10 else ''}"
                )
            arr = X[expected].to_numpy(dtype=np.float64)
        else:
            arr = np.asarray(X, dtype=np.float64)
            if arr.ndim != 2 or arr.shape[1] != len(expected):
                raise DataError(
                    f"features of shape {arr.shape} do not match the model's {len(expected)} "
                    f"features {expected[:10]}{' ...' if len(expected) > 10 else ''}"
                )
        check_finite(arr, expected, allow_nan=self.allow_nan)
        return arr

    def check_feature_names(self, names: Sequence[str]) -> None:
        """Raise :class:`DataError` unless ``names`` equal the model's, in order."""
        self._require_fitted()
        names = [str(n) for n in names]
        if names != self.feature_names_:
            missing = [n for n in self.feature_names_ if n not in names]
            extra = [n for n in names if n not in self.feature_names_]
            what = (
                f"missing {missing}, unexpected {extra}" if missing or extra else "in another order"
            )
            raise DataError(
                f"feature names do not match the model's ({what}); the model expects "
                f"{self.feature_names_}"
            )

    # -- subclass hooks -----------------------------------------------------------------
    def _fit(self, X: np.ndarray, y_index: np.ndarray, seed: int) -> None:
        raise NotImplementedError

    def _proba(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        return {}

    def _load_state(self, state: dict[str, Any]) -> None:
        pass

    def _save_weights(self, path: Path) -> None:
        raise NotImplementedError

    def _load_weights(self, path: Path) -> None:
        raise NotImplementedError
