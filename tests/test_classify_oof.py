"""Out-of-fold probabilities of the training samples (classify.oof)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from agrifactory.classify.oof import out_of_fold, stratified_folds


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=60),
    st.integers(2, 6),
    st.integers(0, 10),
)
def test_each_class_is_spread_evenly_over_the_folds(labels, folds, seed):
    y = np.array(labels)
    fold = stratified_folds(y, folds, seed)
    assert fold.min() >= 0 and fold.max() < folds
    for code in np.unique(y):
        counts = np.bincount(fold[y == code], minlength=folds)
        assert counts.max() - counts.min() <= 1


def _table(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    crop = np.arange(n) % 2
    return pd.DataFrame(
        {
            "sample_id": [f"S{i:03d}" for i in range(n)],
            "region": "west",
            "split": np.where(np.arange(n) < n - 6, "train", "validation"),
            "cropland": crop,
            "ndvi_a": crop + rng.normal(0, 0.3, n),
            "ndvi_b": rng.normal(0, 1, n),
        }
    )


def test_every_training_sample_gets_one_out_of_fold_probability():
    table = _table()
    out = out_of_fold(
        table,
        "cropland",
        "west",
        kind="lightgbm",
        params={"num_boost_round": 20, "min_data_in_leaf": 2},
        features=None,
        seed=0,
        min_count=2,
    )
    train_ids = table.loc[table["split"] == "train", "sample_id"]
    assert sorted(out["sample_id"]) == sorted(train_ids)  # each once; no validation sample
    assert set(out.columns) == {"sample_id", "fold", "p_other", "p_cropland"}
    np.testing.assert_allclose(out["p_other"] + out["p_cropland"], 1.0)
    # The feature separates the classes: held-out samples are mostly right.
    truth = table.set_index("sample_id").loc[out["sample_id"], "cropland"].to_numpy()
    assert np.mean((out["p_cropland"].to_numpy() >= 0.5) == (truth == 1)) >= 0.8
