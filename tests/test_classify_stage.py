"""The classification stage's rule entries (agrifactory.classify.rules), called with a
Snakemake-like job on a tiny two-tile world: training set, per-region models, tile
prediction, stratified design, accuracy, active learning and transfer; and the bad
inputs they must name."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from _classify_job import DEFAULTS, job
from _classify_world import TILE_KM, TILES, YEAR, write_truth, write_world

from agrifactory import legend
from agrifactory.aggregate.accuracy import read_accuracy
from agrifactory.classify import rules
from agrifactory.classify.dataset import random_split
from agrifactory.classify.design import DESIGN_LAYER, allocate
from agrifactory.classify.legend import raster_legend
from agrifactory.classify.models import load_model
from agrifactory.classify.regions import tile_regions
from agrifactory.errors import DataError, GridError, InputError
from agrifactory.io.files import in_folder
from agrifactory.io.raster import read_raster, write_raster

FAST = {
    "cropland": ("lightgbm", {"num_boost_round": 30}, None),
    "irrigation": ("svm", {}, ["hants_*", "pheno_peak"]),
    "croptype": ("lightgbm", {"num_boost_round": 30}, None),
}


def _stacks(world) -> dict:
    inputs = {}
    for tile in world["features"]:
        inputs[f"features_{tile}"] = world["features"][tile]
        inputs[f"smoothed_{tile}"] = world["smoothed"][tile]
    return inputs


def _training_set(world, root, samples=None, *, min_count=3, strict_labels=False):
    """Run the training_set rule; return its outputs (table, excluded)."""
    outputs = in_folder(str(root), rules.TRAINING_SET_OUTPUTS)
    params = {
        "tile_km": TILE_KM,
        "regions": tile_regions(TILES, TILE_KM, "west_east"),
        "samples": DEFAULTS["samples"],
        "min_count": min_count,
        "strict_labels": strict_labels,
        "seed": 0,
    }
    rules.training_set(
        job(
            root / "logs/training_set.log",
            input={"samples": samples or world["samples"], **_stacks(world)},
            output=outputs,
            params=params,
            wildcards={"year": YEAR},
        )
    )
    return outputs


def _model(product, kind, params, features, **extra):
    model = {**DEFAULTS[product], "kind": kind, "params": params, "features": features}
    if product == "croptype":
        model["compare"] = []  # only the compared models a test gives
    return {**model, **extra}


def _train(table, product, region, out, model, *, min_count=3, seed=1):
    """Run a train_<product> rule; return its outputs."""
    outputs = rules.train_outputs(str(out), product, model)
    rules.train(
        job(
            out / "train.log",
            input={"table": table},
            output=outputs,
            params={"product": product, "model": model, "min_count": min_count, "seed": seed},
            wildcards={"region": region, "year": YEAR},
        )
    )
    return outputs


@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    root = tmp_path_factory.mktemp("classify_world")
    world = write_world(root)
    _training_set(world, root)
    models = {}
    compare = [{"kind": "svm", "features": ["ndvi_med_*"], "params": {}}]
    for region in ("west", "east"):
        for product, (kind, params, features) in FAST.items():
            extra = {"compare": compare} if product == "croptype" else {}
            out = root / "models" / product / region
            model = _model(product, kind, params, features, **extra)
            table = root / "training_set.parquet"
            _train(table, product, region, out, model)
            models[(product, region)] = out / "model"
    classes = {}
    for tile, region in zip(TILES, ("west", "east"), strict=True):
        folder = root / "results/tiles" / tile / str(YEAR) / "classify"
        outputs = in_folder(str(folder), rules.CLASSIFY_OUTPUTS)
        rules.classify(
            job(
                folder / "classify.log",
                input={
                    "features": world["features"][tile],
                    "smoothed": world["smoothed"][tile],
                    **{p: models[(p, region)] for p in FAST},
                },
                output=outputs,
                params={"tile_km": TILE_KM, "block_rows": 64},
                wildcards={"tile": tile, "year": YEAR},
            )
        )
        classes[tile] = outputs
    return {"root": root, "world": world, "models": models, "classes": classes}


def test_training_set_has_tiles_regions_split_and_names_every_exclusion(stage):
    table = pd.read_parquet(stage["root"] / "training_set.parquet")
    assert set(table.groupby("tile_id")["region"].unique().map(tuple)) == {("west",), ("east",)}
    assert dict(zip(TILES, ("west", "east"), strict=True)) == dict(
        table.groupby("tile_id")["region"].first()
    )
    assert set(table["split"]) == {"train", "validation"}
    assert {"hants_doy001", "hants_doy361", "ndvi_med_12", "pheno_peak"} <= set(table.columns)
    excluded = pd.read_csv(stage["root"] / "excluded.csv").set_index("sample_id")
    assert excluded.loc["OUTSIDE", "reason"] == "outside every tile"
    assert excluded.loc["NODATA", "reason"].startswith("no feature data at the point")
    assert "OUTSIDE" not in set(table["sample_id"]) and "NODATA" not in set(table["sample_id"])


def test_a_class_with_one_sample_is_listed_by_name(stage, tmp_path):
    samples = gpd.read_file(stage["world"]["samples"])
    first_crop = samples.index[samples["croptype"] == "wheat"][0]
    samples.loc[first_crop, "croptype"] = "flax"
    samples.to_file(tmp_path / "samples.gpkg", driver="GPKG")
    out = _training_set(stage["world"], tmp_path, samples=tmp_path / "samples.gpkg")
    excluded = pd.read_csv(out["excluded"])
    row = excluded[excluded["label"] == "flax"]
    assert row["sample_id"].tolist() == [samples.loc[first_crop, "sample_id"]]
    assert "class 'flax' has 1 samples < min_count 3" in row["reason"].iloc[0]


def _unknown_labels(stage, tmp_path) -> tuple:
    """The world's samples with crop types 'zzz' (3 samples) and 'qqq' (2) not in the legend."""
    samples = gpd.read_file(stage["world"]["samples"])
    crops = samples.index[samples["croptype"].notna()]
    samples.loc[crops[:3], "croptype"] = "zzz"
    samples.loc[crops[3:5], "croptype"] = "qqq"
    path = tmp_path / "samples.gpkg"
    samples.to_file(path, driver="GPKG")
    return path, samples.loc[crops[:5], "sample_id"].tolist()


def test_unknown_labels_are_a_warning_with_their_counts(stage, tmp_path, caplog):
    from agrifactory.classify.dataset import read_labelled_samples, training_table

    path, ids = _unknown_labels(stage, tmp_path)
    world = stage["world"]
    samples = read_labelled_samples(
        path, DEFAULTS["samples"]["label_columns"], split_column="split"
    )
    with caplog.at_level("WARNING", logger="agrifactory"):
        ts = training_table(
            samples,
            world["features"],
            world["smoothed"],
            tile_km=TILE_KM,
            regions=tile_regions(TILES, TILE_KM, "west_east"),
            products=rules.PRODUCTS,
            year=YEAR,
            min_count=3,
            split_column=DEFAULTS["samples"]["split_column"],
            validation_fraction=DEFAULTS["samples"]["validation_fraction"],
            seed=0,
        )
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    unknown = [m for m in warned if "not in its legend" in m]
    assert len(unknown) == 1
    assert unknown[0].startswith("label column croptype: 5 samples with labels not in its legend")
    assert unknown[0].endswith("'qqq' (2 samples), 'zzz' (3 samples)")
    rows = ts.excluded[ts.excluded["label_column"] == "croptype"].set_index("sample_id")
    assert sorted(rows.index[rows["reason"].str.startswith("unknown label")]) == sorted(ids)
    # Only the crop type is left out: the samples keep their cropland labels.
    assert set(ids) <= set(ts.table.loc[ts.table["cropland"].notna(), "sample_id"])


def test_unknown_labels_are_named_in_the_rule_log(stage, tmp_path):
    path, ids = _unknown_labels(stage, tmp_path)
    out = _training_set(stage["world"], tmp_path, samples=path)
    log = (tmp_path / "logs/training_set.log").read_text()
    assert "WARNING" in log and "'qqq' (2 samples), 'zzz' (3 samples)" in log
    excluded = pd.read_csv(out["excluded"])
    assert set(ids) <= set(excluded.loc[excluded["label"].isin(["zzz", "qqq"]), "sample_id"])


def test_strict_labels_make_unknown_labels_an_error_naming_them_and_the_file(stage, tmp_path):
    path, _ = _unknown_labels(stage, tmp_path)
    with pytest.raises(InputError) as info:
        _training_set(stage["world"], tmp_path, samples=path, strict_labels=True)
    message = str(info.value)
    assert message.startswith(f"{path}: labels not in the legend")
    assert "croptype: 'qqq' (2 samples), 'zzz' (3 samples)" in message
    assert "classify.strict_labels" in message
    assert not (tmp_path / "training_set.parquet").exists()


def test_label_typos_stop_the_run_with_the_closest_label(stage, tmp_path):
    samples = gpd.read_file(stage["world"]["samples"])
    samples.loc[samples["croptype"] == "wheat", "croptype"] = "whaet"
    samples.to_file(tmp_path / "samples.gpkg", driver="GPKG")
    with pytest.raises(DataError, match=r"'whaet' \(\d+ samples\): did you mean 'wheat'\?"):
        _training_set(stage["world"], tmp_path, samples=tmp_path / "samples.gpkg")


def test_samples_of_other_years_are_left_out_and_none_of_the_year_is_an_error(stage, tmp_path):
    """A sample file may hold several years' labels: each year takes its own."""
    samples = gpd.read_file(stage["world"]["samples"]).assign(year=2020)
    samples.to_file(tmp_path / "samples.gpkg", driver="GPKG")
    with pytest.raises(
        InputError, match=r"has no samples of 2021 \(its 'year' column holds \[2020\]"
    ):
        _training_set(stage["world"], tmp_path, samples=tmp_path / "samples.gpkg")
    samples.loc[samples.index[::2], "year"] = 2021
    samples.to_file(tmp_path / "mixed.gpkg", driver="GPKG")
    out = _training_set(stage["world"], tmp_path, samples=tmp_path / "mixed.gpkg")
    table = pd.read_parquet(out["table"])
    kept = set(samples.loc[samples["year"] == 2021, "sample_id"])
    assert set(table["sample_id"]) <= kept and len(table) > 0


def test_features_on_another_grid_name_the_file(stage, tmp_path):
    world = {k: dict(v) if isinstance(v, dict) else v for k, v in stage["world"].items()}
    data, meta = read_raster(world["features"][TILES[1]])
    shifted = tmp_path / "features.tif"
    write_raster(
        shifted,
        data,
        transform=meta["transform"] @ meta["transform"].translation(1, 0),
        crs=meta["crs"],
        nodata=np.nan,
        band_names=meta["descriptions"],
    )
    world["features"][TILES[1]] = shifted
    with pytest.raises(GridError, match=rf"{shifted}: not on the grid of tile {TILES[1]}"):
        _training_set(world, tmp_path)


def test_smoothed_series_of_another_year_is_named(stage, tmp_path):
    world = {k: dict(v) if isinstance(v, dict) else v for k, v in stage["world"].items()}
    data, meta = read_raster(world["smoothed"][TILES[0]])
    other = tmp_path / "ndvi_hants.tif"
    names = [d.replace("2021-", "2020-") for d in meta["descriptions"]]
    write_raster(
        other, data, transform=meta["transform"], crs=meta["crs"], nodata=np.nan, band_names=names
    )
    world["smoothed"][TILES[0]] = other
    with pytest.raises(GridError, match=rf"{other}: the smoothed series is dated in \[2020\]"):
        _training_set(world, tmp_path)


def test_one_training_sample_with_min_count_1_is_an_error_naming_the_class(stage, tmp_path):
    table = pd.read_parquet(stage["root"] / "training_set.parquet")
    west_train = table.index[
        (table["region"] == "west") & (table["split"] == "train") & (table["croptype"] == 6)
    ]
    table.loc[west_train[0], "croptype"] = 7  # a single flax sample
    table.to_parquet(tmp_path / "table.parquet")
    model = _model("croptype", "lightgbm", {"num_boost_round": 5}, None)
    with pytest.raises(DataError, match=r"class 7 \(flax\) has only one training sample"):
        _train(tmp_path / "table.parquet", "croptype", "west", tmp_path, model, min_count=1)
    out = _train(tmp_path / "table.parquet", "croptype", "west", tmp_path, model, min_count=2)
    fitted = load_model(out["model"])
    assert 7 not in fitted.classes_.tolist()
    assert fitted.metrics["classes_left_out"] == {"flax": 1}


def test_croptype_validation_reports_the_model_and_the_compared_one(stage):
    report = pd.read_csv(stage["root"] / "models/croptype/west/validation.csv")
    assert report["region"].eq("west").all()
    rows = report.groupby("model").size().to_dict()
    assert set(rows) == {"lightgbm", "svm"} and rows["lightgbm"] == rows["svm"]
    assert load_model(stage["root"] / "models/croptype/west/compare/svm").kind == "svm"


def test_separability_is_written_with_the_model(stage):
    jm = pd.read_csv(stage["root"] / "models/irrigation/west/separability.csv")
    assert jm[["name_a", "name_b"]].values.tolist() == [["irrigated", "rainfed"]]
    assert 1.9 <= jm["jm"].iloc[0] <= 2.0
    assert jm["n_features"].iloc[0] == 47  # 46 HANTS dates + pheno_peak


def test_class_rasters_use_legend_codes_nodata_and_cropland_mask(stage):
    for tile in TILES:
        out = stage["classes"][tile]
        crop, meta = read_raster(out["cropland"], masked_to_nan=False)
        crop = crop[0]
        assert meta["dtype"] == "uint8" and meta["nodata"] == 255
        corner = np.zeros_like(crop, dtype=bool)
        corner[:5, :5] = True
        assert ((crop == 255) == corner).all()
        for product in FAST:
            cls = read_raster(out[product], masked_to_nan=False)[0][0]
            assert set(np.unique(cls).tolist()) <= set(legend.LEGENDS[product]) | {255}
            assert ((cls == 255) == (crop == 255)).all()
            if product != "cropland":
                assert (cls[crop == 0] == 0).all()
                assert (cls[crop == 1] > 0).all()
        truth = stage["world"]["croptype"][tile]
        inner = np.ones_like(truth, dtype=bool)
        inner[:6, :6] = False
        assert np.mean((crop == 1)[inner] == (truth > 0)[inner]) > 0.99


def test_probabilities_sum_to_one_where_classified_and_are_nan_elsewhere(stage):
    for tile in TILES:
        out = stage["classes"][tile]
        crop = read_raster(out["cropland"], masked_to_nan=False)[0][0]
        for product in FAST:
            cls = read_raster(out[product], masked_to_nan=False)[0][0]
            with rasterio.open(out[f"{product}_proba"]) as src:
                p = src.read()
                names = list(src.descriptions)
            predicted = (cls != 255) & (cls != 0) if product != "cropland" else cls != 255
            np.testing.assert_allclose(p[:, predicted].sum(axis=0), 1.0, atol=1e-5)
            assert np.isnan(p[:, ~predicted]).all()
            assert all(n.startswith("p_") for n in names)
            codes = [legend.code_of(legend.LEGENDS[product], n[2:]) for n in names]
            best = np.asarray(codes)[np.argmax(np.nan_to_num(p, nan=-1), axis=0)]
            assert (best[predicted] == cls[predicted]).all()
        assert not np.isnan(rasterio.open(out["cropland_proba"]).read()[:, crop != 255]).any()


def test_allocation_by_hand():
    # 20 each, then 60 more in proportion 0.9 / 0.1 -> 54 / 6; empty classes get none.
    assert allocate({0: 900, 1: 100, 2: 0}, 100, 20) == {0: 74, 1: 26}
    # A stratum smaller than its minimum gives what it has; the rest of the sample goes by
    # area: 10 + 5, then 45 x 1000/1005 = 44.78 and 0.22 -> 44 + 1 (largest remainder) and 0.
    assert allocate({0: 1000, 1: 5}, 60, 10) == {0: 55, 1: 5}
    with pytest.raises(Exception, match="needs 2 per stratum"):
        allocate({0: 10, 1: 10}, 10, 1)


def _design(paths, product, folder, *, sample_size, min_per_class, seed):
    """Run the accuracy_design rule; return its outputs."""
    outputs = in_folder(str(folder), rules.ACCURACY_DESIGN_OUTPUTS)
    accuracy = {**DEFAULTS["accuracy"], "sample_size": sample_size, "min_per_class": min_per_class}
    rules.accuracy_design(
        job(
            folder / "design.log",
            input=paths,
            output=outputs,
            params={"accuracy": accuracy, "seed": seed},
            wildcards={"product": product, "year": YEAR},
        )
    )
    return outputs


def test_design_draws_the_allocation_within_each_stratum(stage, tmp_path):
    paths = {t: stage["classes"][t]["croptype"] for t in TILES}

    def draw(name):
        out = _design(paths, "croptype", tmp_path / name, sample_size=60, min_per_class=8, seed=3)
        return gpd.read_file(out["design"], layer=DESIGN_LAYER), out["mapped"]

    design, mapped_path = draw("design")
    mapped = pd.read_csv(mapped_path).set_index("class_code")
    assert design.groupby("stratum").size().to_dict() == {
        c: n for c, n in mapped["n_points"].items() if n
    }
    for row in design.itertuples():
        cls = read_raster(paths[row.tile_id], masked_to_nan=False)[0][0]
        assert cls[row.row, row.col] == row.stratum
    assert not design.duplicated(["tile_id", "row", "col"]).any()
    assert design["label"].isna().all()
    pd.testing.assert_frame_equal(design, draw("again")[0])
    total_px = sum((read_raster(p, masked_to_nan=False)[0][0] != 255).sum() for p in paths.values())
    assert mapped["pixels"].sum() == total_px
    assert mapped["mapped_ha"].sum() == pytest.approx(total_px * 0.09)


@pytest.mark.parametrize("product", ["cropland", "croptype"])
def test_accuracy_report_and_area_table(stage, tmp_path, product):
    paths = {t: stage["classes"][t][product] for t in TILES}
    design = _design(paths, product, tmp_path, sample_size=80, min_per_class=8, seed=0)
    truth = write_truth(tmp_path / "truth.tif", stage["world"]["croptype"], product)
    reference = tmp_path / rules.ACCURACY_REFERENCE
    wildcards = {"product": product, "year": YEAR}
    rules.accuracy_reference_demo(
        job(
            tmp_path / "reference.log",
            input={"design": design["design"], "truth": truth},
            output={"reference": reference},
            wildcards=wildcards,
        )
    )
    labelled = gpd.read_file(reference, layer=DESIGN_LAYER)
    assert set(labelled["label"]) <= set(raster_legend(product))
    outputs = in_folder(str(tmp_path), rules.ACCURACY_OUTPUTS)
    table = stage["root"] / "training_set.parquet"
    rules.accuracy(
        job(
            tmp_path / "accuracy.log",
            input={**paths, "table": table, "reference": reference, "mapped": design["mapped"]},
            output=outputs,
            params={"reference_name": "test truth"},
            wildcards=wildcards,
        )
    )
    report = pd.read_csv(outputs["report"])
    areas = read_accuracy(outputs["areas"])
    mapped = pd.read_csv(design["mapped"])
    assert areas["area_ha"].sum() == pytest.approx(mapped["mapped_ha"].sum())
    assert (areas["region"] == "all").all() and (areas["reference"] == "test truth").all()
    cm_frame = pd.read_csv(outputs["confusion_validation"], index_col=0)
    assert cm_frame.index.name == "map\\reference"
    assert list(cm_frame.index) == [f"map_{n}" for n in raster_legend(product)]
    cm = cm_frame.to_numpy()
    oa = report.query("sample == 'validation' and metric == 'overall_accuracy'")["value"].iloc[0]
    assert oa == pytest.approx(np.trace(cm) / cm.sum())
    table = pd.read_parquet(table)
    n_val = int(((table["split"] == "validation") & table[product].notna()).sum())
    assert cm.sum() == n_val
    assert oa > 0.95


def test_proposals_are_spaced_and_away_from_labelled_samples(stage, tmp_path):
    paths = {t: stage["classes"][t]["croptype_proba"] for t in TILES}
    out = tmp_path / rules.PROPOSALS.format(product="croptype")
    al = {**DEFAULTS["active_learning"], "k": 10, "min_distance_m": 300.0, "pool_per_tile": 500}
    rules.active_learning(
        job(
            tmp_path / "al.log",
            input={**paths, "table": stage["root"] / "training_set.parquet"},
            output={"proposals": out},
            params={"al": al, "seed": 0},
            wildcards={"product": "croptype", "year": YEAR},
        )
    )
    props = gpd.read_file(out)
    assert len(props) == 10 and props["rank"].tolist() == list(range(1, 11))
    assert props["uncertainty"].is_monotonic_decreasing
    xy = np.column_stack([props.geometry.x, props.geometry.y])
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    assert d[np.triu_indices(10, 1)].min() >= 300.0
    table = pd.read_parquet(stage["root"] / "training_set.parquet")
    lab = table[["x", "y"]].to_numpy()
    assert np.sqrt(((xy[:, None] - lab[None]) ** 2).sum(-1)).min() >= 300.0
    assert set(props["predicted_name"]) <= set(legend.CROPTYPE.values())


def test_transfer_and_simulation_write_their_tables(stage, tmp_path):
    table = stage["root"] / "training_set.parquet"
    cnn = _model("croptype", "cnn1d", {"epochs": 3, "hidden": 8, "dense": 16}, ["ndvi_med_*"])
    rules.transfer(
        job(
            tmp_path / "transfer.log",
            input={"table": table},
            output={"table": tmp_path / "transfer.csv"},
            params={"model": cnn, "augment": DEFAULTS["transfer"]["augment"], "seed": 0},
            wildcards={"source": "west", "target": "east", "year": YEAR},
        )
    )
    result = pd.read_csv(tmp_path / "transfer.csv")
    assert result["augmentation"].tolist() == [False, True]
    assert np.allclose(result["oa_drop"], result["within_oa"] - result["transfer_oa"])
    truth = write_truth(tmp_path / "truth.tif", stage["world"]["croptype"], "croptype")
    simulation = {"pool_per_tile": 100, "initial": 12, "batch": 6, "rounds": 2}
    al = {
        **DEFAULTS["active_learning"],
        "simulation": {**DEFAULTS["active_learning"]["simulation"], **simulation},
    }
    outputs = {"curve": tmp_path / "curve.csv", "plot": tmp_path / "curve.png"}
    rules.active_learning_simulation(
        job(
            tmp_path / "simulation.log",
            input={"table": table, "oracle": truth, **_stacks(stage["world"])},
            output=outputs,
            params={
                "al": al,
                "model": _model("croptype", "lightgbm", {"num_boost_round": 10}, None),
                "tile_km": TILE_KM,
                "seed": 0,
            },
            wildcards={"product": "croptype", "year": YEAR},
        )
    )
    curve = pd.read_csv(outputs["curve"])
    assert curve.groupby("strategy")["n_labels"].apply(list).to_dict() == {
        "random": [12, 18, 24],
        "uncertainty": [12, 18, 24],
    }
    assert (tmp_path / "curve.png").stat().st_size > 1000


def test_random_split_is_stratified_by_region_and_label():
    table = pd.DataFrame(
        {
            "region": ["w"] * 20 + ["e"] * 10,
            "cropland": pd.array([1] * 30, dtype="Int16"),
            "croptype": pd.array([1] * 10 + [2] * 10 + [None] * 10, dtype="Int16"),
        }
    )
    split = random_split(table, ["cropland", "croptype"], 0.3, seed=4)
    label = table["croptype"].astype("string").fillna("<NA>")
    counts = split.groupby([table["region"], label]).apply(lambda s: int((s == "validation").sum()))
    assert counts.to_dict() == {("e", "<NA>"): 3, ("w", "1"): 3, ("w", "2"): 3}
    assert split.equals(random_split(table, ["cropland", "croptype"], 0.3, seed=4))


def test_tile_stack_rows_blocks_equal_the_whole(stage):
    from agrifactory.classify.stack import TileStack

    ts = TileStack(
        stage["world"]["features"][TILES[0]],
        stage["world"]["smoothed"][TILES[0]],
        TILES[0],
        year=YEAR,
        tile_km=TILE_KM,
    )
    whole = ts.read()
    blocks = np.concatenate([b for _, b in ts.row_blocks(70)], axis=1)
    np.testing.assert_array_equal(whole, blocks)
    assert ts.feature_names[:2] == ["harm_mean", "pheno_peak"]
    assert ts.feature_names[14] == "hants_doy001" and ts.feature_names[-1] == "hants_doy361"
    with pytest.raises(GridError, match=f"not on the grid of tile {TILES[1]}"):
        TileStack(
            stage["world"]["features"][TILES[0]],
            stage["world"]["smoothed"][TILES[0]],
            TILES[1],
            tile_km=TILE_KM,
        )


def test_tile_stack_values_at_points_read_block_by_block(stage, tmp_path):
    """Values at points, read only in the 16 x 16 blocks that hold them, equal the whole
    tile's pixels; a point off the grid is refused."""
    import rasterio.shutil

    from agrifactory.classify.stack import TileStack
    from agrifactory.classify.training import point_pixels

    files = {}
    for key in ("features", "smoothed"):
        files[key] = tmp_path / f"{key}.tif"
        rasterio.shutil.copy(stage["world"][key][TILES[0]], files[key], driver="GTiff",
                             tiled=True, blockxsize=16, blockysize=16)  # fmt: skip
    ts = TileStack(files["features"], files["smoothed"], TILES[0], year=YEAR, tile_km=TILE_KM)
    rng = np.random.default_rng(5)
    (left, bottom, right, top), res = ts.bounds, ts.transform.a
    x = np.r_[left + res / 2, right - res / 2, rng.uniform(left, right, 40)]
    y = np.r_[top - res / 2, bottom + res / 2, rng.uniform(bottom, top, 40)]
    rows, cols = point_pixels(ts, x, y)
    assert (rows[:2] == [0, ts.shape[0] - 1]).all() and (cols[:2] == [0, ts.shape[1] - 1]).all()
    np.testing.assert_array_equal(ts.values_at(x, y), ts.read()[:, rows, cols].T)
    with pytest.raises(GridError, match="1 sample points of tile .* fall outside"):
        ts.values_at(np.r_[x[:3], right + res], np.r_[y[:3], top])
