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
    blocks = pd.DataFrame(
        {
            "block_id": ["t_r00c00", "t_r00c01"],
            "bx": [10, 11],
            "by": [3, 3],
            "factory_fraction": [0.50, 0.80],
        }
    )
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
    out = models.reference_labels(ref, blocks, (0.0, 1000.0), 100.0, 0.05, "EPSG:3857")
    assert out["block_id"].tolist() == ["t_r00c00", "t_r00c01"]
    assert out["correct"].tolist() == [1, 0]  # |0.50 - 0.54| <= 0.05; |0.80 - 0.60| > 0.05
    assert out["split"].tolist() == ["train", "validation"]


def test_correctness_model_learns_a_rule_of_its_data():
    rng = np.random.default_rng(0)
    n = 400
    blocks = pd.DataFrame(
        {
            "block_id": [f"b{i}" for i in range(n)],
            "tile": "t",
            "row": 0,
            "col": np.arange(n),
            "bx": np.arange(n),
            "by": 0,
            "agree_wc": rng.random(n),
            "entropy": rng.random(n),
        }
    )
    labelled = blocks.assign(
        correct=(blocks["agree_wc"] > 0.3).astype(int),
        split=np.where(np.arange(n) % 2 == 0, "train", "validation"),
    )
    settings = BlockModelSettings(num_boost_round=50)
    booster, metrics, p = models.fit_correctness(labelled, blocks, settings, seed=0)
    val = metrics.set_index("split").loc["validation"]
    assert val["accuracy"] >= 0.95 and val["auc"] >= 0.99
    assert len(p) == n and np.all((p >= 0) & (p <= 1))
    majority = metrics.set_index("split").loc["validation, majority answer"]
    assert majority["accuracy"] == pytest.approx(np.mean(labelled["correct"][1::2]))


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
