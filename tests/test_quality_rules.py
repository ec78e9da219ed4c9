"""The quality stage's contract: QualitySettings, output names and the quality rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from _jobs import fake_job
from _quality_scenes import clear_scenes, dates

from agrifactory.errors import ConfigError
from agrifactory.grid import Tile
from agrifactory.io.modis import composite_starts
from agrifactory.io.raster import write_grid_raster
from agrifactory.quality import rules
from agrifactory.quality.config import ScoringSettings
from agrifactory.quality.rules import (
    QUALITY_OUTPUTS,
    QUALITY_STACKS,
    SCORER_OUTPUTS,
    QualitySettings,
    quality_outputs,
    scorer_outputs,
    scorer_tile_inputs,
)

SCHEMA = Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml"
GRID = Tile(100, 50, 3).grid(res=30.0)


def _build(values):
    return QualitySettings.build(values, "quality")


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def _check_defaults(spec: dict, model) -> None:
    assert set(spec) == set(type(model).model_fields), type(model).__name__
    for key, sub in spec.items():
        value = getattr(model, key)
        if "properties" in sub:
            _check_defaults(sub["properties"], value)
        else:
            assert sub["default"] == _plain(value), key


def test_hand_schema_defaults_match_the_model():
    """Every default of the committed schema is the model's."""
    section = yaml.safe_load(SCHEMA.read_text())["properties"]["quality"]["properties"]
    _check_defaults(section, QualitySettings())


def test_scoring_settings_are_part_of_the_quality_settings():
    settings = _build({"calendar": {"start_doy": 100}, "scorer": {"epochs": 2}})
    assert isinstance(settings, ScoringSettings)
    assert settings.calendar.start_doy == 100 and settings.scorer.epochs == 2
    assert settings.pairs == QualitySettings().pairs


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"validation_min_clear": 1.5}, "quality.validation_min_clear = 1.5"),
        ({"scorer_tiles": 0}, "quality.scorer_tiles = 0"),
        ({"saturation_bands": [0, 3]}, "quality.saturation_bands[0] = 0"),
        ({"saturation_bands": []}, "quality.saturation_bands = []"),
        ({"tests": {"bright_blue": "high"}}, "quality.tests.bright_blue = 'high'"),
        ({"pairs": {"tau_days": 0}}, "quality.pairs.tau_days = 0"),
        ({"learned_scorrer": False}, "quality.learned_scorrer: unknown key (did you mean"),
        ({"calendar": {"peak_start": 1}}, "quality.calendar.peak_start: unknown key (did you mean"),
        (
            {"tests": {"hot_min_pixels": 500, "hot_max_samples": 400}},
            "hot_max_samples (400) must be at least hot_min_pixels (500)",
        ),
        (
            {"calendar": {"start_doy": 100, "peak_start_doy": 90, "peak_end_doy": 95}},
            "quality.calendar: the days must follow each other",
        ),
    ],
)
def test_bad_values_and_misspelled_keys(values, expected):
    with pytest.raises(ConfigError) as err:
        _build(values)
    assert expected in str(err.value)
    assert len(str(err.value).splitlines()) <= 3


def test_a_winter_calendar_wrapping_the_year_is_valid():
    days = {"start_doy": 280, "peak_start_doy": 60, "peak_end_doy": 130, "end_doy": 170}
    assert _build({"calendar": days}).calendar.end_doy == 170


def test_output_names():
    assert quality_outputs("q") == {k: f"q/{v}" for k, v in QUALITY_OUTPUTS.items()}
    assert scorer_outputs("m")["weights"] == f"m/{SCORER_OUTPUTS['weights']}"


def test_scorer_inputs_are_grouped_per_tile():
    inputs = {f"h1v2_{s}": f"a/{s}.tif" for s in QUALITY_STACKS} | {"h1v2_inventory": "a/inv.csv"}
    inputs |= {"h3v4_red": "b/red.tif", "h3v4_nir": "b/nir.tif", "h3v4_inventory": "b/inv.csv"}
    tiles = scorer_tile_inputs(inputs)
    assert tiles[0] == ({s: f"a/{s}.tif" for s in QUALITY_STACKS}, "a/inv.csv")
    assert tiles[1] == ({"red": "b/red.tif", "nir": "b/nir.tif"}, "b/inv.csv")


@pytest.fixture
def tile_inputs(tmp_path):
    d = dates(4)
    scenes = clear_scenes(4, shape=GRID.shape)

    def write(name, data, band_dates):
        names = [x.isoformat() for x in band_dates]
        path = tmp_path / f"{name}.tif"
        return write_grid_raster(path, data, GRID, nodata=np.nan, band_names=names)

    files = {"blue": write("blue", scenes[:, 0], d), "red": write("red", scenes[:, 1], d)}
    files["nir"] = write("nir", scenes[:, 2], d)
    starts = composite_starts(2021)
    files["modis"] = write("modis", np.full((len(starts), *GRID.shape), 0.5, np.float32), starts)
    inventory = pd.DataFrame(
        {"sensor": "landsat", "date": [x.isoformat() for x in d], "missing_files": "QA_PIXEL"}
    )
    files["inventory"] = tmp_path / "inventory.csv"
    inventory.to_csv(files["inventory"], index=False)
    return files


@pytest.mark.parametrize("validation_dates", [0, 2])
def test_rule_quality_writes_its_outputs_with_the_configured_settings(
    tile_inputs, tmp_path, validation_dates
):
    outputs = quality_outputs(str(tmp_path / "quality"))
    config = {"learned_scorer": False, "validation_dates": validation_dates,
              "validation_min_clear": 0.5}  # fmt: skip
    job = fake_job(
        input=tile_inputs,
        output=outputs,
        params={"quality": config},
        wildcards={"tile": "h100v50", "year": "2021"},
        log=tmp_path / "quality.log",
    )
    rules.quality(job)
    assert all(Path(p).is_file() for p in outputs.values())
    scores = pd.read_csv(outputs["scores"])
    assert len(scores) == 4
    held_out = pd.read_csv(outputs["validation_pairs"])
    # Each held-out date gets one row per pair selector.
    assert len(held_out) == 2 * validation_dates
    assert "no QA_PIXEL" in Path(job.log[0]).read_text()


def test_rule_quality_scorer_trains_with_the_run_seed(tile_inputs, tmp_path):
    """Inputs named ``<tile>_<stack>`` are grouped per tile; the seed is the top-level one."""
    inputs = {f"h100v50_{k}": v for k, v in tile_inputs.items() if k != "modis"}
    outputs = scorer_outputs(str(tmp_path / "scorer"))
    scorer = {"width": 4, "epochs": 1, "samples_per_epoch": 64, "batch_size": 32}
    job = fake_job(
        input=inputs,
        output=outputs,
        params={"quality": {"scorer": scorer}, "seed": 7},
        wildcards={"year": "2021"},
        log=tmp_path / "scorer.log",
    )
    pytest.importorskip("torch")
    rules.quality_scorer(job)
    metrics = json.loads(Path(outputs["metrics"]).read_text())
    assert metrics["config"] == {**QualitySettings().scorer.model_dump(), **scorer, "seed": 7}
    assert Path(outputs["weights"]).stat().st_size > 0
