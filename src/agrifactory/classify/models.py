"""Classifiers with one interface: fit with a seed, predict classes and probabilities,
save and load with their config and metrics.

* :class:`LightGBMClassifier` - gradient-boosted trees (cropland vs other; crop-type
  baseline).
* :class:`SVMClassifier` - RBF SVM on standardised features (irrigated vs rainfed,
  as Chen et al. 2021), reporting the Jeffries-Matusita separability before training.
* :class:`~agrifactory.classify.cnn.CNNClassifier` - a lightweight 1-D CNN on
  (channels x time) features with temporal augmentation (crop type).
* :class:`~agrifactory.classify.cnn2d.CNN2DClassifier` - a small 2-D CNN on the
  (bands x months) image of the monthly composites (crop type).
* :class:`EnsembleClassifier` - the mean probability of several of these, each on its
  own features (crop type: LightGBM on every feature and the 2-D CNN).

A saved model is a directory (its layout: :mod:`~agrifactory.classify.base`).

Inputs are checked at the edge: NaN (except for LightGBM and the 2-D CNN, which take
missing values) or infinite features, a class with fewer than
two samples and feature names that differ from the model's give a clear error.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from agrifactory.classify.base import (
    CONFIG_FILE,
    METRICS_FILE,
    Classifier,
    as_matrix,
    check_finite,
    check_labels,
    select_features,
)
from agrifactory.classify.cnn import CNNClassifier
from agrifactory.classify.cnn2d import CNN2DClassifier
from agrifactory.errors import ConfigError, InputError

__all__ = [
    "CNN2DClassifier",
    "CNNClassifier",
    "Classifier",
    "EnsembleClassifier",
    "LightGBMClassifier",
    "SVMClassifier",
    "as_matrix",
    "check_finite",
    "check_labels",
    "load_model",
    "make_model",
]

log = logging.getLogger(__name__)


class LightGBMClassifier(Classifier):
    """LightGBM gradient-boosted trees (binary or multiclass), deterministic per seed.

    NaN features are missing values, which LightGBM routes down the side of each split
    learnt in training (e.g. a month without a clear composite)."""

    kind = "lightgbm"
    allow_nan = True
    weights_file = "model.txt"
    default_params: ClassVar[dict[str, Any]] = {
        "num_boost_round": 300,
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 10,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.9,
        "bagging_freq": 1,
        "lambda_l2": 0.0,
        "num_threads": 1,
    }

    def _fit(self, X: np.ndarray, y_index: np.ndarray, seed: int) -> None:
        import lightgbm as lgb

        k = len(self.classes_)
        p = dict(self.params)
        rounds = int(p.pop("num_boost_round"))
        objective = (
            {"objective": "binary"} if k == 2 else {"objective": "multiclass", "num_class": k}
        )
        params = {
            **objective,
            **p,
            "seed": seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        data = lgb.Dataset(X, label=y_index, feature_name=[f"f{i}" for i in range(X.shape[1])])
        self.booster_ = lgb.train(params, data, num_boost_round=rounds)

    def _proba(self, X: np.ndarray) -> np.ndarray:
        p = self.booster_.predict(X, num_threads=int(self.params["num_threads"]))
        if p.ndim == 1:
            p = np.column_stack([1 - p, p])
        return p

    def _save_weights(self, path: Path) -> None:
        self.booster_.save_model(str(path))

    def _load_weights(self, path: Path) -> None:
        import lightgbm as lgb

        self.booster_ = lgb.Booster(model_file=str(path))


class SVMClassifier(Classifier):
    """RBF SVM in a scikit-learn Pipeline with StandardScaler (Chen et al. 2021).

    Before training, the Jeffries-Matusita distance of every class pair is computed
    on the training features, logged and stored in ``metrics['jm']``; a pair below
    ``jm_warn`` (1.9) raises a :class:`~agrifactory.classify.separability.SeparabilityWarning`.
    Probabilities come from Platt scaling of out-of-fold decision values (seeded
    stratified folds, up to 5), the class from the most probable class.
    """

    kind = "svm"
    weights_file = "model.joblib"
    default_params: ClassVar[dict[str, Any]] = {
        "C": 10.0,
        "gamma": "scale",
        "class_weight": None,
        "jm_warn": 1.9,
        "jm_ridge": 1e-6,
    }

    def _fit(self, X: np.ndarray, y_index: np.ndarray, seed: int) -> None:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.model_selection import StratifiedKFold
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        from agrifactory.classify.separability import SeparabilityWarning, pairwise_jm

        jm = pairwise_jm(X, self.classes_[y_index], ridge=float(self.params["jm_ridge"]))
        self.metrics["jm"] = jm.to_dict(orient="records")
        for row in jm.itertuples():
            log.info("Jeffries-Matusita distance %s vs %s: %.4f", row.class_a, row.class_b, row.jm)
            if row.jm < float(self.params["jm_warn"]):
                msg = (
                    f"classes {row.class_a} and {row.class_b} have a Jeffries-Matusita distance "
                    f"of {row.jm:.3f} < {self.params['jm_warn']}: they are poorly separable; "
                    "review the samples (separability.reselect_samples flags ambiguous ones)"
                )
                log.warning(msg)
                warnings.warn(msg, SeparabilityWarning, stacklevel=3)
        # Platt scaling on out-of-fold decision values, one SVC refitted on all samples
        # (what SVC(probability=True) did, without its unseeded internal folds).
        n_splits = int(min(5, np.bincount(y_index).min()))
        svc = SVC(
            kernel="rbf",
            C=float(self.params["C"]),
            gamma=self.params["gamma"],
            class_weight=self.params["class_weight"],
        )
        calibrated = CalibratedClassifierCV(
            svc,
            method="sigmoid",
            cv=StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed),
            ensemble=False,
        )
        self.pipeline_ = Pipeline([("scale", StandardScaler()), ("svc", calibrated)])
        self.pipeline_.fit(X, y_index)

    def _proba(self, X: np.ndarray) -> np.ndarray:
        return self.pipeline_.predict_proba(X)

    def _save_weights(self, path: Path) -> None:
        import joblib

        joblib.dump(self.pipeline_, path)

    def _load_weights(self, path: Path) -> None:
        import joblib

        self.pipeline_ = joblib.load(path)


class EnsembleClassifier(Classifier):
    """The mean class probability of member models, each fitted on its own features.

    ``members`` lists ``{"kind", "features", "params"}`` (``features``: glob patterns
    of the ensemble's features, null - all; ``params``: the member's parameters). Every
    member is fitted with the ensemble's seed on the same samples, so they share the
    classes. ``num_threads`` is handed to every member that takes it. The members are
    saved as model directories under ``members/``. Missing values are allowed where
    every member allows them.
    """

    kind = "ensemble"
    weights_file = "members"
    #: Kinds a member may be (models this module fits; not an ensemble, not rule adapt's).
    member_kinds: ClassVar[tuple[str, ...]] = ("lightgbm", "svm", "cnn1d", "cnn2d")
    default_params: ClassVar[dict[str, Any]] = {
        "members": [{"kind": "lightgbm"}, {"kind": "cnn2d", "features": ["monthly_*"]}],
        "num_threads": None,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        members = self.params["members"]
        if not isinstance(members, list) or len(members) < 2:
            raise ConfigError(
                f"EnsembleClassifier: members must list 2 or more models, got {members!r}"
            )
        for i, m in enumerate(members):
            unknown = sorted(set(m) - {"kind", "features", "params"}) if isinstance(m, dict) else []
            if not isinstance(m, dict) or unknown or m.get("kind") not in self.member_kinds:
                raise ConfigError(
                    f"EnsembleClassifier: members[{i}] = {m!r}: give 'kind' (one of "
                    f"{list(self.member_kinds)}), optional 'features' and 'params'"
                )
        self.members_ = [self._member(m) for m in members]
        self.allow_nan = all(m.allow_nan for m in self.members_)
        self.member_features_: list[list[str]] = []
        self.member_columns_: list[np.ndarray] = []

    def _member(self, spec: Mapping[str, Any]) -> Classifier:
        return self._with_threads(model_classes()[spec["kind"]](**(spec.get("params") or {})))

    def _with_threads(self, member: Classifier) -> Classifier:
        """``member`` with the ensemble's ``num_threads`` (set or changed after loading,
        e.g. by the classify rule), where it takes one."""
        if self.params["num_threads"] is not None and "num_threads" in member.params:
            member.params["num_threads"] = self.params["num_threads"]
        return member

    def _set_member_features(self, member_features: list[list[str]]) -> None:
        """Each member's feature names and their columns in the ensemble's features
        (computed once, not per prediction batch)."""
        self.member_features_ = member_features
        index = {n: i for i, n in enumerate(self.feature_names_)}
        self.member_columns_ = [
            np.array([index[n] for n in names], dtype=np.intp) for names in member_features
        ]

    def _fit(self, X: np.ndarray, y_index: np.ndarray, seed: int) -> None:
        patterns = [spec.get("features") for spec in self.params["members"]]
        self._set_member_features([select_features(self.feature_names_, p) for p in patterns])
        y = self.classes_[y_index]
        for member, names, cols in zip(
            self.members_, self.member_features_, self.member_columns_, strict=True
        ):
            member.fit(X[:, cols], y, feature_names=names, class_names=self.class_names_, seed=seed)
        self.metrics["members"] = [m.metrics for m in self.members_]

    def _proba(self, X: np.ndarray) -> np.ndarray:
        members = zip(self.members_, self.member_columns_, strict=True)
        return np.mean([self._with_threads(m).predict_proba(X[:, c]) for m, c in members], axis=0)

    def _state(self) -> dict[str, Any]:
        return {"member_features": self.member_features_}

    def _load_state(self, state: dict[str, Any]) -> None:
        self._set_member_features([list(names) for names in state["member_features"]])

    def _save_weights(self, path: Path) -> None:
        path.mkdir()
        for i, member in enumerate(self.members_):
            member.save(path / f"{i}_{member.kind}")

    def _load_weights(self, path: Path) -> None:
        self.members_ = [
            load_model(path / f"{i}_{spec['kind']}")
            for i, spec in enumerate(self.params["members"])
        ]


def model_classes() -> dict[str, type[Classifier]]:
    """Model kinds known to :func:`load_model` and :func:`make_model` (and the adapted
    CNN of rule adapt, which only :func:`load_model` can make)."""
    from agrifactory.adapt.model import AdaptedClassifier

    kinds = (
        LightGBMClassifier,
        SVMClassifier,
        CNNClassifier,
        CNN2DClassifier,
        EnsembleClassifier,
        AdaptedClassifier,
    )
    return {c.kind: c for c in kinds}


def make_model(kind: str, params: Mapping[str, Any] | None = None) -> Classifier:
    """A new, unfitted model of ``kind`` (``lightgbm``, ``svm``, ``cnn1d``, ``cnn2d``,
    ``ensemble``)."""
    kinds = model_classes()
    if kind not in kinds:
        raise ConfigError(f"unknown model kind {kind!r}; expected one of {sorted(kinds)}")
    return kinds[kind](**dict(params or {}))


def load_model(path: str | Path) -> Classifier:
    """Load a model directory written by :meth:`Classifier.save`."""
    path = Path(path)
    cfg_path = path / CONFIG_FILE
    if not cfg_path.is_file():
        raise InputError(
            path, f"is not a model directory (no {CONFIG_FILE})", "train the model first"
        )
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(cfg_path, f"is not valid JSON ({exc})", "retrain the model") from None
    kinds = model_classes()
    kind = config.get("kind")
    if kind not in kinds:
        raise InputError(
            cfg_path, f"names an unknown model kind {kind!r}", f"known: {sorted(kinds)}"
        )
    model = kinds[kind]._from_config(config, path)
    metrics_path = path / METRICS_FILE
    if metrics_path.is_file():
        model.metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    return model
