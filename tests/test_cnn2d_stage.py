"""The monthly composites in the classification stage: the stack reads ``monthly.tif``
beside features and HANTS series, the training set keeps points with missing months,
the 2-D CNN is trained, compared and mapped through the rule entries, and the model
comparison table sets the models side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
from _classify_job import DEFAULTS, job
from _classify_world import TILE_KM, TILES, YEAR, write_world

from agrifactory.classify import rules
from agrifactory.classify.accuracy import accuracy_table
from agrifactory.classify.legend import NODATA
from agrifactory.classify.regions import tile_regions
from agrifactory.classify.stack import TileStack
from agrifactory.errors import GridError, InputError
from agrifactory.grid import ALBERS, Tile
from agrifactory.io.files import in_folder
from agrifactory.io.raster import read_raster, write_raster
from agrifactory.report import rules as report_rules
from agrifactory.report.accuracy import model_comparison

BANDS = ("ndvi", "red")
MONTHLY = [f"monthly_{b}_{m:02d}" for b in BANDS for m in range(1, 13)]
CNN2D = {"epochs": 10, "batch_size": 16, "num_threads": 1}


def write_monthly(features: str, out, *, gap_cols: int = 100, transform=None):
    """``monthly.tif`` from the world's monthly-median NDVI: NDVI and a red band falling
    as NDVI rises; January missing (NaN) in the columns left of ``gap_cols``."""
    ndvi, meta = read_raster(features)
    ndvi = ndvi[2:14]  # ndvi_med_01..12
    data = np.concatenate([ndvi, 0.3 - 0.2 * ndvi]).astype(np.float32)
    data[0, :, :gap_cols] = np.nan
    data[12, :, :gap_cols] = np.nan
    return write_raster(
        out, data, transform=transform or meta["transform"], crs=ALBERS, nodata=np.nan,
        band_names=MONTHLY,
    )  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("cnn2d_world")
    w = write_world(root)
    w["monthly"] = {
        t: write_monthly(
            w["features"][t], root / f"results/tiles/{t}/{YEAR}/composites/monthly.tif"
        )
        for t in TILES
    }
    w["root"] = root
    return w


def _training_set(world, folder, monthly=True):
    inputs = {"samples": world["samples"]}
    for tile in TILES:
        inputs[f"features_{tile}"] = world["features"][tile]
        inputs[f"smoothed_{tile}"] = world["smoothed"][tile]
        if monthly:
            inputs[f"monthly_{tile}"] = world["monthly"][tile]
    outputs = in_folder(str(folder), rules.TRAINING_SET_OUTPUTS)
    params = {
        "tile_km": TILE_KM, "regions": tile_regions(TILES, TILE_KM, "west_east"),
        "samples": DEFAULTS["samples"], "min_count": 3, "strict_labels": False, "seed": 0,
    }  # fmt: skip
    rules.training_set(
        job(folder / "training_set.log", input=inputs, output=outputs, params=params,
            wildcards={"year": YEAR})
    )  # fmt: skip
    return pd.read_parquet(outputs["table"])


def _train(table_path, product, model, folder):
    outputs = rules.train_outputs(str(folder), product, model)
    rules.train(
        job(folder / "train.log", input={"table": table_path}, output=outputs,
            params={"product": product, "model": model, "min_count": 3, "seed": 1},
            wildcards={"region": "west", "year": YEAR})
    )  # fmt: skip
    return outputs


@pytest.fixture(scope="module")
def stage(world):
    root = world["root"]
    table = _training_set(world, root / "training")
    path = root / "training/training_set.parquet"
    models = {
        "cropland": {**DEFAULTS["cropland"], "params": {"num_boost_round": 20}},
        "irrigation": {**DEFAULTS["irrigation"], "features": ["hants_*"]},
        "croptype": {
            **DEFAULTS["croptype"], "kind": "cnn2d", "features": ["monthly_*"], "params": CNN2D,
            "compare": [{"kind": "lightgbm", "params": {"num_boost_round": 20}}],
        },
    }  # fmt: skip
    out = {p: _train(path, p, m, root / "models" / p) for p, m in models.items()}
    return {"table": table, "out": out, "root": root}


def test_the_stack_reads_the_monthly_composites_after_the_other_bands(world):
    tile = TILES[0]
    plain = TileStack(world["features"][tile], world["smoothed"][tile], tile, year=YEAR)
    stack = TileStack(
        world["features"][tile], world["smoothed"][tile], tile,
        monthly=world["monthly"][tile], year=YEAR, tile_km=TILE_KM,
    )  # fmt: skip
    assert stack.feature_names == plain.feature_names + MONTHLY
    data = stack.read()
    assert data.shape == (len(plain.feature_names) + 24, 200, 200)
    np.testing.assert_array_equal(data[: len(plain.feature_names)], plain.read())
    with rasterio.open(world["monthly"][tile]) as src:
        np.testing.assert_array_equal(data[-24:], src.read())
    assert np.isnan(data[-24, :, :100]).all() and np.isfinite(data[-24, 5:, 100:]).all()


def test_a_monthly_file_on_another_grid_or_with_other_names_is_refused(world, tmp_path):
    tile = TILES[0]
    other = Tile.from_id(TILES[1], TILE_KM).grid().transform
    shifted = write_monthly(world["features"][tile], tmp_path / "shifted.tif", transform=other)
    with pytest.raises(GridError, match="shifted.tif: not on the grid of tile"):
        TileStack(world["features"][tile], world["smoothed"][tile], tile, monthly=shifted,
                  year=YEAR, tile_km=TILE_KM)  # fmt: skip
    data, meta = read_raster(world["monthly"][tile])
    names = [*MONTHLY[:-1], "red_12"]
    bad = write_raster(tmp_path / "bad.tif", data, transform=meta["transform"], crs=ALBERS,
                       nodata=np.nan, band_names=names)  # fmt: skip
    with pytest.raises(InputError, match=r"bad.tif: bands \[24\] are not named 'monthly_"):
        TileStack(world["features"][tile], world["smoothed"][tile], tile, monthly=bad, year=YEAR)


def test_the_training_set_keeps_points_with_missing_months(world, stage, tmp_path):
    table = stage["table"]
    without = _training_set(world, tmp_path, monthly=False)
    assert table["sample_id"].tolist() == without["sample_id"].tolist()
    assert set(MONTHLY) <= set(table.columns)
    missing = table["monthly_ndvi_01"].isna()
    assert missing.any() and not missing.all()
    assert table.loc[missing, "monthly_ndvi_02"].notna().all()
    np.testing.assert_array_equal(
        table.loc[~missing, "monthly_ndvi_01"].to_numpy(), table.loc[~missing, "ndvi_med_01"]
    )


def test_the_2d_cnn_is_trained_and_compared_on_the_same_samples(stage):
    report = pd.read_csv(stage["out"]["croptype"]["validation"])
    oa = report[report["metric"] == "overall_accuracy"].set_index("model")
    assert oa.index.tolist() == ["cnn2d", "lightgbm"]
    assert oa["n"].nunique() == 1  # the same validation samples
    assert oa.loc["cnn2d", "value"] >= 0.9  # crops peak in different months


def test_the_tile_is_classified_with_the_monthly_composites(world, stage, tmp_path):
    tile = TILES[0]
    outputs = in_folder(str(tmp_path), rules.CLASSIFY_OUTPUTS)
    inputs = {
        "features": world["features"][tile], "smoothed": world["smoothed"][tile],
        "monthly": world["monthly"][tile],
        **{p: stage["out"][p]["model"] for p in ("cropland", "irrigation", "croptype")},
    }  # fmt: skip
    rules.classify(
        job(tmp_path / "classify.log", input=inputs, output=outputs,
            params={"tile_km": TILE_KM, "block_rows": 64}, wildcards={"tile": tile, "year": YEAR})
    )  # fmt: skip
    with rasterio.open(outputs["croptype"]) as src:
        crop = src.read(1)
    with rasterio.open(outputs["cropland"]) as src:
        cropland = src.read(1) == 1
    assert (crop[:5, :5] == NODATA).all()  # no data at all
    # January is missing left of column 100: the 2-D CNN still maps those fields
    left = cropland & (np.arange(200) < 100)[None, :]
    assert left.sum() > 1000 and (crop[left] != NODATA).all()
    truth = world["croptype"][tile]
    good = cropland & (truth > 0)
    assert (crop[good] == truth[good]).mean() > 0.9


def test_the_model_comparison_by_hand():
    legend = {"wheat": 5, "oat": 6, "flax": 7}
    ref = np.array([5, 5, 6, 6])
    a = accuracy_table(ref, np.array([5, 5, 6, 6]), legend, product="croptype")
    b = accuracy_table(ref, np.array([5, 6, 6, 6]), legend, product="croptype")
    report = pd.concat([a.assign(model="cnn2d"), b.assign(model="lightgbm")])
    table = model_comparison({"west": report}, mapped="cnn2d")
    assert table.columns.tolist() == [
        "region",
        "model",
        "mapped",
        "n",
        "overall_accuracy",
        "kappa",
        "macro_f1",
        "f1_wheat",
        "f1_oat",
    ]  # fmt: skip  (no flax among the validation samples: no column)
    assert table["mapped"].tolist() == [True, False] and table["n"].tolist() == [4, 4]
    np.testing.assert_allclose(table.iloc[0, 4:].astype(float), [1, 1, 1, 1, 1])
    # lightgbm: 3 of 4 right; kappa (0.75 - 0.5) / 0.5; F1 wheat 2/3, oat 0.8
    np.testing.assert_allclose(
        table.iloc[1, 4:].astype(float), [0.75, 0.5, (2 / 3 + 0.8) / 2, 2 / 3, 0.8]
    )


def test_the_model_comparison_rule_writes_table_and_page(stage, tmp_path):
    out = {"table": tmp_path / "models.csv", "page": tmp_path / "models.html"}
    report_rules.model_comparison(
        job(tmp_path / "compare.log", input={"west": stage["out"]["croptype"]["validation"]},
            output=out, params={"mapped": "cnn2d"}, wildcards={"year": YEAR})
    )  # fmt: skip
    table = pd.read_csv(out["table"])
    assert table["model"].tolist() == ["cnn2d", "lightgbm"]
    assert table["mapped"].tolist() == [True, False]
    report = pd.read_csv(stage["out"]["croptype"]["validation"])
    oa = report[report["metric"] == "overall_accuracy"]["value"].to_numpy()
    np.testing.assert_allclose(table["overall_accuracy"], oa, atol=1e-6)
    page = out["page"].read_text()
    assert "macro-F1" in page and "F1 wheat" in page
