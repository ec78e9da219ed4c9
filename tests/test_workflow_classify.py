"""The classification stage in the real run of the test config: models per region and
year, class and probability rasters, accuracy tables, active learning, transfer; and
bad inputs that stop the training set with a message naming them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from workflow_helpers import snakemake

from agrifactory import legend
from agrifactory.aggregate.accuracy import read_accuracy
from agrifactory.grid import Tile
from agrifactory.io.raster import check_on_grid, read_raster, write_raster

pytestmark = pytest.mark.workflow
TILES = ["h625v245", "h626v245", "h625v246", "h626v246"]
REGION = {"h625v245": "west", "h625v246": "west", "h626v245": "east", "h626v246": "east"}
PRODUCTS = ["cropland", "irrigation", "croptype"]
KIND = {"cropland": "lightgbm", "irrigation": "svm", "croptype": "ensemble"}
Y = "2021"


@pytest.fixture(scope="module")
def run(demo_run) -> Path:
    return demo_run


def _class(run: Path, tile: str, product: str, suffix: str = "") -> Path:
    return run / f"results/tiles/{tile}/{Y}/classify/{product}{suffix}.tif"


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("region", ["west", "east"])
def test_one_model_per_product_region_and_year_with_config_and_metrics(run, product, region):
    folder = run / f"results/models/{product}/{region}/{Y}"
    config = json.loads((folder / "model/config.json").read_text())
    metrics = json.loads((folder / "model/metrics.json").read_text())
    assert config["kind"] == KIND[product] and config["seed"] == 2021
    assert metrics["region"] == region and metrics["n_validation"] > 0
    report = pd.read_csv(folder / "validation.csv")
    assert set(report["region"]) == {region}
    oa = report.query("metric == 'overall_accuracy'")
    assert len(oa) == (4 if product == "croptype" else 1)  # the product's and three compared
    if product == "irrigation":
        jm = pd.read_csv(folder / "separability.csv")
        assert jm[["name_a", "name_b"]].values.tolist() == [["irrigated", "rainfed"]]
        assert 0 <= jm["jm"].iloc[0] <= 2 and metrics["jm"]
    if product == "croptype":
        assert sorted(oa["model"]) == ["cnn1d", "cnn2d", "ensemble", "lightgbm"]
        for name in ("lightgbm", "cnn1d", "cnn2d"):
            compared = json.loads((folder / f"compare/{name}/config.json").read_text())
            assert compared["kind"] == name
        assert any(f.startswith("monthly_ndti_") for f in config["feature_names"])
        assert "ndvi_med_07" in config["feature_names"]
        # the ensemble's members: LightGBM on every feature, the 2-D CNN on the composites
        members = config["state"]["member_features"]
        assert members[0] == config["feature_names"]
        assert members[1] and all(f.startswith("monthly_") for f in members[1])
        assert sorted(p.name for p in (folder / "model/members").iterdir()) == [
            "0_lightgbm",
            "1_cnn2d",
        ]


def test_training_set_regions_match_the_samples_and_outside_points_are_named(run):
    table = pd.read_parquet(run / f"results/training/{Y}/training_set.parquet")
    samples = gpd.read_file(run / "results/demo/inputs/samples.gpkg").set_index("sample_id")
    samples = samples[samples["year"] == int(Y)]  # the file holds 2022's validation points too
    assert (table["region"] == table["sample_id"].map(samples["region"])).all()
    assert (table["region"] == table["tile_id"].map(REGION)).all()
    assert (table["split"] == table["sample_id"].map(samples["split"])).all()
    excluded = pd.read_csv(run / f"results/training/{Y}/excluded.csv")
    outside = excluded[excluded["reason"] == "outside every tile"]
    assert len(outside) == 3 and set(outside["sample_id"]) == set(samples.index) - set(
        table["sample_id"]
    )


@pytest.mark.parametrize("tile", TILES)
def test_class_rasters_are_on_the_tile_grid_with_legend_codes_only(run, tile):
    grid = Tile.from_id(tile, 6).grid()
    crop, meta = read_raster(_class(run, tile, "cropland"), masked_to_nan=False)
    check_on_grid(meta, grid, _class(run, tile, "cropland"), crop.shape[1:])
    crop = crop[0]
    for product in PRODUCTS:
        path = _class(run, tile, product)
        cls, meta = read_raster(path, masked_to_nan=False)
        cls = cls[0]
        assert meta["dtype"] == "uint8" and meta["nodata"] == 255
        assert set(np.unique(cls).tolist()) <= set(legend.LEGENDS[product]) | {255}
        assert ((cls == 255) == (crop == 255)).all()
        with rasterio.open(path) as src:
            tags = src.tags()
        assert tags["product"] == product and tags["year"] == Y
        assert tags["legend"] == ";".join(f"{c}={n}" for c, n in legend.LEGENDS[product].items())
        if product != "cropland":
            assert (cls[crop == 0] == 0).all() and (cls[crop == 1] > 0).all()
    assert (crop != 255).mean() > 0.99  # the fused series covers the tile


@pytest.mark.parametrize("tile", TILES)
def test_probability_bands_sum_to_one_where_a_product_was_predicted(run, tile):
    for product in PRODUCTS:
        cls = read_raster(_class(run, tile, product), masked_to_nan=False)[0][0]
        with rasterio.open(_class(run, tile, product, "_proba")) as src:
            p = src.read()
            names = list(src.descriptions)
        predicted = (cls != 255) & ((cls != 0) | (product == "cropland"))
        np.testing.assert_allclose(p[:, predicted].sum(axis=0), 1.0, atol=1e-5)
        assert np.isnan(p[:, ~predicted]).all()
        codes = [legend.code_of(legend.LEGENDS[product], n[2:]) for n in names]
        argmax = np.asarray(codes)[np.nanargmax(np.where(predicted, p, 0), axis=0)]
        assert (argmax[predicted] == cls[predicted]).all()


@pytest.mark.parametrize("product", PRODUCTS)
def test_accuracy_report_and_area_table_for_the_aggregation(run, product):
    folder = run / f"results/accuracy/{Y}/{product}"
    areas = read_accuracy(folder / "areas.csv")
    mapped = pd.read_csv(folder / "mapped_area.csv")
    assert areas["area_ha"].sum() == pytest.approx(mapped["mapped_ha"].sum())
    assert sorted(areas["class"]) == sorted(legend.LEGENDS[product].values())
    report = pd.read_csv(folder / "report.csv")
    overall = report[report["class_code"] == -1].set_index(["sample", "metric"])["value"]
    for metric in ("overall_accuracy", "kappa", "macro_f1"):
        assert 0 < overall[("validation", metric)] <= 1
    assert 0 < overall[("stratified", "overall_accuracy_stratified")] <= 1
    table = pd.read_parquet(run / f"results/training/{Y}/training_set.parquet")
    n_val = int(((table["split"] == "validation") & table[product].notna()).sum())
    cm = pd.read_csv(folder / "confusion_validation.csv", index_col=0)
    assert cm.to_numpy().sum() == n_val
    assert overall[("validation", "overall_accuracy")] == pytest.approx(
        np.trace(cm.to_numpy()) / n_val
    )
    design = gpd.read_file(folder / "reference.gpkg")
    assert len(design) == mapped["n_points"].sum() and design["label"].notna().all()


def test_active_learning_proposals_and_simulation(run):
    folder = run / f"results/active_learning/{Y}"
    props = gpd.read_file(folder / "croptype_proposals.gpkg")
    assert len(props) == 20 and props["label"].isna().all()
    xy = np.column_stack([props.geometry.x, props.geometry.y])
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    assert d[np.triu_indices(len(xy), 1)].min() >= 300.0
    curve = pd.read_csv(folder / "croptype_simulation.csv")
    assert curve.groupby("strategy")["n_labels"].apply(list).to_dict() == {
        "random": [20, 30, 40, 50],
        "uncertainty": [20, 30, 40, 50],
    }
    assert (folder / "croptype_simulation.png").stat().st_size > 1000


def test_transfer_reports_the_drop_with_and_without_augmentation(run):
    result = pd.read_csv(run / f"results/transfer/{Y}/croptype_west_to_east.csv")
    assert result["augmentation"].tolist() == [False, True]
    np.testing.assert_allclose(result["oa_drop"], result["within_oa"] - result["transfer_oa"])


def _bad_copy(run: Path, workdir: Path) -> Path:
    """A copy of the finished run (times kept, no Snakemake metadata) to spoil one input of."""
    shutil.copytree(run / "config", workdir / "config")
    shutil.copytree(
        run / "results", workdir / "results", ignore=shutil.ignore_patterns("logs", "training")
    )
    return workdir


def _spoil_samples(workdir: Path, change) -> str:
    path = workdir / "results/demo/inputs/samples.gpkg"
    samples = gpd.read_file(path)
    expected = change(samples)
    samples.to_file(path, layer="samples", driver="GPKG")
    return expected


def _typo(samples):
    samples.loc[samples["croptype"] == "wheat", "croptype"] = "whaet"
    return "did you mean 'wheat'?"


def _year(samples):
    samples["year"] = 2020
    return "has no samples of 2021 (its 'year' column holds [2020])"


def _shift_features(workdir: Path) -> str:
    path = workdir / f"results/tiles/{TILES[1]}/{Y}/features/features.tif"
    data, meta = read_raster(path)
    write_raster(
        path,
        data,
        transform=meta["transform"] @ meta["transform"].translation(0, 3),
        crs=meta["crs"],
        nodata=np.nan,
        band_names=meta["descriptions"],
    )
    return f"{path.relative_to(workdir)}: not on the grid of tile {TILES[1]}"


@pytest.mark.parametrize("case", ["typo", "year", "grid"])
def test_bad_inputs_stop_the_training_set_naming_them(run, tmp_path, case):
    workdir = _bad_copy(run, tmp_path)
    if case == "grid":
        expected = _shift_features(workdir)
    else:
        expected = _spoil_samples(workdir, {"typo": _typo, "year": _year}[case])
    target = f"results/training/{Y}/training_set.parquet"
    result = snakemake(workdir, "--cores", "1", target, timeout=600)
    assert result.returncode != 0
    log = (workdir / f"results/logs/training_set/{Y}.log").read_text()
    assert expected in log, log[-2000:]
    assert not (workdir / f"results/training/{Y}/training_set.parquet").exists()


def _unknown(samples):
    crops = samples.index[samples["croptype"].notna()]
    samples.loc[crops[:3], "croptype"] = "zzz"
    samples.loc[crops[3:5], "croptype"] = "qqq"
    return "'qqq' (2 samples), 'zzz' (3 samples)"


def test_unknown_labels_are_a_warning_and_strict_labels_an_error(run, tmp_path):
    workdir = _bad_copy(run, tmp_path)
    expected = _spoil_samples(workdir, _unknown)
    target = f"results/training/{Y}/training_set.parquet"
    log_path = workdir / f"results/logs/training_set/{Y}.log"
    (workdir / "config/strict.yaml").write_text("classify:\n  strict_labels: true\n")
    configs = ["--configfile", "config/test.yaml", "config/strict.yaml"]
    strict = snakemake(workdir, "--cores", "1", target, *configs, timeout=600)
    assert strict.returncode != 0
    log = log_path.read_text()
    assert f"samples.gpkg: labels not in the legend: croptype: {expected}" in log, log[-2000:]
    assert not (workdir / target).exists()
    result = snakemake(workdir, "--cores", "1", target, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]
    log = log_path.read_text()
    warning = next(line for line in log.splitlines() if "not in its legend" in line)
    assert "WARNING" in warning and "label column croptype: 5 samples" in warning
    assert warning.endswith(expected)
    excluded = pd.read_csv(workdir / f"results/training/{Y}/excluded.csv")
    assert (excluded["label"].isin(["zzz", "qqq"])).sum() == 5
