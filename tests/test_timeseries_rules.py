"""The time-series stage's contract: TimeseriesSettings, output names, the smooth/features rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import yaml
from _jobs import fake_job
from affine import Affine

from agrifactory.errors import ConfigError
from agrifactory.grid import ALBERS
from agrifactory.io.raster import read_raster, write_raster
from agrifactory.timeseries import rules
from agrifactory.timeseries.features import PhenoSettings
from agrifactory.timeseries.hants import HantsParams
from agrifactory.timeseries.rules import (
    FEATURES_OUTPUTS,
    SMOOTH_OUTPUTS,
    TimeseriesSettings,
    features_outputs,
    smooth_outputs,
)
from agrifactory.timeseries.tile import features_tile, smooth_tile

SCHEMA = Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml"
YEAR = 2021


def _build(values):
    return TimeseriesSettings.build(values, "timeseries")


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def test_hand_schema_defaults_match_the_model():
    """The committed schema's defaults (and their int/float types) are the model's."""
    section = yaml.safe_load(SCHEMA.read_text())["properties"]["timeseries"]["properties"]
    model = TimeseriesSettings()
    assert set(section) == set(TimeseriesSettings.model_fields)
    for key in ("backend", "block_rows"):
        assert section[key]["default"] == getattr(model, key)
    for part, sub in (("hants", model.hants), ("pheno", model.pheno)):
        assert set(section[part]["properties"]) == set(type(sub).model_fields)
        for key, spec in section[part]["properties"].items():
            value = _plain(getattr(sub, key))
            assert spec["default"] == value and type(spec["default"]) is type(value), key


def test_parts_are_the_librarys_own_models():
    settings = TimeseriesSettings()
    assert settings.hants == HantsParams() and settings.pheno == PhenoSettings()
    built = _build({"hants": {"n_freq": 2, "base_period": 365.0}, "block_rows": None})
    assert built.hants.n_freq == 2 and built.block_rows is None
    # The config's number types are kept: they are written into the products' tags.
    assert isinstance(_build({"hants": {"base_period": 365}}).hants.base_period, int)
    assert isinstance(built.hants.base_period, float)


def test_wrong_type_names_the_key():
    with pytest.raises(ConfigError) as err:
        _build({"hants": {"n_freq": "three"}})
    message = str(err.value)
    assert "timeseries.hants.n_freq = 'three'" in message and "integer" in message
    assert len(message.splitlines()) <= 3


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"hants": {"n_frq": 3}}, "timeseries.hants.n_frq: unknown key (did you mean 'n_freq'?)"),
        ({"blok_rows": 3}, "timeseries.blok_rows: unknown key (did you mean 'block_rows'?)"),
        ({"block_rows": 0}, "timeseries.block_rows = 0"),
        ({"backend": "gpu"}, "timeseries.backend = 'gpu'"),
        ({"hants": {"reject": "both"}}, "timeseries.hants.reject = 'both'"),
        ({"pheno": {"min_amplitude": 0}}, "timeseries.pheno.min_amplitude = 0"),
        (
            {"pheno": {"start_fraction": 0.8, "rate_fraction": 0.2}},
            "pheno.start_fraction (0.8) must be below pheno.rate_fraction (0.2)",
        ),
    ],
)
def test_bad_values_and_misspelled_keys(values, expected):
    with pytest.raises(ConfigError) as err:
        _build(values)
    assert expected in str(err.value)


def test_output_names():
    assert smooth_outputs("s") == {k: f"s/{v}" for k, v in SMOOTH_OUTPUTS.items()}
    assert features_outputs("f") == {"features": f"f/{FEATURES_OUTPUTS['features']}"}


def _fused(path: Path) -> Path:
    rng = np.random.default_rng(1)
    dates = [dt.date(YEAR, 1, 1) + dt.timedelta(days=8 * i) for i in range(46)]
    season = 0.2 + 0.5 * np.exp(-(((8.0 * np.arange(46) - 190) / 50) ** 2))
    data = (season[:, None, None] + 0.02 * rng.standard_normal((46, 5, 4))).astype(np.float32)
    data[rng.random(data.shape) < 0.2] = np.nan
    transform = Affine(30, 0, 0, 0, -30, 3000)
    names = [d.isoformat() for d in dates]
    write_raster(path, data, transform=transform, crs=ALBERS, nodata=np.nan, band_names=names)
    return path


def test_rules_smooth_and_features_run_the_configured_settings(tmp_path):
    fused = _fused(tmp_path / "fused.tif")
    config = {
        "backend": "numpy",
        "block_rows": 2,
        "hants": {"n_freq": 2, "base_period": 365, "valid_range": [-1, 1]},
        "pheno": {"start_fraction": 0.3},
    }
    settings = _build(config)
    direct = {k: tmp_path / f"direct_{k}.tif" for k in (*SMOOTH_OUTPUTS, "features")}
    smooth_tile(
        fused, smoothed=direct["smoothed"], qa=direct["qa"], coefficients=direct["coefficients"],
        year=YEAR, params=settings.hants, backend="numpy", block_rows=2,
    )  # fmt: skip
    features_tile(
        fused, direct["coefficients"], features=direct["features"], year=YEAR,
        base_period=365, start_fraction=0.3, backend="numpy", block_rows=2,
    )  # fmt: skip

    wildcards = {"tile": "h0v0", "year": str(YEAR)}
    smoothed = smooth_outputs(str(tmp_path / "smooth"))
    params = {k: config[k] for k in ("hants", "backend", "block_rows")}
    rules.smooth(
        fake_job(input={"fused": fused}, output=smoothed, params=params,
                 wildcards=wildcards, log=tmp_path / "smooth.log")
    )  # fmt: skip
    feats = features_outputs(str(tmp_path / "features"))
    params = {k: config[k] for k in ("hants", "pheno", "backend", "block_rows")}
    rules.features(
        fake_job(input={"fused": fused, "coefficients": smoothed["coefficients"]}, output=feats,
                 params=params, wildcards=wildcards, log=tmp_path / "features.log")
    )  # fmt: skip
    for key, path in {**smoothed, **feats}.items():
        got, meta = read_raster(path)
        want, want_meta = read_raster(direct[key])
        np.testing.assert_array_equal(got, want, err_msg=key)
        assert (
            meta["tags"] == want_meta["tags"] and meta["descriptions"] == want_meta["descriptions"]
        )
    tags = read_raster(smoothed["smoothed"])[1]["tags"]
    assert tags["hants_base_period"] == "365" and tags["hants_n_freq"] == "2"
    assert tags["hants_valid_range"] == "(-1.0, 1.0)"
