"""Cross-region transfer with and without temporal augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _classify_data import phenology_series

from agrifactory.classify.transfer import cnn_factory, transfer_experiment

torch.set_num_threads(1)


def test_transfer_to_a_region_with_shifted_phenology():
    peaks = (3.0, 6.0, 9.0)
    Xs, ys = phenology_series(n_per_class=40, peaks=peaks, seed=5)
    Xt, yt = phenology_series(n_per_class=30, peaks=peaks, seed=6, shift=1.3)
    make = cnn_factory(
        {"hidden": 8, "n_blocks": 2, "dense": 16, "epochs": 15, "batch_size": 16},
        {"augment_shift": 2.0, "augment_scale": 0.1, "augment_magnitude": 0.05, "augment_p": 0.8},
    )
    table = transfer_experiment(make, Xs, ys, Xt, yt, holdout_fraction=0.25, seed=0)
    assert table["augmentation"].tolist() == [False, True]
    np.testing.assert_allclose(table["oa_drop"], table["within_oa"] - table["transfer_oa"])
    assert table["n_train"].iloc[0] == 90 and table["n_target"].iloc[0] == 90
    plain, augmented = table.iloc[0], table.iloc[1]
    assert plain["within_oa"] > 0.9
    assert plain["oa_drop"] > 0.1  # a month of shift hurts the plain model
    assert augmented["oa_drop"] < plain["oa_drop"]
    assert augmented["transfer_oa"] == pytest.approx(table["transfer_oa"].max())
