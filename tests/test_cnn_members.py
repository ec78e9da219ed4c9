"""1-D CNN: per-series normalisation, the InceptionTime-style net, weight EMA and
ensembles of members with different architectures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _classify_data import phenology_series

from agrifactory.classify.cnn import CNNClassifier, _build_inception, with_series_norm
from agrifactory.classify.models import load_model
from agrifactory.errors import ConfigError

torch.set_num_threads(1)

TINY = {"hidden": 8, "n_blocks": 2, "dense": 16, "epochs": 6, "batch_size": 16}
INCEPTION = {"arch": "inception", "hidden": 4, "n_blocks": 4, "inception_kernels": [3, 5]}


@pytest.fixture(scope="module")
def data():
    return phenology_series(n_per_class=20, seed=5)


def test_series_norm_by_hand():
    x = np.array([[[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]]])  # (1, 2, 3); sd of [1,2,3] = sqrt(2/3)
    z = np.array([[-1.0, 0.0, 1.0]]) / np.sqrt(2 / 3)
    np.testing.assert_allclose(with_series_norm(x, "replace")[0], [z[0], [0.0, 0.0, 0.0]])
    out = with_series_norm(x, "append")
    assert out.shape == (1, 4, 3)
    np.testing.assert_array_equal(out[:, :2], x)
    np.testing.assert_allclose(out[0, 2], z[0])
    np.testing.assert_array_equal(with_series_norm(x, "off"), x)
    with pytest.raises(ConfigError, match="series_norm"):
        with_series_norm(x, "per-date")


@pytest.mark.parametrize("head", ["flatten", "pool"])
@pytest.mark.parametrize("n_blocks", [1, 3, 4, 6])
def test_inception_shapes(head, n_blocks):
    torch.manual_seed(0)
    net = _build_inception(
        2, 13, 5, hidden=4, n_blocks=n_blocks, kernels=(3, 7), dropout=0.1, head=head, dense=8
    )
    # one residual shortcut after every third module and after the last
    assert len(net.shortcuts) == len({*range(2, n_blocks, 3), n_blocks - 1})
    assert net(torch.zeros(3, 2, 13)).shape == (3, 5)
    with pytest.raises(ConfigError, match="odd"):
        _build_inception(
            2, 13, 5, hidden=4, n_blocks=1, kernels=(4,), dropout=0, head=head, dense=8
        )


@pytest.mark.parametrize("extra", [INCEPTION, {"ema": 0.9}, {"series_norm": "append"}])
def test_new_options_are_deterministic_and_roundtrip(data, tmp_path, extra):
    X, y = data
    a = CNNClassifier(**{**TINY, **extra}).fit(X, y, seed=3)
    b = CNNClassifier(**{**TINY, **extra}).fit(X, y, seed=3)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert (a.predict(X) == y).mean() > 0.6
    loaded = load_model(a.save(tmp_path / "model"))
    np.testing.assert_array_equal(loaded.predict_proba(X), a.predict_proba(X))


def test_ema_changes_the_weights(data):
    X, y = data
    plain = CNNClassifier(**TINY).fit(X, y, seed=3).predict_proba(X)
    ema = CNNClassifier(**TINY, ema=0.9).fit(X, y, seed=3).predict_proba(X)
    assert not np.allclose(plain, ema)


def test_members_of_different_architectures(data, tmp_path):
    X, y = data
    members = [{}, INCEPTION, {"kernel_size": 3, "ema": 0.9}]
    ens = CNNClassifier(**TINY, member_params=members).fit(X, y, seed=7)
    single = [CNNClassifier(**{**TINY, **m}).fit(X, y, seed=7 + i) for i, m in enumerate(members)]
    mean = np.mean([m.predict_proba(X) for m in single], axis=0)
    np.testing.assert_allclose(ens.predict_proba(X), mean, rtol=0, atol=1e-6)
    loaded = load_model(ens.save(tmp_path / "model"))
    np.testing.assert_array_equal(loaded.predict_proba(X), ens.predict_proba(X))


def test_member_params_with_seeds_and_bad_keys(data):
    X, y = data
    model = CNNClassifier(**{**TINY, "epochs": 1}, n_members=2, member_params=[{}, INCEPTION])
    model.fit(X, y, seed=0)
    assert len(model.net_.members) == 4  # each override trained n_members times
    with pytest.raises(ConfigError, match="member_params"):
        CNNClassifier(**TINY, member_params=[{"n_channels": 2}]).fit(X, y, seed=0)


def test_cross_validate_single_fold(data):
    """``only=[k]`` runs fold k of the same split; the pooled scores are that fold's."""
    from agrifactory.classify.evaluation import NearestNeighbour, cross_validate

    X, y = data
    full, _ = cross_validate({"1nn": NearestNeighbour}, X, y, folds=4, seed=2)
    per_fold, summary = cross_validate({"1nn": NearestNeighbour}, X, y, folds=4, seed=2, only=[1])
    assert per_fold["fold"].tolist() == [1]
    assert per_fold["overall_accuracy"].iloc[0] == full["overall_accuracy"].iloc[1]
    assert summary["overall_accuracy"].iloc[0] == per_fold["overall_accuracy"].iloc[0]
    assert summary["macro_f1"].iloc[0] == per_fold["macro_f1"].iloc[0]


def test_cross_validate_in_parallel_gives_the_serial_results(data):
    """``jobs=2`` runs the fits in two processes: the same predictions, so the same
    per-fold and pooled scores (the CNN too: every fit is seeded); a lambda, which
    cannot be sent to another process, is refused naming the model."""
    import functools

    from agrifactory.classify.evaluation import NearestNeighbour, cross_validate

    X, y = data
    models = {
        "1nn": NearestNeighbour,
        "cnn": functools.partial(CNNClassifier, **TINY, num_threads=1),
    }
    serial, serial_summary = cross_validate(models, X, y, folds=3, seed=1)
    parallel, parallel_summary = cross_validate(models, X, y, folds=3, seed=1, jobs=2)
    scores = ["model", "fold", "n_test", "overall_accuracy", "macro_f1"]
    assert parallel[scores].equals(serial[scores])
    pooled = ["model", "overall_accuracy", "macro_f1"]
    assert parallel_summary[pooled].equals(serial_summary[pooled])
    assert serial["overall_accuracy"].min() > 2 / len(np.unique(y))  # learnt something
    with pytest.raises(TypeError, match="'lam'.*functools.partial"):
        cross_validate({"lam": lambda: NearestNeighbour()}, X, y, folds=3, jobs=2)
