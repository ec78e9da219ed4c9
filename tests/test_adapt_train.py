"""Adaptation training and the comparison of methods on a small synthetic shift."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
import torch
from _classify_data import phenology_series

from agrifactory.adapt import experiment
from agrifactory.adapt.align import shift_series
from agrifactory.adapt.experiment import in_domain_cv, run_case, summarise
from agrifactory.adapt.net import TempCNN, with_domain_bn
from agrifactory.adapt.train import METHODS, AdaptSettings, fit
from agrifactory.errors import ConfigError, DataError

torch.set_num_threads(1)

CLASSES = [1, 2, 3]
TINY = AdaptSettings(
    epochs=5,
    warmup_epochs=2,
    batch_size=16,
    hidden=8,
    n_blocks=2,
    dense=16,
    mmd_layer_weights=(0.5, 0.5, 1.0),
    stability_window=2,
    mc_passes=4,
    confidence=0.5,
    max_uncertainty=0.2,
    pseudo_delay=0,
)


def _series(n_per_class: int, seed: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    x, y = phenology_series(
        n_per_class=n_per_class, peaks=(5.0, 10.0, 15.0), n_times=20, seed=seed, shift=shift
    )
    return x[:, None, :].astype(np.float32), y


@pytest.fixture(scope="module")
def shift_case():
    """Source peaks at steps 5, 10, 15; target (unlabelled pool and evaluation) 3 later."""
    xs, ys = _series(20, seed=1)
    xt, _ = _series(30, seed=2, shift=3.0)
    xe, ye = _series(10, seed=3, shift=3.0)
    return xs, ys, xt, xe, ye


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_fits_and_is_deterministic(shift_case, method):
    xs, ys, xt, xe, _ = shift_case
    a = fit(method, xs, ys, xt, classes=CLASSES, settings=TINY, seed=3)
    b = fit(method, xs, ys, xt, classes=CLASSES, settings=TINY, seed=3)
    p = a.predict_proba(xe)
    assert p.shape == (len(xe), 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(p, b.predict_proba(xe))
    assert set(a.predict(xe).tolist()) <= set(CLASSES)
    assert len(a.history) == TINY.epochs
    if METHODS[method].pseudo:
        assert all("n_kept" in row for row in a.history)
        assert a.history[0]["n_kept"] == 0  # warm-up: no pseudo-labels yet


def test_fit_has_no_target_labels_argument():
    params = set(inspect.signature(fit).parameters)
    assert params == {"method", "Xs", "ys", "Xt", "classes", "settings", "seed"}


def test_run_case_training_ignores_target_labels(shift_case, monkeypatch):
    xs, ys, xt, xe, ye = shift_case
    seen: list[np.ndarray] = []
    original = experiment._one

    def spy(*args, **kwargs):
        predicted, kept, model = original(*args, **kwargs)
        seen.append(predicted)
        return predicted, kept, model

    monkeypatch.setattr(experiment, "_one", spy)
    kw = {"classes": CLASSES, "methods": ["ghca", "lightgbm"], "seeds": [0], "settings": TINY}
    lgb = {"num_boost_round": 10, "min_data_in_leaf": 3}
    t1 = run_case(xs, ys, xt, xe, ye, lightgbm_params=lgb, **kw)
    t2 = run_case(
        xs, ys, xt, xe, np.random.default_rng(0).permutation(ye), lightgbm_params=lgb, **kw
    )
    assert len(seen) == 4
    np.testing.assert_array_equal(seen[0], seen[2])  # ghca: same predictions
    np.testing.assert_array_equal(seen[1], seen[3])  # lightgbm
    assert t1["method"].tolist() == ["ghca", "lightgbm"]
    assert t1[["n_source", "n_target", "n_eval"]].iloc[0].tolist() == [60, 90, 30]
    assert not t1["oa"].equals(t2["oa"])  # only the scores change
    assert t1["kept_share"].iloc[0] >= 0 and np.isnan(t1["kept_share"].iloc[1])


def test_in_domain_cv_scores_the_target_itself(shift_case):
    _, _, _, xe, ye = shift_case
    oa = in_domain_cv(xe, ye, classes=CLASSES, settings=TINY, seed=0, folds=3)
    assert 0.0 <= oa <= 1.0
    assert oa == in_domain_cv(xe, ye, classes=CLASSES, settings=TINY, seed=0, folds=3)


def test_summarise_mean_and_sd_over_seeds():
    table = pd.DataFrame(
        {
            "method": ["b", "b", "a", "a"],
            "seed": [0, 1, 0, 1],
            "oa": [0.5, 0.7, 0.9, 0.9],
            "macro_f1": [0.4, 0.6, 0.8, 0.8],
            "kappa": [0.2, 0.4, 0.6, 0.6],
            "kept_share": [0.1, 0.3, np.nan, np.nan],
        }
    )
    s = summarise(table)
    assert s["method"].tolist() == ["b", "a"]
    assert s["n_seeds"].tolist() == [2, 2]
    np.testing.assert_allclose(s["oa_mean"], [0.6, 0.9])
    np.testing.assert_allclose(s["oa_sd"], [np.sqrt(0.02), 0.0])
    np.testing.assert_allclose(s["kept_share_mean"].iloc[0], 0.2)
    assert np.isnan(s["kept_share_mean"].iloc[1])


def test_last_layer_mc_dropout():
    net = TempCNN(np.zeros(1), np.ones(1), 20, 3, hidden=4, n_blocks=1, dense=8, dropout=0.0)
    x = torch.randn(5, 1, 20, generator=torch.Generator().manual_seed(0))
    p = net.mc_proba(x, passes=3)
    assert p.shape == (3, 5, 3)
    net.eval()
    ref = torch.softmax(net(x), dim=1).detach()
    for k in range(3):  # without dropout every pass is the plain forward
        torch.testing.assert_close(p[k], ref)


def test_bad_inputs(shift_case):
    xs, ys, xt, _, _ = shift_case
    with pytest.raises(DataError, match="target domain .* has no unlabelled pixels"):
        fit("ghca", xs, ys, xt[:0], classes=CLASSES, settings=TINY)
    with pytest.raises(DataError, match="class 4 has no source sample"):
        fit("ghca", xs, ys, xt, classes=[1, 2, 3, 4], settings=TINY)
    with pytest.raises(DataError, match="not among classes"):
        fit("ghca", xs, ys, xt, classes=[1, 2], settings=TINY)
    bad = xt.copy()
    bad[3, 0, 5] = np.nan
    with pytest.raises(DataError, match=r"Xt \(target\) holds NaN"):
        fit("ghca", xs, ys, bad, classes=CLASSES, settings=TINY)
    bad = xs.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(DataError, match=r"Xs \(source\) holds NaN"):
        fit("ghca", bad, ys, xt, classes=CLASSES, settings=TINY)
    with pytest.raises(ConfigError, match="unknown adaptation method"):
        fit("fixmatch", xs, ys, xt, classes=CLASSES, settings=TINY)
    with pytest.raises(ConfigError, match="mmd_layer_weights"):
        AdaptSettings.build({"n_blocks": 2}, "adapt.training")


def test_with_domain_bn_measures_the_statistics_of_the_given_domain():
    net = TempCNN(np.zeros(1), np.ones(1), 6, 2, hidden=3, n_blocks=1, kernel_size=1, dense=4)
    with torch.no_grad():
        net.blocks[0][0].weight.copy_(torch.tensor([[[1.0]], [[2.0]], [[-1.0]]]))
    x = torch.arange(24, dtype=torch.float32).reshape(4, 1, 6)  # values 0..23
    out = with_domain_bn(net, x, batch=2)  # two batches: values 0..11 and 12..23
    bn = out.blocks[0][1]
    # channel c is w_c * x; batch means 5.5 and 17.5 -> 11.5; the unbiased variance of
    # 12 consecutive integers is 12 * 13 / 12 = 13 in both batches
    torch.testing.assert_close(bn.running_mean, torch.tensor([11.5, 23.0, -11.5]))
    torch.testing.assert_close(bn.running_var, torch.tensor([13.0, 52.0, 13.0]))
    assert bn.momentum == 0.1 and not out.training and not bn.training
    # the original is untouched, and every parameter is copied unchanged
    torch.testing.assert_close(net.blocks[0][1].running_mean, torch.zeros(3))
    for a, b in zip(net.parameters(), out.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    one = with_domain_bn(net, x[:1])  # one row has no statistics: a plain copy
    torch.testing.assert_close(one.blocks[0][1].running_mean, torch.zeros(3))


def test_ghca_predicts_the_target_with_its_own_batchnorm_statistics(shift_case):
    xs, ys, xt, _, _ = shift_case
    on = fit("ghca", xs, ys, xt, classes=CLASSES, settings=TINY, seed=0)
    aligned = shift_series(xt, on.shift)  # GHCA moves the target's series first
    ref = with_domain_bn(on.net, torch.from_numpy(aligned)).blocks[0][1]
    torch.testing.assert_close(on.net.blocks[0][1].running_mean, ref.running_mean)
    no_bn = TINY.model_copy(update={"target_bn": False})
    off = fit("ghca", xs, ys, xt, classes=CLASSES, settings=no_bn, seed=0)
    assert not torch.allclose(off.net.blocks[0][1].running_mean, ref.running_mean)


def test_pseudo_labels_start_after_warm_up_and_delay(shift_case):
    xs, ys, xt, _, _ = shift_case
    late = TINY.model_copy(update={"pseudo_delay": 1, "confidence": 0.34})  # any argmax
    model = fit("pseudo_label", xs, ys, xt, classes=CLASSES, settings=late, seed=0)
    kept = [row["n_kept"] for row in model.history]
    assert kept[:3] == [0, 0, 0] and kept[3] > 0 and kept[4] > 0
    with pytest.raises(ValueError, match=r"warmup_epochs \+ pseudo_delay \(5\)"):
        AdaptSettings(epochs=5, warmup_epochs=3, pseudo_delay=2)


def test_domain_specific_batchnorm_changes_training_and_stays_deterministic(shift_case):
    xs, ys, xt, xe, _ = shift_case
    dsbn = TINY.model_copy(update={"domain_batches": True})
    a = fit("ghca_no_pseudo", xs, ys, xt, classes=CLASSES, settings=dsbn, seed=1)
    b = fit("ghca_no_pseudo", xs, ys, xt, classes=CLASSES, settings=dsbn, seed=1)
    mixed = fit("ghca_no_pseudo", xs, ys, xt, classes=CLASSES, settings=TINY, seed=1)
    np.testing.assert_array_equal(a.predict_proba(xe), b.predict_proba(xe))
    assert not np.allclose(a.predict_proba(xe), mixed.predict_proba(xe))
