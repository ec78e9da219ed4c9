"""1-D CNN: difference channels, training with mixup, the seed ensemble (mean of members)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _classify_data import phenology_series

from agrifactory.classify.cnn import CNNClassifier, with_differences
from agrifactory.classify.models import load_model

torch.set_num_threads(1)

TINY = {"hidden": 8, "n_blocks": 2, "dense": 16, "epochs": 6, "batch_size": 16}


def test_differences_are_appended_per_channel():
    x = np.array([[[1.0, 3.0, 6.0, 10.0], [5.0, 4.0, 4.0, 0.0]]])  # (1, 2, 4)
    out = with_differences(x)
    assert out.shape == (1, 4, 4)
    np.testing.assert_array_equal(out[0, :2], x[0])
    np.testing.assert_array_equal(out[0, 2], [0.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(out[0, 3], [0.0, -1.0, 0.0, -4.0])


@pytest.fixture(scope="module")
def data():
    return phenology_series(n_per_class=20, seed=5)


def test_ensemble_is_the_mean_of_its_members(data, tmp_path):
    X, y = data
    ens = CNNClassifier(**TINY, differences=True, mixup=0.2, n_members=3).fit(X, y, seed=7)
    members = [
        CNNClassifier(**TINY, differences=True, mixup=0.2).fit(X, y, seed=7 + i) for i in range(3)
    ]
    mean = np.mean([m.predict_proba(X) for m in members], axis=0)
    np.testing.assert_allclose(ens.predict_proba(X), mean, rtol=0, atol=1e-6)
    assert (ens.predict(X) == y).mean() > 0.8

    loaded = load_model(ens.save(tmp_path / "model"))
    np.testing.assert_array_equal(loaded.predict_proba(X), ens.predict_proba(X))


def test_single_member_weights_keep_their_format(data, tmp_path):
    """``n_members = 1`` saves one plain network, as before the ensemble existed."""
    X, y = data
    model = CNNClassifier(**TINY).fit(X, y, seed=1)
    path = model.save(tmp_path / "model")
    state = torch.load(path / "weights.pt", weights_only=True)
    assert "0.weight" in state and not any(k.startswith("members.") for k in state)
