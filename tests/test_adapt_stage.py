"""The adaptation stage around the library: settings, the case's data, the saved model,
the summary's checks; and that a case never passes a target label to training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agrifactory.adapt import case as adapt_case
from agrifactory.adapt.model import AdaptedClassifier
from agrifactory.adapt.rules import section
from agrifactory.adapt.settings import AdaptSettings
from agrifactory.adapt.summary import checks, mean_sd_table
from agrifactory.adapt.train import METHODS, fit
from agrifactory.classify.models import load_model
from agrifactory.errors import ConfigError, DataError

TINY = AdaptSettings(
    epochs=3, warmup_epochs=1, pseudo_delay=0, hidden=4, dense=8, batch_size=8, mc_passes=2
)
CASES = {"cases": [{"source": "west_2021", "target": "east_2022"}]}


def test_every_configurable_method_is_a_method_of_the_library():
    from agrifactory.adapt.rules import Method

    assert set(Method.__args__) == {"lightgbm", *METHODS}


def test_domains_must_be_run_regions_and_labelled_years():
    settings = section(CASES)
    settings.check_run(["west", "east"], [2021, 2022], [2021])
    with pytest.raises(ConfigError, match=r"adapt.cases\[0\].target: 'east_2022' - region"):
        settings.check_run(["west", "east"], [2021], [2021])
    with pytest.raises(ConfigError, match=r"adapt.cases\[0\].source: 'west_2021' has no"):
        settings.check_run(["west", "east"], [2021, 2022], [2022])
    with pytest.raises(ConfigError, match="no such case"):
        section({**CASES, "maps": {"west_2022": "east_2021"}}).check_run(
            ["west", "east"], [2021, 2022], [2021]
        )
    with pytest.raises(ConfigError, match=r"adapt.cases\[0\]"):
        section({"cases": [{"source": "west_2021", "target": "west_2021"}]})
    with pytest.raises(ConfigError, match=r"adapt.cases\[0\].source"):
        section({"cases": [{"source": "west-2021", "target": "east_2021"}]})


def test_the_map_case_of_a_region_and_year():
    settings = section({**CASES, "maps": {"east_2022": "west_2021"}})
    assert settings.map_case("east", 2022).name == "west_2021_to_east_2022"
    assert settings.map_case("west", 2022) is None


def test_channels_are_the_patterns_in_order_with_their_dates_sorted():
    cols = ["a_02", "b_01", "a_01", "x", "b_02"]
    assert adapt_case.channel_columns(cols, ["b_*", "a_*"]) == [["b_01", "b_02"], ["a_01", "a_02"]]
    frame = pd.DataFrame([[1, 2, 3, 4, 0]], columns=cols)
    np.testing.assert_array_equal(
        adapt_case.series(frame, [["b_01", "b_02"], ["a_01", "a_02"]]), [[[2, 0], [3, 1]]]
    )
    with pytest.raises(DataError, match=r"\['z_\*'\] match no column"):
        adapt_case.channel_columns(cols, ["z_*"])
    with pytest.raises(DataError, match="different lengths"):
        adapt_case.channel_columns(cols, ["a_*", "x"])


def test_domain_samples_keep_the_regions_crop_samples_of_a_split_or_all():
    table = pd.DataFrame(
        {
            "region": ["west", "west", "west", "east"],
            "split": ["train", "validation", "train", "train"],
            "croptype": [3, 5, np.nan, 1],
        }
    )
    assert adapt_case.domain_samples(table, "west", "train")["croptype"].tolist() == [3]
    assert adapt_case.domain_samples(table, "west", None)["croptype"].tolist() == [3, 5]


def _series(n: int, shift: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3 + 1
    t = np.arange(12)
    x = np.stack([np.exp(-0.5 * ((t - 3 * c - shift) / 1.5) ** 2) for c in y])
    return (x + 0.05 * rng.standard_normal(x.shape))[:, None, :].astype(np.float32), y


def test_an_adapted_model_saved_and_loaded_predicts_the_same(tmp_path):
    xs, ys = _series(30, 0, 1)
    xt, _ = _series(30, 1, 2)
    model = fit("ghca", xs, ys, xt, classes=[1, 2, 3], settings=TINY, seed=0)
    names = [f"hants_doy{i:03d}" for i in range(12)]
    saved = AdaptedClassifier.from_adapted(model, names, {1: "a", 2: "b", 3: "c"}, TINY, 0)
    saved.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    frame = pd.DataFrame(xt[:, 0, :], columns=names)
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(xt), atol=1e-6)
    assert loaded.kind == "adapted_cnn" and loaded.class_names_ == {1: "a", 2: "b", 3: "c"}
    with pytest.raises(ConfigError, match="trained by rule adapt"):
        AdaptedClassifier().fit(frame, np.arange(30) % 3 + 1)


def test_a_multichannel_model_fills_missing_months_as_in_training(tmp_path):
    xs, ys = _series(30, 0, 1)
    xt, _ = _series(30, 1, 2)
    xs2, xt2 = np.concatenate([xs, 2 * xs], axis=1), np.concatenate([xt, 2 * xt], axis=1)
    model = fit("ghca", xs2, ys, xt2, classes=[1, 2, 3], settings=TINY, seed=0)
    names = [f"monthly_{b}_{m:02d}" for b in ("nir", "red") for m in range(1, 13)]
    saved = AdaptedClassifier.from_adapted(model, names, {1: "a", 2: "b", 3: "c"}, TINY, 0)
    saved.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    gappy = xt2.copy()
    gappy[:, :, [0, 1, 11]] = np.nan  # winter months without a clear observation
    gappy[0, 1, :] = np.nan  # one pixel's second band has no value at all
    means = xs2.mean(axis=(0, 2))
    expected = adapt_case.filled_series(xs2, gappy)[1]
    np.testing.assert_allclose(expected[0, 1], means[1], rtol=1e-6)
    frame = pd.DataFrame(gappy.reshape(len(gappy), -1), columns=names)
    np.testing.assert_allclose(
        loaded.predict_proba(frame), model.predict_proba(expected), atol=1e-6
    )


def test_the_checks_compare_ghca_with_the_in_domain_model_and_every_baseline():
    rows = []
    for method, oa in [("augment", 0.80), ("dann", 0.84), ("ghca", 0.86), ("ghca_no_mmd", 0.83)]:
        rows.append({"case": "a_to_b", "method": method, "oa_mean": oa, "oa_std": 0.01})
    summary = pd.DataFrame(rows)
    ref = pd.DataFrame({"case": ["a_to_b"], "oa": [0.90]})
    got = checks(summary, ref).iloc[0]
    assert got["best_baseline"] == "dann" and got["ahead_of_every_baseline"]
    assert got["gap_to_in_domain"] == pytest.approx(0.04) and got["within_5_points"]
    assert got["gain_over_ghca_no_mmd"] == pytest.approx(0.03)
    worse = checks(summary, ref.assign(oa=0.92)).iloc[0]
    assert not worse["within_5_points"]
    assert mean_sd_table(summary).set_index("method").loc["ghca", "a_to_b"] == "0.860 ± 0.010"


def test_a_case_never_passes_target_labels_to_training(tmp_path, monkeypatch):
    """The case's evaluation labels go to the scores only: every fit (and LightGBM)
    gets the source's labels, whatever the target's labels are."""
    seen = []

    def spy(method, Xs, ys, Xt, **kw):
        seen.append(np.asarray(ys).tolist())
        return fit(method, Xs, ys, Xt, **kw)

    monkeypatch.setattr(adapt_case, "fit", spy)
    monkeypatch.setattr("agrifactory.adapt.experiment.fit", spy)
    xs, ys = _series(30, 0, 1)
    xt, yt = _series(30, 1, 2)
    names = [f"hants_doy{i:03d}" for i in range(12)]

    def table(x, y, region):
        frame = pd.DataFrame(x[:, 0, :], columns=names)
        return frame.assign(region=region, split="train", croptype=y, sample_id=range(len(y)))

    monkeypatch.setattr(
        adapt_case, "target_pool", lambda pool, region, model: table(xt, yt, "east")
    )
    source, target, pool = (tmp_path / f"{n}.parquet" for n in ("s", "t", "pool"))
    table(xs, ys, "west").to_parquet(source)
    table(xt, yt, "east").drop(columns="croptype").to_parquet(pool)
    target_labels = (yt % 3) + 1  # not the source's labels in any order
    table(xt, target_labels, "east").to_parquet(target)
    settings = section(
        {**CASES, "methods": ["augment", "ghca"], "seeds": 1, "training": TINY.model_dump()}
    )
    out = {"scores": tmp_path / "s.csv", "reference": tmp_path / "r.csv", "model": tmp_path / "m"}
    adapt_case.run_adapt_case(
        settings.cases[0], settings, source_table=source, target_table=target, pool=pool,
        cropland_model="-", outputs=out, seed=0,
    )  # fmt: skip
    training = [labels for labels in seen if len(labels) == len(ys)]  # not the CV folds
    assert len(training) == 2 and all(labels == ys.tolist() for labels in training)
    scores = pd.read_csv(out["scores"])
    assert list(scores["method"]) == ["augment", "ghca"] and scores["n_eval"].eq(30).all()
