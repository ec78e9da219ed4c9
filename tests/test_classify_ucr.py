"""Crop-type CNN on real NDVI series (UCR "Crop"): a reduced cross-validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score

from agrifactory.classify.cnn import CNNClassifier
from agrifactory.classify.evaluation import (
    NearestNeighbour,
    cross_validate,
    read_ucr_tsv,
    stratified_subset,
)
from agrifactory.errors import InputError

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def ucr(shared_data):
    X, y = read_ucr_tsv(shared_data / "ucr_crop" / "Crop_TRAIN.tsv")
    return X, y


def test_ucr_file_as_documented(ucr):
    X, y = ucr
    assert X.shape == (7200, 46)
    assert np.unique(y).tolist() == list(range(1, 25))
    assert np.bincount(y)[1:].tolist() == [300] * 24


def test_reduced_cross_validation(ucr):
    torch.set_num_threads(1)
    X, y = ucr
    keep = stratified_subset(y, 40, seed=0)  # 960 series
    X, y = X[keep], y[keep]
    models = {
        "1nn": NearestNeighbour,
        "cnn": lambda: CNNClassifier(epochs=12, hidden=32, dense=64, batch_size=32, num_threads=1),
    }
    per_fold, summary = cross_validate(models, X, y, folds=2, seed=0)
    s = summary.set_index("model")
    chance = 1 / 24
    assert s.loc["cnn", "overall_accuracy"] > 10 * chance  # > 0.42; typically ~0.6
    assert s.loc["1nn", "overall_accuracy"] > 10 * chance

    # consistency: pooled OA equals the test-size weighted fold mean, and both OA and
    # macro-F1 agree with scikit-learn on out-of-fold predictions recomputed here
    for name in models:
        f = per_fold[per_fold.model == name]
        weighted = np.average(f["overall_accuracy"], weights=f["n_test"])
        assert s.loc[name, "overall_accuracy"] == pytest.approx(weighted)
    from sklearn.model_selection import StratifiedKFold

    train, test = next(StratifiedKFold(2, shuffle=True, random_state=0).split(X, y))
    pred = NearestNeighbour().fit(X[train], y[train]).predict(X[test])
    f0 = per_fold[(per_fold.model == "1nn") & (per_fold.fold == 0)].iloc[0]
    assert f0["overall_accuracy"] == pytest.approx(accuracy_score(y[test], pred))
    assert f0["macro_f1"] == pytest.approx(f1_score(y[test], pred, average="macro"))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="Crop_TRAIN.tsv: does not exist"):
        read_ucr_tsv(tmp_path / "Crop_TRAIN.tsv")
