"""Models: probabilities, legend values, determinism, save/load, bad input."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from _classify_data import phenology_series

from agrifactory.classify.cnn import CNNClassifier
from agrifactory.classify.models import (
    EnsembleClassifier,
    LightGBMClassifier,
    SVMClassifier,
    load_model,
    make_model,
    model_classes,
)
from agrifactory.classify.separability import SeparabilityWarning
from agrifactory.errors import ConfigError, DataError

torch.set_num_threads(1)

TINY = {
    "lightgbm": {"num_boost_round": 20, "min_data_in_leaf": 3, "num_leaves": 7},
    "svm": {},
    "cnn1d": {
        "hidden": 8,
        "n_blocks": 2,
        "dense": 16,
        "epochs": 8,
        "batch_size": 16,
        "augment_shift": 1.0,
        "augment_scale": 0.1,
        "augment_magnitude": 0.05,
    },
}
TINY["ensemble"] = {
    "members": [
        {"kind": "lightgbm", "features": ["ndvi_m0*"], "params": TINY["lightgbm"]},
        {"kind": "cnn1d", "params": TINY["cnn1d"]},
    ]
}
KINDS = list(TINY)


@pytest.fixture(scope="module")
def data():
    X, y = phenology_series(n_per_class=20, seed=1)
    names = [f"ndvi_m{m:02d}" for m in range(1, 13)]
    return pd.DataFrame(X, columns=names), y * 10  # codes 10, 20, 30


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparabilityWarning)
        return {k: make_model(k, TINY[k]).fit(X, y, seed=3) for k in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_probabilities_sum_to_one_and_classes_are_legend_values(fitted, data, kind):
    X, y = data
    model = fitted[kind]
    p = model.predict_proba(X)
    assert p.shape == (len(X), 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert (p >= 0).all()
    pred = model.predict(X)
    assert set(np.unique(pred)) <= {10, 20, 30}
    np.testing.assert_array_equal(pred, model.classes_[np.argmax(p, axis=1)])
    assert (pred == y).mean() > 0.8  # easy, well separated peaks


@pytest.mark.parametrize("kind", KINDS)
def test_fit_is_deterministic_for_a_seed(fitted, data, kind):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparabilityWarning)
        again = make_model(kind, TINY[kind]).fit(X, y, seed=3)
    np.testing.assert_array_equal(again.predict_proba(X), fitted[kind].predict_proba(X))


@pytest.mark.parametrize("kind", KINDS)
def test_save_and_load_round_trip(fitted, data, kind, tmp_path):
    X, _ = data
    model = fitted[kind]
    model.metrics["note"] = "validation pending"
    path = model.save(tmp_path / "model")
    files = sorted(p.name for p in path.iterdir())
    assert files == sorted(["config.json", "metrics.json", model.weights_file])
    loaded = load_model(path)
    assert type(loaded) is type(model)
    assert loaded.feature_names_ == model.feature_names_
    assert loaded.metrics["note"] == "validation pending"
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=0, atol=1e-12)
    # saving again over an existing directory replaces it
    model.save(path)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("kind", KINDS)
def test_class_with_one_sample_is_named(data, kind):
    X, y = data
    y = y.copy()
    y[0] = 99
    with pytest.raises(DataError, match=r"class 99 \(ninety-nine\) has only one training sample"):
        make_model(kind, TINY[kind]).fit(X, y, class_names={99: "ninety-nine"})


@pytest.mark.parametrize("kind", [k for k in KINDS if not model_classes()[k].allow_nan])
def test_nan_features_are_named(data, kind):
    X, y = data
    X = X.copy()
    X.iloc[3, 4] = np.nan
    X.iloc[5, 4] = np.nan
    with pytest.raises(DataError, match=r"ndvi_m05 \(2 rows\)"):
        make_model(kind, TINY[kind]).fit(X, y)


@pytest.mark.parametrize("kind", KINDS)
def test_infinite_features_are_named(data, kind):
    X, y = data
    X = X.copy()
    X.iloc[3, 4] = np.inf
    with pytest.raises(DataError, match=r"ndvi_m05 \(1 rows\)"):
        make_model(kind, TINY[kind]).fit(X, y)


def test_nan_at_prediction_is_an_error(fitted, data):
    X, _ = data
    X = X.copy()
    X.iloc[0, 0] = np.nan
    with pytest.raises(DataError, match="ndvi_m01"):
        fitted["svm"].predict(X)


def test_lightgbm_takes_missing_values(fitted, data):
    X, y = data
    X = X.copy()
    X.iloc[::4, 4] = np.nan  # a month without a composite at every fourth sample
    model = make_model("lightgbm", TINY["lightgbm"]).fit(X, y, seed=3)
    p = model.predict_proba(X)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert np.isfinite(fitted["lightgbm"].predict_proba(X)).all()


def test_mismatched_feature_names(fitted, data):
    X, _ = data
    model = fitted["lightgbm"]
    with pytest.raises(DataError, match=r"features \['ndvi_m12'\] of the model are missing"):
        model.predict(X.drop(columns="ndvi_m12").assign(evi_m12=0.0))
    with pytest.raises(DataError, match="do not match the model's 12 features"):
        model.predict(X.to_numpy()[:, :11])
    with pytest.raises(DataError, match="in another order"):
        model.check_feature_names(list(reversed(model.feature_names_)))
    # a DataFrame with the columns in another order is reordered by name
    np.testing.assert_array_equal(model.predict(X[X.columns[::-1]]), model.predict(X))


def test_unknown_parameter_and_kind():
    with pytest.raises(ConfigError, match=r"unknown parameters \['n_trees'\]"):
        LightGBMClassifier(n_trees=3)
    with pytest.raises(ConfigError, match="unknown model kind 'rf'"):
        make_model("rf")


def test_svm_reports_jm_and_warns_when_classes_overlap():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.repeat([1, 2], 30)
    with pytest.warns(SeparabilityWarning, match="Jeffries-Matusita distance"):
        model = SVMClassifier().fit(X, y)
    assert model.metrics["jm"][0]["jm"] < 1.0
    X[y == 2] += 6.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeparabilityWarning)
        model = SVMClassifier().fit(X, y)
    assert model.metrics["jm"][0]["jm"] > 1.99


def test_cnn_channels_must_divide_features(data):
    X, y = data
    with pytest.raises(ConfigError, match="n_channels = 5"):
        CNNClassifier(n_channels=5, epochs=1).fit(X, y)


def test_cnn_two_channels_pool_head():
    X, y = phenology_series(n_per_class=15, n_channels=2, seed=2)
    model = CNNClassifier(n_channels=2, head="pool", hidden=8, epochs=10, batch_size=16).fit(X, y)
    assert model.predict_proba(X).shape == (45, 3)
    assert (model.predict(X) == y).mean() > 0.6


def test_ensemble_probability_is_the_mean_of_its_members_on_their_own_features(fitted, data):
    X, y = data
    model = fitted["ensemble"]
    assert model.member_features_ == [[f"ndvi_m{m:02d}" for m in range(1, 10)], list(X.columns)]
    lgb = make_model("lightgbm", TINY["lightgbm"]).fit(X.iloc[:, :9], y, seed=3)
    cnn = make_model("cnn1d", TINY["cnn1d"]).fit(X, y, seed=3)
    expected = (lgb.predict_proba(X.iloc[:, :9]) + cnn.predict_proba(X)) / 2
    np.testing.assert_allclose(model.predict_proba(X), expected, rtol=0, atol=1e-12)
    assert not model.allow_nan  # the 1-D CNN takes no missing values
    both = EnsembleClassifier(members=[{"kind": "lightgbm"}, {"kind": "cnn2d"}])
    assert both.allow_nan


def test_ensemble_saves_its_members_as_model_directories(fitted, tmp_path):
    path = fitted["ensemble"].save(tmp_path / "model")
    assert sorted(p.name for p in (path / "members").iterdir()) == ["0_lightgbm", "1_cnn1d"]
    assert load_model(path / "members" / "0_lightgbm").feature_names_[-1] == "ndvi_m09"


@pytest.mark.parametrize(
    ("members", "says"),
    [
        ([{"kind": "lightgbm"}], "2 or more"),
        ([{"kind": "lightgbm"}, {"kind": "forest"}], "members[1]"),
        ([{"kind": "lightgbm"}, {"kind": "ensemble"}], "members[1]"),
        ([{"kind": "adapted_cnn"}, {"kind": "lightgbm"}], "members[0]"),
        ([{"kind": "lightgbm", "feature": ["a*"]}, {"kind": "svm"}], "members[0]"),
    ],
)
def test_ensemble_members_are_checked_when_it_is_made(members, says):
    with pytest.raises(ConfigError, match=re.escape(says)):
        make_model("ensemble", {"members": members})


def test_ensemble_member_features_that_match_nothing_are_named(data):
    X, y = data
    model = make_model(
        "ensemble", {"members": [{"kind": "lightgbm", "features": ["monthly_*"]}, {"kind": "svm"}]}
    )
    with pytest.raises(ConfigError, match=re.escape("['monthly_*'] match no feature")):
        model.fit(X, y)
