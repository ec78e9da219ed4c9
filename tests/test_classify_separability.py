"""Jeffries-Matusita distance and sample re-selection."""

from __future__ import annotations

import numpy as np
import pytest

from agrifactory.classify.separability import (
    bhattacharyya_distance,
    jeffries_matusita,
    pairwise_jm,
    reselect_samples,
)
from agrifactory.errors import DataError


def test_univariate_gaussians_match_the_closed_form():
    # Two samples with exactly mean 0 / 2 and variance 1 (ddof=1): B = (2^2)/(8*1) = 0.5
    a = np.array([-1.0, 0.0, 1.0])
    b = a + 2.0
    assert bhattacharyya_distance(a, b, ridge=0) == pytest.approx(0.5)
    assert jeffries_matusita(a, b, ridge=0) == pytest.approx(2 * (1 - np.exp(-0.5)))


def test_variance_term_of_bhattacharyya():
    # Same mean, variances 1 and 4: B = 0.5 ln(2.5 / sqrt(4)) = 0.5 ln 1.25
    a = np.array([-1.0, 0.0, 1.0])
    b = 2 * a
    assert bhattacharyya_distance(a, b, ridge=0) == pytest.approx(0.5 * np.log(1.25))


def test_identical_classes_zero_and_far_classes_two():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    assert jeffries_matusita(x, x) == pytest.approx(0.0, abs=1e-9)
    assert jeffries_matusita(x, x + 20) == pytest.approx(2.0, abs=1e-9)


def test_singular_covariance_is_regularised():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(5, 46))  # 5 samples, 46 dates: singular covariance
    jm = jeffries_matusita(a, a + 1.0)
    assert 0 < jm <= 2


def test_pairwise_table_and_input_errors():
    x = np.array([[0.0], [1.0], [5.0], [6.0], [10.0], [11.0]])
    y = np.array([1, 1, 2, 2, 3, 3])
    table = pairwise_jm(x, y)
    assert table[["class_a", "class_b"]].values.tolist() == [[1, 2], [1, 3], [2, 3]]
    with pytest.raises(DataError, match="1 sample"):
        jeffries_matusita(np.array([[1.0]]), np.array([[1.0], [2.0]]))
    with pytest.raises(DataError, match="NaN"):
        jeffries_matusita(np.array([[1.0], [np.nan]]), np.array([[1.0], [2.0]]))


def test_reselection_sets_aside_the_ambiguous_samples():
    rng = np.random.default_rng(2)
    a = rng.normal(0, 1, size=(100, 2))
    b = rng.normal(0, 1, size=(100, 2)) + [5.0, 0.0]
    # ten mislabelled samples of class 2 that sit inside class 1
    b[:10] = rng.normal(0, 0.5, size=(10, 2))
    x = np.vstack([a, b])
    y = np.repeat([1, 2], 100)
    before = pairwise_jm(x, y)["jm"].iloc[0]
    keep, removed = reselect_samples(x, y, below=1.8, target=1.9, step=0.02, max_removed=0.2)
    after = jeffries_matusita(x[keep & (y == 1)], x[keep & (y == 2)])
    assert before < 1.8 and after > before
    assert len(removed) == int((~keep).sum()) > 0
    # the planted samples are among the first set aside
    first_round = removed[removed["round"] == 1]["index"].tolist()
    assert set(first_round) <= set(range(100, 110))
    assert (~keep).sum() <= 0.2 * 200


def test_no_reselection_when_separable():
    rng = np.random.default_rng(3)
    x = np.vstack([rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) + 20])
    y = np.repeat([1, 2], 30)
    keep, removed = reselect_samples(x, y)
    assert keep.all() and removed.empty
