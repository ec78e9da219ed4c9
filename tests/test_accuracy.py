"""Accuracy formulas against hand-worked cases and the Olofsson et al. (2014) example."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agrifactory.classify.accuracy import (
    accuracy_table,
    confusion_matrix,
    f1_scores,
    kappa,
    macro_f1,
    overall_accuracy,
    producers_accuracy,
    stratified_estimates,
    users_accuracy,
)
from agrifactory.errors import DataError

# Olofsson et al. (2014), Section 5 / Table 8: sample counts, rows = map classes
# (deforestation, forest gain, stable forest, stable non-forest), columns = reference.
OLOFSSON_CM = np.array(
    [
        [66, 0, 5, 4],
        [0, 55, 8, 12],
        [1, 0, 153, 11],
        [2, 1, 9, 313],
    ]
)
# Mapped areas: 200,000 / 150,000 / 3,200,000 / 6,450,000 pixels of 30 m = 0.09 ha.
OLOFSSON_AREA_HA = np.array([18_000.0, 13_500.0, 288_000.0, 580_500.0])


def test_hand_worked_two_classes():
    # rows mapped, columns reference
    cm = np.array([[40, 10], [5, 45]])
    assert overall_accuracy(cm) == pytest.approx(0.85)
    # pe = (50*45 + 50*55) / 100^2 = 0.5 -> kappa = (0.85 - 0.5) / 0.5
    assert kappa(cm) == pytest.approx(0.7)
    np.testing.assert_allclose(users_accuracy(cm), [0.8, 0.9])
    np.testing.assert_allclose(producers_accuracy(cm), [40 / 45, 45 / 55])
    np.testing.assert_allclose(f1_scores(cm), [80 / 95, 90 / 105])
    assert macro_f1(cm) == pytest.approx((80 / 95 + 90 / 105) / 2)


def test_confusion_matrix_orientation_and_counts():
    reference = [1, 1, 2, 2, 2, 3]
    mapped = [1, 2, 2, 2, 3, 3]
    cm = confusion_matrix(reference, mapped, [1, 2, 3])
    # cm[i, j]: mapped i, reference j
    np.testing.assert_array_equal(cm, [[1, 0, 0], [1, 2, 0], [0, 1, 1]])


def test_confusion_matrix_rejects_labels_outside_classes():
    with pytest.raises(DataError, match=r"mapped labels \[9\]"):
        confusion_matrix([1, 2], [1, 9], [1, 2])
    with pytest.raises(DataError, match="2 reference labels but 3"):
        confusion_matrix([1, 2], [1, 2, 2], [1, 2])


def test_class_never_mapped_gives_nan_not_zero():
    cm = np.array([[5, 2], [0, 0]])
    ua = users_accuracy(cm)
    assert ua[0] == pytest.approx(5 / 7) and np.isnan(ua[1])


def test_hand_worked_stratified():
    # Two strata with W = (0.2, 0.8), 10 samples each.
    cm = np.array([[8, 2], [1, 9]])
    est = stratified_estimates(cm, [20.0, 80.0])
    # p.0 = 0.2*0.8 + 0.8*0.1 = 0.24 ; p.1 = 0.2*0.2 + 0.8*0.9 = 0.76
    np.testing.assert_allclose(est.area_proportion, [0.24, 0.76])
    np.testing.assert_allclose(est.area, [24.0, 76.0])
    assert est.overall == pytest.approx(0.88)
    # V(O) = 0.2^2 * 0.8*0.2/9 + 0.8^2 * 0.9*0.1/9 = 0.064 / 9
    assert est.overall_se == pytest.approx(np.sqrt(0.064 / 9))
    # V(p.0): the same two terms here
    assert est.area_proportion_se[0] == pytest.approx(np.sqrt(0.064 / 9))
    np.testing.assert_allclose(est.producers, [0.16 / 0.24, 0.72 / 0.76])
    np.testing.assert_allclose(est.users, [0.8, 0.9])
    np.testing.assert_allclose(est.users_se, np.sqrt([0.8 * 0.2 / 9, 0.9 * 0.1 / 9]))


def test_olofsson_2014_area_proportions():
    est = stratified_estimates(OLOFSSON_CM, OLOFSSON_AREA_HA)
    # Table 9 (estimated area proportions): column totals and the first row
    np.testing.assert_allclose(est.area_proportion, [0.0235, 0.0130, 0.3175, 0.6460], atol=5e-5)
    np.testing.assert_allclose(est.proportions[0], [0.0176, 0.0, 0.0013, 0.0011], atol=5e-5)
    # standard errors: the published 95% half-widths / 1.96 / 900,000 ha
    np.testing.assert_allclose(est.area_proportion_se, [0.0035, 0.0021, 0.0088, 0.0092], atol=5e-5)


def test_olofsson_2014_areas_with_confidence_intervals():
    est = stratified_estimates(OLOFSSON_CM, OLOFSSON_AREA_HA)
    # Published: 21,158 +- 6,158 ha; 11,686 +- 3,756 ha; 285,770 +- 15,510 ha; 581,386 +- 16,282 ha
    np.testing.assert_allclose(est.area, [21_158, 11_686, 285_770, 581_386], atol=0.5)
    np.testing.assert_allclose(1.96 * est.area_se, [6_158, 3_756, 15_510, 16_282], atol=0.5)
    lo, hi = est.ci("area")
    assert lo[0] == pytest.approx(21_158 - 6_158, abs=1) and hi[0] == pytest.approx(27_316, abs=1)


def test_olofsson_2014_accuracies():
    est = stratified_estimates(OLOFSSON_CM, OLOFSSON_AREA_HA)
    # Published: OA 0.95 +- 0.02; UA 0.88 +- 0.07, 0.73 +- 0.10, 0.93 +- 0.04, 0.96 +- 0.02;
    # PA 0.75 +- 0.21, 0.85 +- 0.25, 0.93 +- 0.03, 0.96 +- 0.02
    assert est.overall == pytest.approx(0.95, abs=0.005)
    assert 1.96 * est.overall_se == pytest.approx(0.02, abs=0.005)
    np.testing.assert_allclose(est.users, [0.88, 0.73, 0.93, 0.96], atol=0.005)
    np.testing.assert_allclose(1.96 * est.users_se, [0.07, 0.10, 0.04, 0.02], atol=0.005)
    np.testing.assert_allclose(est.producers, [0.75, 0.85, 0.93, 0.96], atol=0.005)
    np.testing.assert_allclose(1.96 * est.producers_se, [0.21, 0.25, 0.03, 0.02], atol=0.005)
    # the unrounded values (independent implementations agree to these digits)
    assert est.overall == pytest.approx(0.946512, abs=1e-6)
    np.testing.assert_allclose(est.producers, [0.748661, 0.847156, 0.934509, 0.961609], atol=1e-6)


def test_stratified_needs_two_samples_per_stratum():
    with pytest.raises(DataError, match=r"map classes \[1\]"):
        stratified_estimates(np.array([[5, 1], [0, 1]]), [10.0, 10.0])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3), min_size=2, max_size=60), st.data())
def test_stratified_equals_sample_proportions_when_sample_is_proportional(ref, data):
    """With areas proportional to the sample sizes, stratified = plain sample estimates."""
    mapped = data.draw(st.lists(st.integers(0, 3), min_size=len(ref), max_size=len(ref)))
    cm = confusion_matrix(ref, mapped, [0, 1, 2, 3])
    n_i = cm.sum(axis=1)
    if np.any((n_i > 0) & (n_i < 2)):
        return
    est = stratified_estimates(cm, n_i.astype(float))
    assert est.overall == pytest.approx(overall_accuracy(cm))
    assert est.area_proportion.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(est.area_proportion, cm.sum(axis=0) / cm.sum())


def test_accuracy_table_is_tidy_and_consistent():
    legend = {"other": 0, "cropland": 1}
    ref = [0] * 10 + [1] * 10
    mapped = [0] * 8 + [1] * 2 + [1] * 9 + [0]
    table = accuracy_table(
        ref, mapped, legend, product="cropland", mapped_area={0: 700.0, 1: 300.0}
    )
    assert list(table.columns) == [
        "product",
        "class_code",
        "class_name",
        "metric",
        "value",
        "se",
        "ci95_low",
        "ci95_high",
        "n",
    ]
    get = table.set_index(["class_name", "metric"])["value"]
    assert get[("all", "overall_accuracy")] == pytest.approx(17 / 20)
    assert get[("cropland", "users_accuracy")] == pytest.approx(9 / 11)
    assert get[("cropland", "producers_accuracy")] == pytest.approx(9 / 10)
    area = table[table.metric == "area"]
    assert area["value"].sum() == pytest.approx(1000.0)
    assert (area["ci95_low"] < area["value"]).all() and (area["value"] < area["ci95_high"]).all()
    assert not table.duplicated(["class_name", "metric"]).any()
    assert isinstance(table, pd.DataFrame)
