"""EMA teacher, MC-dropout statistics and the pseudo-label filter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from agrifactory.adapt.teacher import (
    LabelHistory,
    class_balanced_top,
    ema_decay_at,
    ema_update,
    predictive_stats,
    pseudo_label_mask,
    ramp_weight,
)

torch.set_num_threads(1)


def _module(w: float, b: float, g: float, beta: float, mean: float, var: float, n: int):
    m = nn.Sequential(nn.Linear(1, 1), nn.BatchNorm1d(1))
    with torch.no_grad():
        m[0].weight.fill_(w)
        m[0].bias.fill_(b)
        m[1].weight.fill_(g)
        m[1].bias.fill_(beta)
        m[1].running_mean.fill_(mean)
        m[1].running_var.fill_(var)
        m[1].num_batches_tracked.fill_(n)
    return m


def test_ema_update_exact_values_with_batchnorm_buffers():
    teacher = _module(1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0)
    student = _module(3.0, 2.0, 5.0, -1.0, 4.0, 9.0, 7)
    ema_update(teacher, student, 0.75)  # t = 0.75 t + 0.25 s
    assert teacher[0].weight.item() == 1.5
    assert teacher[0].bias.item() == 0.5
    assert teacher[1].weight.item() == 2.0
    assert teacher[1].bias.item() == -0.25
    assert teacher[1].running_mean.item() == 1.0
    assert teacher[1].running_var.item() == 3.0
    assert int(teacher[1].num_batches_tracked) == 7  # integer buffer copied
    assert student[0].weight.item() == 3.0  # the student is untouched


def test_predictive_stats_mean_and_sd_of_the_predicted_class():
    passes = np.array([[[0.9, 0.1], [0.4, 0.6]], [[0.7, 0.3], [0.0, 1.0]]])
    mean, unc = predictive_stats(passes)
    np.testing.assert_allclose(mean, [[0.8, 0.2], [0.2, 0.8]])
    # row 0: class 0, values 0.9 and 0.7 -> s.d. 0.1; row 1: class 1, 0.6 and 1.0 -> 0.2
    np.testing.assert_allclose(unc, [0.1, 0.2])


def test_label_history_stability():
    h = LabelHistory(2, window=3)
    h.update(np.array([0, 1]))
    h.update(np.array([0, 1]))
    assert h.stable().tolist() == [False, False]  # fewer than 3 refreshes
    h.update(np.array([0, 0]))
    assert h.stable().tolist() == [True, False]
    h.update(np.array([0, 0]))
    assert h.stable().tolist() == [True, False]  # 1, 0, 0
    h.update(np.array([0, 0]))
    assert h.stable().tolist() == [True, True]


def test_pseudo_label_filter_keeps_exactly_the_right_rows():
    proba = np.array([[0.95, 0.05], [0.95, 0.05], [0.6, 0.4], [0.1, 0.9], [0.2, 0.8]])
    unc = np.array([0.01, 0.2, 0.0, 0.05, 0.05])
    stable = np.array([True, True, True, False, True])
    full = pseudo_label_mask(
        proba, confidence=0.8, uncertainty=unc, max_uncertainty=0.05, stable=stable
    )
    # row 1: too uncertain; row 2: not confident; row 3: not stable; row 4: at both limits
    assert full.tolist() == [True, False, False, False, True]
    conf_only = pseudo_label_mask(proba, confidence=0.8)
    assert conf_only.tolist() == [True, True, False, True, True]
    assert np.all(conf_only >= full)
    with pytest.raises(ValueError, match="uncertainty"):
        pseudo_label_mask(proba, confidence=0.8, max_uncertainty=0.1)


def test_class_balanced_top_keeps_the_most_confident_share_of_each_class():
    proba = np.array(
        [
            [0.9, 0.1, 0.0],  # class 0, most confident of 4
            [0.6, 0.4, 0.0],  # class 0, 3rd
            [0.8, 0.2, 0.0],  # class 0, 2nd
            [0.5, 0.3, 0.2],  # class 0, 4th
            [0.1, 0.55, 0.35],  # class 1, 2nd of 2
            [0.0, 0.7, 0.3],  # class 1, 1st
            [0.2, 0.2, 0.6],  # class 2, alone
        ]
    )
    # share 0.5: ceil(2) of class 0, ceil(1) of class 1, ceil(0.5) = 1 of class 2
    keep = class_balanced_top(proba, 0.5)
    assert keep.tolist() == [True, False, True, False, False, True, True]
    assert class_balanced_top(proba, 1.0).all()
    # share 0.25: 1 of class 0, 1 of class 1, 1 of class 2
    assert np.flatnonzero(class_balanced_top(proba, 0.25)).tolist() == [0, 5, 6]


def test_class_balanced_top_breaks_ties_by_row_order():
    proba = np.array([[0.7, 0.3], [0.7, 0.3], [0.7, 0.3]])
    assert class_balanced_top(proba, 0.5).tolist() == [True, True, False]


def test_pseudo_label_mask_with_a_share_is_balanced_and_confident():
    proba = np.array([[0.9, 0.1], [0.85, 0.15], [0.8, 0.2], [0.3, 0.7], [0.45, 0.55]])
    # class 0: 3 rows, share 0.5 -> the 2 most confident; class 1: 2 rows -> 1
    keep = pseudo_label_mask(proba, confidence=0.6, share=0.5)
    assert keep.tolist() == [True, True, False, True, False]
    # the confidence floor still applies: row 3 (0.7) is below 0.75
    assert pseudo_label_mask(proba, confidence=0.75, share=0.5).tolist() == [
        True,
        True,
        False,
        False,
        False,
    ]
    unc = np.array([0.2, 0.0, 0.0, 0.0, 0.0])
    full = pseudo_label_mask(proba, confidence=0.6, share=0.5, uncertainty=unc, max_uncertainty=0.1)
    assert full.tolist() == [False, True, False, True, False]  # row 0 too uncertain


def test_ema_decay_ramps_up_to_the_set_decay():
    assert ema_decay_at(0, 0.98) == 0.5
    assert ema_decay_at(2, 0.98) == 0.75
    assert ema_decay_at(48, 0.98) == 0.98  # 1 - 1/50
    assert ema_decay_at(1000, 0.98) == 0.98


def test_ramp_weight():
    assert ramp_weight(0.3, 0.0) == 1.0
    assert ramp_weight(0.0, 0.5) == pytest.approx(np.exp(-5.0))
    assert ramp_weight(0.25, 0.5) == pytest.approx(np.exp(-1.25))
    assert ramp_weight(0.5, 0.5) == 1.0
    assert ramp_weight(0.9, 0.5) == 1.0
