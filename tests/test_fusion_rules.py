"""The fusion stage's contract: FusionSettings, its output names and the schema it replaces."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agrifactory.errors import ConfigError
from agrifactory.fusion.params import EstarfmFields, EstarfmParams
from agrifactory.fusion.rules import FUSE_OUTPUTS, PAIRS_TABLE, FusionSettings, fuse_outputs
from agrifactory.quality.rules import QUALITY_OUTPUTS

SCHEMA = Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml"


def _schema_section(name: str) -> dict:
    return yaml.safe_load(SCHEMA.read_text())["properties"][name]["properties"]


def _build(**values):
    return FusionSettings.build(values, "fusion")


def test_defaults_are_the_algorithms():
    """The algorithm's keys default to EstarfmParams' (the authors'), written once."""
    settings = FusionSettings()
    for name in EstarfmFields.model_fields:
        assert getattr(settings, name) == getattr(EstarfmParams(), name), name
    params = settings.estarfm()
    assert params == EstarfmParams.ndvi()
    assert params.valid_range == (-1.0, 1.0) and params.background is None


def test_hand_schema_defaults_match_the_model():
    """The committed schema's defaults are the model's."""
    defaults = FusionSettings().model_dump()
    for key, spec in _schema_section("fusion").items():
        if spec["type"] == "object":  # a nested section: the defaults of its keys
            for sub, sub_spec in spec["properties"].items():
                assert sub_spec["default"] == defaults[key][sub], f"{key}.{sub}"
            continue
        assert spec["default"] == defaults[key], key
    assert set(_schema_section("fusion")) == set(FusionSettings.model_fields)


def test_config_values_reach_the_algorithm():
    settings = _build(half_window=10, layout="reference", block_size=250, classes=3)
    params = settings.estarfm()
    assert (params.half_window, params.layout, params.block_size) == (10, "reference", 250)
    # An int from the config stays an int: it is written into the product's tags.
    assert params.classes == 3 and isinstance(params.classes, int)


@pytest.mark.parametrize("value", [1.0, 0.0, 1.5])
def test_significance_must_lie_strictly_between_0_and_1(value):
    with pytest.raises(ConfigError, match=rf"fusion.significance = {value}"):
        _build(significance=value)
    assert _build(significance=0.99).significance == 0.99


def test_min_candidates_may_be_zero():
    """The reference meaning: the weighted prediction needs more than this many."""
    assert _build(min_candidates=0).estarfm().min_candidates == 0
    with pytest.raises(ConfigError, match="fusion.min_candidates = -1"):
        _build(min_candidates=-1)
    assert _schema_section("fusion")["min_candidates"]["minimum"] == 0
    assert _schema_section("fusion")["significance"]["exclusiveMaximum"] == 1


def test_reference_layout_needs_whole_blocks():
    with pytest.raises(ConfigError) as err:
        _build(layout="reference", tile_block=1000, block_size=300)
    message = str(err.value)
    assert "fusion.tile_block (1000)" in message and "fusion.block_size (300)" in message
    assert len(message.splitlines()) <= 3
    # The halo layout and a whole tile at once have no such constraint.
    assert _build(layout="halo", tile_block=1000, block_size=300).tile_block == 1000
    assert _build(layout="reference", tile_block=None, block_size=300).tile_block is None
    assert _build(layout="reference", tile_block=900, block_size=300).tile_block == 900


def test_bad_value_and_misspelled_key_are_short_messages():
    with pytest.raises(ConfigError) as err:
        _build(half_windw=5)
    assert "fusion.half_windw: unknown key (did you mean 'half_window'?)" in str(err.value)
    with pytest.raises(ConfigError) as err:
        _build(layout="tiles")
    assert "fusion.layout = 'tiles'" in str(err.value)
    assert len(str(err.value).splitlines()) <= 3
    with pytest.raises(ConfigError, match="fusion.backend = 'gpu'"):
        _build(backend="gpu")


def test_output_names():
    assert fuse_outputs("a/fusion") == {k: f"a/fusion/{v}" for k, v in FUSE_OUTPUTS.items()}
    assert fuse_outputs("x")["ndvi"] == "x/ndvi_8day.tif"
    # Each pairs selector names an output of rule quality.
    assert set(PAIRS_TABLE) == set(FusionSettings.model_fields["pairs"].annotation.__args__)
    assert all(name in QUALITY_OUTPUTS for name in PAIRS_TABLE.values())
