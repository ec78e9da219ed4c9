"""The integration stage's models: votes, accuracy, reference matching (by hand), and
that the correctness model learns a rule that holds in its data."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from agrifactory.classify.active_learning import propose_samples
from agrifactory.errors import DataError
from agrifactory.integration import models
from agrifactory.integration.rules import BlockModelSettings

NAN = np.nan


def test_majority_vote_by_hand():
    votes = {
        "factory": np.array([1, 0, 1, 0, NAN]),
        "a": np.array([1, 1, 0, NAN, NAN]),
        "b": np.array([0, 1, 0, NAN, NAN]),
    }
    out = models.majority_vote(votes, tie=votes["factory"])
    # 2:1 cropland; 2:1 cropland; 1:2 not; only the factory (0); nobody: NaN.
    np.testing.assert_array_equal(out, [1, 1, 0, 0, NAN])
    tie = models.majority_vote({"f": np.array([1.0]), "a": np.array([0.0])}, tie=np.array([1.0]))
    assert tie.tolist() == [1.0]  # a tie takes the factory's answer


def test_source_votes_threshold_fractions_at_one_half():
    table = pd.DataFrame({"factory": [1, 0, 255], "value_wc": [0.5, 0.49, NAN]})
    votes = models.source_votes(table, ["wc"])
    np.testing.assert_array_equal(votes["factory"], [1, 0, NAN])
    np.testing.assert_array_equal(votes["wc"], [1, 0, NAN])


def test_source_accuracy_counts_no_answer_as_wrong():
    table = pd.DataFrame({"label": [1, 1, 0, 0]})
    acc = models.source_accuracy(table, {"a": np.array([1, NAN, 0, 1])}).iloc[0]
    assert (acc["n"], acc["covered"], acc["correct"]) == (4, 3, 2)
    assert acc["overall_accuracy"] == 0.5


def test_reference_blocks_are_matched_by_their_centres():
    blocks = pd.DataFrame({"block_id": ["t_r00c00", "t_r00c01"], "bx": [10, 11], "by": [3, 3]})
    # Blocks of 100 m from origin (0, 1000): bx 10 spans x 1000-1100, by 3 spans y 700-600.
    ref = gpd.GeoDataFrame(
        {"cropland_fraction": [0.54, 0.60, 0.3], "split": ["train", "validation", "train"]},
        geometry=[
            shapely.box(1000, 600, 1100, 700),
            shapely.box(1100, 600, 1200, 700),
            shapely.box(5000, 600, 5100, 700),  # outside the run's blocks
        ],
        crs="EPSG:3857",
    )
    out = models.reference_labels(ref, blocks, (0.0, 1000.0), 100.0, "EPSG:3857")
    assert out["block_id"].tolist() == ["t_r00c00", "t_r00c01"]
    assert out["reference_fraction"].tolist() == [0.54, 0.60]
    assert out["split"].tolist() == ["train", "validation"]


def test_map_rows_and_labels_by_hand():
    blocks = pd.DataFrame({"block_id": ["a", "b"], "entropy": [0.1, 0.2]})
    map_blocks = pd.DataFrame(
        {
            "block_id": ["a", "b", "a", "b", "a", "b"],
            "map": ["factory", "factory", "wc", "wc", "clcd", "clcd"],
            "fraction": [0.50, 0.20, 0.70, NAN, 0.30, 0.10],
        }
    )
    rows = models.map_rows(blocks, map_blocks)
    a_wc = rows[(rows["block_id"] == "a") & (rows["map"] == "wc")].iloc[0]
    assert a_wc["map_code"] == 1.0 and a_wc["map_fraction"] == 0.70
    assert a_wc["diff_factory"] == pytest.approx(0.20)
    assert a_wc["diff_clcd"] == pytest.approx(0.40)
    assert a_wc["diff_others"] == pytest.approx(0.70 - 0.40)
    assert a_wc["entropy"] == 0.1
    b_f = rows[(rows["block_id"] == "b") & (rows["map"] == "factory")].iloc[0]
    assert np.isnan(b_f["diff_wc"])  # wc has no data in b: NaN, not a difference to 0
    assert b_f["diff_others"] == pytest.approx(0.20 - 0.10)  # the mean of those with data
    labels = pd.DataFrame(
        {
            "block_id": ["a", "b"],
            "reference_fraction": [0.52, 0.0],
            "split": ["train", "validation"],
        }
    )
    out = models.label_rows(rows, labels, 0.05).set_index(["block_id", "map"])["correct"]
    # a: factory 0.50 (ok), wc 0.70, clcd 0.30; b: factory 0.20, wc none, clcd 0.10.
    assert out.to_dict() == {
        ("a", "factory"): 1,
        ("a", "wc"): 0,
        ("a", "clcd"): 0,
        ("b", "factory"): 0,
        ("b", "clcd"): 0,
    }
    assert models.correctness_features(rows)[:2] == ["map_code", "map_fraction"]


def test_correctness_model_learns_a_rule_of_its_data():
    rng = np.random.default_rng(0)
    n = 400
    rows = pd.DataFrame(
        {
            "block_id": [f"b{i}" for i in range(n)],
            "map": np.where(np.arange(n) % 3 == 0, "wc", "factory"),
            "map_code": (np.arange(n) % 3 == 0).astype(float),
            "map_fraction": rng.random(n),
            "diff_others": rng.random(n),
        }
    )
    labelled = rows.assign(
        correct=(rows["diff_others"] < 0.3).astype(int),
        split=np.where(np.arange(n) % 2 == 0, "train", "validation"),
    )
    settings = BlockModelSettings(num_boost_round=50)
    booster, metrics, p = models.fit_correctness(labelled, rows, settings, seed=0)
    val = metrics.set_index(["split", "map"]).loc[("validation", "all")]
    assert val["accuracy"] >= 0.95 and val["auc"] >= 0.99
    assert len(p) == n and np.all((p >= 0) & (p <= 1))
    assert metrics["map"].tolist() == ["all", "all", "all", "factory", "wc"]
    majority = metrics.set_index(["split", "map"]).loc[("validation, majority answer", "all")]
    # About 30 % of the training rows are correct: the majority answer is "incorrect".
    assert majority["accuracy"] == pytest.approx(1 - np.mean(labelled["correct"][1::2]))


def test_a_model_without_both_classes_is_refused():
    X = pd.DataFrame({"a": [0.1, 0.2, 0.3]})
    with pytest.raises(DataError, match="both classes"):
        models.train_binary(X, np.array([1, 1, 1]), BlockModelSettings(), seed=0)


def test_priority_orders_proposals_before_uncertainty():
    proba = np.array([[0.5, 0.5], [0.9, 0.1], [0.6, 0.4], [0.99, 0.01]])
    xy = np.zeros((4, 2))
    # Uncertainty alone: 0, 2, 1, 3. With priorities, samples 1 and 3 (high) come
    # first, the more uncertain of them (1) leading; then 0 before 2.
    assert propose_samples(proba, xy, 4).tolist() == [0, 2, 1, 3]
    priority = np.array([0.2, 0.8, 0.2, 0.8])
    assert propose_samples(proba, xy, 4, priority=priority).tolist() == [1, 3, 0, 2]


def test_the_integration_model_never_lowers_cropland_as_a_source_rises():
    rng = np.random.default_rng(3)
    n = 300
    X = pd.DataFrame({"proba": rng.random(n), "value_wc": rng.random(n), "edge": rng.random(n)})
    # Labels with noise that, unconstrained, could bend the fitted curve downwards.
    y = ((X["proba"] + 0.3 * X["value_wc"] + rng.normal(0, 0.3, n)) > 0.65).astype(int)
    increasing = models.increasing_columns(X.columns)
    assert increasing == ["proba", "value_wc"]
    booster = models.train_binary(X, y.to_numpy(), BlockModelSettings(), 0, increasing)
    grid = pd.DataFrame({"proba": 0.5, "value_wc": np.linspace(0, 1, 101), "edge": 0.5})
    assert np.all(np.diff(models.predict(booster, grid)) >= 0)
    grid = pd.DataFrame({"proba": np.linspace(0, 1, 101), "value_wc": 0.5, "edge": 0.5})
    assert np.all(np.diff(models.predict(booster, grid)) >= 0)


def test_groups_give_one_proposal_per_block():
    proba = np.array([[0.5, 0.5], [0.55, 0.45], [0.6, 0.4], [0.9, 0.1]])
    xy = np.zeros((4, 2))
    priority = np.array([0.9, 0.9, 0.9, 0.1])
    groups = np.array([7, 7, 8, 9])
    # Block 7 (priority 0.9) gives its most uncertain sample (0) only, then block 8, then 9.
    picks = propose_samples(proba, xy, 3, priority=priority, groups=groups)
    assert picks.tolist() == [0, 2, 3]
