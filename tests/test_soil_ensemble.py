"""The bias-correction ensemble: the mean of its members, saved and read back whole."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agrifactory.errors import ConfigError, InputError
from agrifactory.soil_moisture.cnn import (
    CorrectorEnsemble,
    channel_names,
    fit,
    new_corrector,
)
from agrifactory.soil_moisture.pipeline import member_seeds
from agrifactory.soil_moisture.rules import PretrainSettings

LAYERS = ["surface", "rootzone"]
C = len(channel_names(LAYERS))


@pytest.fixture(scope="module")
def members():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, C, 5, 5)).astype(np.float32)
    y = rng.normal(0, 0.02, size=(64, 2)).astype(np.float32)
    nets = []
    for seed in (0, 1000):
        net = new_corrector(x, y, LAYERS, width=4, seed=seed)
        fit(net, x, y, PretrainSettings(epochs=1, batch_size=32), seed=seed)
        nets.append(net)
    return nets, x


def test_ensemble_predicts_the_members_mean(members):
    nets, x = members
    ens = CorrectorEnsemble(nets)
    a, b = (n.predict_patches(x) for n in nets)
    assert not np.allclose(a, b)  # different initialisations give different networks
    np.testing.assert_allclose(ens.predict_patches(x), (a + b) / 2, rtol=1e-6)
    grid = np.random.default_rng(1).normal(size=(3, C, 9, 8)).astype(np.float32)
    ga, gb = (n.predict_grid(grid) for n in nets)
    assert ga.shape == (3, 2, 5, 4)
    np.testing.assert_allclose(ens.predict_grid(grid), (ga + gb) / 2, rtol=1e-6)


def test_ensemble_file_round_trip_and_single_network_files(members, tmp_path):
    nets, x = members
    CorrectorEnsemble(nets, {"members": 2}).save(tmp_path / "e.pt")
    back = CorrectorEnsemble.load(tmp_path / "e.pt")
    assert len(back.members) == 2 and back.meta == {"members": 2} and back.layers == LAYERS
    np.testing.assert_array_equal(
        back.predict_patches(x), CorrectorEnsemble(nets).predict_patches(x)
    )
    nets[0].save(tmp_path / "one.pt")  # a file of one network reads as a one-member ensemble
    single = CorrectorEnsemble.load(tmp_path / "one.pt")
    assert len(single.members) == 1
    np.testing.assert_array_equal(single.predict_patches(x), nets[0].predict_patches(x))
    (tmp_path / "other.pt").write_bytes(b"not a network")
    with pytest.raises(InputError, match="cannot be read as a bias-correction CNN"):
        CorrectorEnsemble.load(tmp_path / "other.pt")


def test_members_must_agree_and_exist(members):
    nets, _ = members
    with pytest.raises(ValueError, match="at least one member"):
        CorrectorEnsemble([])
    other = new_corrector(
        np.zeros((4, C - 1, 5, 5), np.float32), np.zeros((4, 1)), ["surface"], width=4
    )
    with pytest.raises(ValueError, match="same layers"):
        CorrectorEnsemble([nets[0], other])


def test_member_seeds():
    assert member_seeds(7, 3) == [7, 1007, 2007]
    assert member_seeds(7, 1) == [7]
    with pytest.raises(ConfigError, match="at least one member"):
        member_seeds(7, 0)
