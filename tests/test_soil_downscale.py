"""Residual correction (exact coarse means), compiled trees (equal to LightGBM), model files."""

from __future__ import annotations

import datetime as dt

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agrifactory.errors import InputError
from agrifactory.soil_moisture import trees as trees_module
from agrifactory.soil_moisture.downscale import (
    DownscalerModel,
    predict_block,
    residual_correction,
    train_downscaler,
)
from agrifactory.soil_moisture.features import (
    DYNAMIC_FEATURES,
    FEATURES,
    STATIC_FEATURES,
    FeatureBlock,
    layout,
)
from agrifactory.soil_moisture.trees import CompiledTrees, predict_space_time


@st.composite
def _cases(draw):
    t = draw(st.integers(1, 4))
    n = draw(st.integers(1, 30))
    n_cells = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    pred = rng.uniform(0.0, 0.5, (t, n))
    pred[rng.random((t, n)) < 0.2] = np.nan
    cell = rng.integers(-1, n_cells, n)
    coarse = rng.uniform(0.05, 0.45, (t, n_cells))
    coarse[rng.random((t, n_cells)) < 0.1] = np.nan
    return pred, cell, coarse


@given(_cases())
@settings(max_examples=150, deadline=None)
def test_residual_correction_preserves_every_coarse_mean(case):
    pred, cell, coarse = case
    out = residual_correction(pred, cell, coarse)
    t, _ = pred.shape
    for c in range(coarse.shape[1]):
        members = cell == c
        for d in range(t):
            valid = members & np.isfinite(pred[d])
            if not valid.any():
                continue
            if np.isnan(coarse[d, c]):
                assert np.isnan(out[d, valid]).all()
                continue
            assert out[d, valid].mean() == pytest.approx(coarse[d, c], abs=1e-12)
            shift = out[d, valid] - pred[d, valid]  # one common shift per cell and day
            assert np.ptp(shift) < 1e-12
    assert np.isnan(out[:, cell < 0]).all()
    assert np.isnan(out[np.isnan(pred)]).all()


def test_residual_correction_by_hand():
    pred = np.array([[0.1, 0.3, 0.2, 0.5]])
    cell = np.array([0, 0, 1, -1])
    out = residual_correction(pred, cell, np.array([[0.25, 0.1]]))
    np.testing.assert_allclose(out[0, :3], [0.15, 0.35, 0.1])
    assert np.isnan(out[0, 3])


def _booster(n_features: int, seed: int = 0, **params) -> tuple[lgb.Booster, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3000, n_features))
    y = np.sin(x[:, 0]) + x[:, 1] * x[:, 2] + 0.1 * rng.normal(size=3000)
    p = {
        "objective": "regression",
        "num_leaves": 15,
        "num_threads": 1,
        "verbose": -1,
        "seed": seed,
        "deterministic": True,
        **params,
    }
    return lgb.train(p, lgb.Dataset(x, y), num_boost_round=40), rng


@pytest.mark.parametrize("heap", [True, False])
def test_compiled_trees_equal_booster_predict(heap, monkeypatch):
    if not heap:  # deeper trees than MAX_HEAP_DEPTH are walked node by node
        monkeypatch.setattr(trees_module, "MAX_HEAP_DEPTH", 2)
    booster, rng = _booster(6)
    x = rng.normal(size=(5000, 6)).astype(np.float32)
    trees = CompiledTrees.from_booster(booster)
    assert trees.uses_heap is heap and trees.depth > 2
    np.testing.assert_allclose(
        trees.predict(x), booster.predict(x, num_threads=1), rtol=0, atol=1e-12
    )
    x[3, 2] = np.nan
    assert np.isnan(trees.predict(x)[3]) and np.isfinite(trees.predict(x)[[2, 4]]).all()


def test_space_time_prediction_equals_the_full_matrix():
    n_f = len(FEATURES)
    booster, rng = _booster(n_f, seed=3, max_depth=5)
    t, n = 7, 50
    block = FeatureBlock(
        rng.normal(size=(n, len(STATIC_FEATURES))).astype(np.float32),
        rng.normal(size=(t, n, len(DYNAMIC_FEATURES))).astype(np.float32),
        np.arange(1, t + 1, dtype=np.float32)[:, None] / 3,
        [dt.date(2021, 1, 1) + dt.timedelta(days=i) for i in range(t)],
    )
    ref = booster.predict(block.matrix(), num_threads=1).reshape(t, n)
    got = predict_space_time(
        CompiledTrees.from_booster(booster), block.static, block.dynamic, block.per_day, layout()
    )
    np.testing.assert_allclose(got, ref.astype(np.float32), rtol=0, atol=1e-6)
    model = DownscalerModel({"surface": booster})
    lgb_engine = predict_block(model, "surface", block, engine="lightgbm")
    np.testing.assert_allclose(lgb_engine, got, atol=1e-6)


def test_model_file_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    t, n = 30, 12
    block = FeatureBlock(
        rng.normal(size=(n, len(STATIC_FEATURES))).astype(np.float32),
        rng.normal(size=(t, n, len(DYNAMIC_FEATURES))).astype(np.float32),
        np.arange(1, t + 1, dtype=np.float32)[:, None],
        [dt.date(2021, 1, 1) + dt.timedelta(days=i) for i in range(t)],
    )
    target = 0.2 + 0.05 * block.dynamic[:, :, 0]
    model = train_downscaler(block, {"surface": target, "rootzone": target / 2}, rounds=20)
    path = model.save(tmp_path / "m.json")
    back = DownscalerModel.load(path)
    assert back.layers == ["surface", "rootzone"]
    np.testing.assert_array_equal(
        predict_block(back, "rootzone", block), predict_block(model, "rootzone", block)
    )
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(InputError, match="expected 'agrifactory-sm-downscaler/1'"):
        DownscalerModel.load(tmp_path / "bad.json")
