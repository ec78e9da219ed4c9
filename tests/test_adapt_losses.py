"""Losses of the adaptation methods, against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from agrifactory.adapt.losses import (
    contrastive_loss,
    dann_lambda,
    grad_reverse,
    hierarchical_mmd,
    mk_mmd,
)

torch.set_num_threads(1)

A = torch.tensor([[0.0], [1.0]])
B = torch.tensor([[0.0], [2.0]])


def test_mk_mmd_by_hand_with_a_fixed_bandwidth():
    # s2 = 0.5: K = exp(-d^2). K(a,a) mean = (2 + 2 e^-1) / 4; K(b,b) mean = (2 + 2 e^-4) / 4
    # (d^2 = 4); K(a,b): d^2 = 0, 4, 1, 1 -> (1 + e^-4 + 2 e^-1) / 4.
    # MMD^2 = (1 + e^-1)/2 + (1 + e^-4)/2 - (1 + e^-4 + 2 e^-1)/2 = (1 - e^-1) / 2.
    assert float(mk_mmd(A, B, bandwidths=[0.5])) == pytest.approx((1 - math.exp(-1)) / 2)


def test_mk_mmd_is_the_mean_over_kernels():
    # s2 = 2: K = exp(-d^2 / 4); the same arithmetic gives (1 - e^-0.25) / 2.
    expected = ((1 - math.exp(-1)) / 2 + (1 - math.exp(-0.25)) / 2) / 2
    assert float(mk_mmd(A, B, bandwidths=[0.5, 2.0])) == pytest.approx(expected)


def test_mk_mmd_median_bandwidth():
    # pooled 0, 1, 0, 2: squared distances over i < j = 1, 0, 4, 1, 1, 4 -> median 1;
    # multiplier 0.5 -> s2 = 0.5, the case worked out above.
    assert float(mk_mmd(A, B, multipliers=[0.5])) == pytest.approx((1 - math.exp(-1)) / 2)


def test_mk_mmd_zero_for_identical_batches_and_symmetric():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(7, 3, generator=g), torch.randn(5, 3, generator=g) + 1
    assert float(mk_mmd(a, a)) == pytest.approx(0.0, abs=1e-7)
    assert float(mk_mmd(a, b)) == pytest.approx(float(mk_mmd(b, a)), rel=1e-6)
    assert float(mk_mmd(a, b)) > 0


def test_hierarchical_mmd_weights_and_pools_layers():
    maps_a = torch.stack([A, A], dim=2)  # (2, 1, 2): time-mean equals A
    maps_b = torch.stack([B, B], dim=2)
    got = hierarchical_mmd([A, maps_a], [B, maps_b], [2.0, 0.5], multipliers=[0.5])
    assert float(got) == pytest.approx(2.5 * (1 - math.exp(-1)) / 2)
    with pytest.raises(ValueError, match="must match"):
        hierarchical_mmd([A], [B], [1.0, 1.0])


def test_contrastive_loss_by_hand():
    # a (1,0) source class 0, b (0,1) source class 1, c (0.6,0.8) target class 0,
    # d (0,2) target class 1 (normalised to (0,1)); temperature 1, so s = cosine.
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [0.0, 2.0]])
    labels = torch.tensor([0, 1, 0, 1])
    domains = torch.tensor([0, 0, 1, 1])
    e = math.exp
    l_a = -math.log(e(0.6) / (e(0.6) + 2))  # P = {c}, N = {b: 0, d: 0}
    l_b = -math.log(e(1) / (e(1) + 1 + e(0.8)))  # P = {d}, N = {a: 0, c: 0.8}
    l_c = -math.log(e(0.6) / (e(0.6) + 2 * e(0.8)))  # P = {a}, N = {b: 0.8, d: 0.8}
    l_d = l_b  # P = {b}, N = {a: 0, c: 0.8}
    got = contrastive_loss(f, labels, domains, temperature=1.0)
    assert float(got) == pytest.approx((l_a + l_b + l_c + l_d) / 4)
    # temperature 0.5 doubles every similarity
    l_a2 = -math.log(e(1.2) / (e(1.2) + 2))
    l_b2 = -math.log(e(2) / (e(2) + 1 + e(1.6)))
    l_c2 = -math.log(e(1.2) / (e(1.2) + 2 * e(1.6)))
    got2 = contrastive_loss(f, labels, domains, temperature=0.5)
    assert float(got2) == pytest.approx((l_a2 + 2 * l_b2 + l_c2) / 4)


def test_contrastive_loss_zero_without_positive_pairs():
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], requires_grad=True)
    one_domain = contrastive_loss(f, torch.tensor([0, 0, 1]), torch.tensor([0, 0, 0]), 0.1)
    other_classes = contrastive_loss(f, torch.tensor([0, 1, 2]), torch.tensor([0, 1, 1]), 0.1)
    assert one_domain.item() == 0.0 and other_classes.item() == 0.0
    one_domain.backward()  # still part of the graph
    assert torch.equal(f.grad, torch.zeros_like(f))


def test_gradient_reversal_and_dann_ramp():
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    y = grad_reverse(x, 0.5)
    assert torch.equal(y, x.detach())
    y.sum().backward()
    assert x.grad.tolist() == [-0.5, -0.5]
    assert dann_lambda(0.0) == 0.0
    assert dann_lambda(1.0) == pytest.approx(2 / (1 + math.exp(-10)) - 1)
