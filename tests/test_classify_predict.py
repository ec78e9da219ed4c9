"""Training from a table and per-tile prediction into class and probability rasters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
from _classify_data import phenology_series
from affine import Affine

from agrifactory.classify.legend import IRRIGATION, NODATA
from agrifactory.classify.models import load_model
from agrifactory.classify.predict import predict_stack, write_prediction
from agrifactory.classify.train import split_validation, train_from_table
from agrifactory.errors import DataError, InputError
from agrifactory.grid import ALBERS

LEGEND = {"irrigated": 1, "rainfed": 2}
NAMES = [f"ndvi_m{m:02d}" for m in range(1, 13)]


@pytest.fixture(scope="module")
def table():
    X, y = phenology_series(n_per_class=25, peaks=(4.0, 7.0), seed=4)
    t = pd.DataFrame(X, columns=NAMES)
    t.insert(0, "sample_id", [f"s{i}" for i in range(len(y))])
    t.insert(1, "irrigation", pd.array(y, dtype="Int16"))
    t.insert(2, "cropland", pd.array(np.ones(len(y), int), dtype="Int16"))
    t.loc[3, "irrigation"] = pd.NA  # a sample without an irrigation label
    return t


@pytest.fixture(scope="module")
def model_and_report(table):
    return train_from_table(table, "irrigation", LEGEND, seed=1, validation_fraction=0.2)


def test_train_from_table_reports_validation(model_and_report):
    model, report = model_and_report
    assert model.kind == "svm"
    assert model.feature_names_ == NAMES
    assert model.metrics["n_train"] + model.metrics["n_validation"] == 49
    assert model.metrics["n_validation"] == 10
    oa = report.set_index("metric").loc["overall_accuracy", "value"]
    assert oa > 0.9
    assert model.metrics["jm"][0]["jm"] > 1.9


def test_split_validation_is_stratified_and_disjoint():
    y = np.repeat([1, 2, 3], [10, 20, 3])
    train, val = split_validation(y, 0.2, seed=0)
    assert not set(train) & set(val) and len(train) + len(val) == len(y)
    assert np.bincount(y[val]).tolist() == [0, 2, 4, 1]


def test_given_split_column_is_used(table):
    t = table.assign(split=np.where(np.arange(len(table)) % 4 == 0, "validation", "train"))
    model, report = train_from_table(
        t,
        "irrigation",
        LEGEND,
        kind="lightgbm",
        params={"num_boost_round": 10, "min_data_in_leaf": 3},
        split_column="split",
        features=["ndvi_m0*"],
    )
    assert model.feature_names_ == NAMES[:9]
    assert report["n"].iloc[0] == int(t[t.split == "validation"]["irrigation"].notna().sum())


def test_predict_stack_masks_and_nodata(model_and_report):
    model, _ = model_and_report
    X, y = phenology_series(n_per_class=8, peaks=(4.0, 7.0), seed=9)
    stack = X.T.reshape(12, 4, 4).astype(np.float32)
    stack[:, 0, 0] = np.nan  # no data
    stack[3, 0, 1] = np.nan  # one feature missing
    within = np.ones((4, 4), bool)
    within[3, 3] = False  # outside cropland
    classes, proba = predict_stack(model, stack, NAMES, within=within, chunk=5)
    assert classes.dtype == np.uint8 and proba.dtype == np.float32
    assert classes[0, 0] == NODATA and classes[0, 1] == NODATA and classes[3, 3] == NODATA
    valid = classes != NODATA
    assert set(np.unique(classes[valid])) <= set(LEGEND.values())
    np.testing.assert_allclose(proba[:, valid].sum(axis=0), 1.0, atol=1e-6)
    assert np.isnan(proba[:, ~valid]).all()
    # same answer as predicting the table rows
    flat = model.predict(X)
    np.testing.assert_array_equal(classes.ravel()[valid.ravel()], flat[valid.ravel()])


def test_predict_stack_rejects_other_features(model_and_report):
    model, _ = model_and_report
    with pytest.raises(DataError, match="feature names do not match"):
        predict_stack(model, np.zeros((12, 2, 2)), [f"evi_{i}" for i in range(12)])


def test_predict_stack_picks_the_model_features_by_name(model_and_report):
    model, _ = model_and_report
    X, _ = phenology_series(n_per_class=8, peaks=(4.0, 7.0), seed=9)
    stack = X.T.reshape(12, 4, 4)
    extra = np.concatenate([np.full((1, 4, 4), 7.0), stack[::-1]])
    names = ["elevation", *NAMES[::-1]]
    c1, p1 = predict_stack(model, stack, NAMES)
    c2, p2 = predict_stack(model, extra, names)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_allclose(p1, p2)


def test_write_prediction_rasters(model_and_report, tmp_path):
    model, _ = model_and_report
    X, _ = phenology_series(n_per_class=8, peaks=(4.0, 7.0), seed=9)
    stack = X.T.reshape(12, 4, 4)
    classes, proba = predict_stack(model, stack, NAMES)
    transform = Affine(30, 0, 1000, 0, -30, 5000)
    write_prediction(
        tmp_path / "irr.tif",
        tmp_path / "irr_p.tif",
        classes,
        proba,
        model,
        IRRIGATION,
        transform=transform,
        crs=ALBERS,
        product="irrigation",
        year=2020,
    )
    with rasterio.open(tmp_path / "irr.tif") as src:
        assert src.dtypes[0] == "uint8" and src.nodata == NODATA
        assert src.tags()["legend"] == "1=irrigated;2=rainfed"
        np.testing.assert_array_equal(src.read(1), classes)
    with rasterio.open(tmp_path / "irr_p.tif") as src:
        assert src.count == 2 and list(src.descriptions) == ["p_irrigated", "p_rainfed"]
        np.testing.assert_allclose(src.read().sum(axis=0), 1.0, atol=1e-6)


def test_reselection_is_recorded_in_the_model(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (60, 2)), rng.normal(0, 1, (60, 2)) + [4.0, 0]])
    X[60:70] = rng.normal(0, 0.5, (10, 2))  # rainfed samples that sit among the irrigated
    t = pd.DataFrame(X, columns=["sos", "amp"])
    t.insert(0, "sample_id", [f"s{i}" for i in range(120)])
    t.insert(1, "irrigation", pd.array(np.repeat([1, 2], 60), dtype="Int16"))
    model, _ = train_from_table(
        t, "irrigation", LEGEND, validation_fraction=0.0, reselect_below=1.8
    )
    removed = model.metrics["reselected"]
    assert removed[0]["jm_before"] < 1.8 and model.metrics["jm"][0]["jm"] >= 1.9
    assert removed and {r["sample_id"] for r in removed} & {f"s{i}" for i in range(60, 70)}
    assert model.metrics["n_train"] == 120 - len(removed)
    loaded = load_model(model.save(tmp_path / "irrigation_model"))
    assert loaded.metrics["reselected"] == removed


def test_load_model_of_a_plain_directory_is_an_error(tmp_path):
    with pytest.raises(InputError, match="is not a model directory"):
        load_model(tmp_path)
