"""Station metrics by hand, and station-grouped folds that never mix train and test."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agrifactory.soil_moisture.evaluate import (
    cv_splits,
    metrics,
    per_station_metrics,
    station_folds,
    summarise,
)


def test_metrics_by_hand():
    m = metrics(np.array([0.1, 0.2, 0.3, 0.4, np.nan]), np.array([0.1, 0.1, 0.3, 0.3, 0.2]))
    assert m["n"] == 4
    assert m["bias"] == pytest.approx(0.05)
    assert m["rmse"] == pytest.approx(np.sqrt(0.005))
    assert m["ubrmse"] == pytest.approx(0.05)
    assert m["pcc"] == pytest.approx(0.01 / (np.sqrt(0.0125) * 0.1))
    assert np.isnan(metrics(np.array([0.1]), np.array([0.2]))["pcc"])


def test_summary_adds_per_station_medians():
    est = np.array([[0.1, 0.2], [0.2, 0.1], [0.3, 0.3]])
    obs = np.array([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]])
    per = per_station_metrics(est, obs, ["a", "b"])
    assert per.loc[0, "rmse"] == 0 and per.loc[0, "pcc"] == pytest.approx(1.0)
    s = summarise(est, obs, ["a", "b"])
    assert s["station_median_pcc"] == pytest.approx(np.median(per["pcc"]))


@given(
    st.lists(st.text("abcdefgh", min_size=1, max_size=3), min_size=2, max_size=40),
    st.integers(2, 10),
    st.integers(0, 1000),
)
@settings(max_examples=200, deadline=None)
def test_folds_partition_the_stations(ids, k, seed):
    unique = sorted(set(ids))
    if not 2 <= k <= len(unique):
        with pytest.raises(ValueError):
            station_folds(ids, k, seed)
        return
    folds = station_folds(ids, k, seed)
    flat = [s for f in folds for s in f]
    assert sorted(flat) == unique  # every station tested exactly once
    assert max(map(len, folds)) - min(map(len, folds)) <= 1
    # rows of a repeated station id always fall on the same side
    for train, test in cv_splits(ids, k, seed):
        train_ids = {ids[i] for i in train}
        test_ids = {ids[i] for i in test}
        assert not train_ids & test_ids
        assert len(train) + len(test) == len(ids)


def test_folds_are_deterministic():
    ids = [f"s{i}" for i in range(12)]
    a = station_folds(ids, 4, seed=7)
    b = station_folds(ids, 4, seed=7)
    assert all((x == y).all() for x, y in zip(a, b, strict=True))
