"""The config contract: settings models, the schema generated from them, short errors."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from agrifactory.config import build_settings, json_schema, retype_text, schema_yaml
from agrifactory.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
CONFIGS = ["config.yaml", "test.yaml", "china.yaml"]


def _config(name: str = "test.yaml") -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text(encoding="utf-8"))


def _error(config: dict) -> str:
    with pytest.raises(ConfigError) as info:
        build_settings(config)
    return str(info.value)


def test_committed_schema_is_generated_from_the_models():
    assert SCHEMA.read_text(encoding="utf-8") == schema_yaml(), (
        "workflow/schemas/config.schema.yaml is stale: run 'make schema' and commit it"
    )


def _only_known(filled, dumped):
    """``filled`` reduced to the keys of ``dumped`` (both nested mappings)."""
    if isinstance(filled, dict) and isinstance(dumped, dict):
        return {k: _only_known(filled.get(k), v) for k, v in dumped.items()}
    if filled is None and dumped == {}:  # null clears a mapping (settings.none_as_empty)
        return {}
    return filled


@pytest.mark.parametrize("name", CONFIGS)
def test_schema_defaults_equal_the_models_defaults(name):
    """What Snakemake's validate fills in from the schema is what the models hold."""
    config = _config(name)
    filled = copy.deepcopy(config)
    validate(filled, str(SCHEMA))
    filled = json.loads(json.dumps(filled, default=str))  # YAML's int keys as JSON's text
    dumped = build_settings(config).model_dump(mode="json")
    assert _only_known(filled, dumped) == dumped
    assert set(filled) == set(dumped)


def test_every_setting_has_a_description_and_a_default():
    """(Keys required inside an optional block, such as stations.depths_m, have none.)"""

    def walk(node, path):
        required = node.get("required", [])
        for key, prop in node.get("properties", {}).items():
            assert prop.get("description"), f"{path}{key} has no description"
            assert "default" in prop or key in required, f"{path}{key} has no default"
            walk(prop, f"{path}{key}.")

    walk(json_schema(), "")


def test_misspelled_top_level_key_is_one_short_line_with_a_suggestion():
    message = _error({**_config(), "fusoin": {"half_window": 3}})
    assert "fusoin: unknown key (did you mean 'fusion'?)" in message
    assert len(message.splitlines()) < 10


def test_misspelled_nested_key_names_its_path_and_the_nearest_name():
    config = _config()
    config["demo_world"]["margni_km"] = 2
    assert "demo_world.margni_km: unknown key (did you mean 'margin_km'?)" in _error(config)


def test_unknown_key_without_a_near_name_lists_the_valid_keys():
    config = _config()
    config["boundaries"] = {"zzz": 1}
    message = _error(config)
    assert "boundaries.zzz: unknown key (valid keys: source, county_source" in message


def test_wrong_type_names_the_key_and_the_value():
    config = _config()
    config["grid"]["tile_km"] = "six"
    assert "grid.tile_km = 'six'" in _error(config)


def test_out_of_range_names_the_key_the_value_and_the_range():
    config = _config()
    config["grid"]["tile_km"] = 7
    assert "grid.tile_km = 7: Input should be a multiple of 3" in _error(config)


def test_years_given_as_text_on_the_command_line():
    # `snakemake --config years='[2021, 2022]'` passes the value as a string.
    assert build_settings({**_config(), "years": "[2021, 2022]"}).years == [2021, 2022]


def test_text_from_the_command_line_takes_the_settings_types():
    # `--config years=[2021] fusion={"half_window": 3}` reaches the config as text.
    config = _config()
    config["years"] = ["2021"]
    config["fusion"] = {"half_window": "3", "layout": "halo"}
    retype_text(config, build_settings(config))
    assert config["years"] == [2021]
    assert config["fusion"] == {"half_window": 3, "layout": "halo"}
    assert config["grid"] == _config()["grid"]  # typed values are left as they were
    validate(config, str(SCHEMA))  # and the schema accepts them


def test_a_single_year_and_a_yaml_date_take_the_settings_types():
    import datetime as dt

    config = _config()
    config["years"] = 2021  # `--config years=2021`
    config["demo_world"]["landsat_first_date"] = dt.date(2021, 1, 5)  # unquoted in YAML
    config["demo_world"]["phenology_shift_days"] = 12  # a number stays as written
    retype_text(config, build_settings(config))
    assert config["years"] == [2021]
    assert config["demo_world"]["landsat_first_date"] == "2021-01-05"
    assert config["demo_world"]["phenology_shift_days"] == 12
    assert isinstance(config["demo_world"]["phenology_shift_days"], int)
    validate(config, str(SCHEMA))


def test_a_value_no_member_of_a_union_takes_is_one_line_without_type_tags():
    config = _config()
    config["classify"]["regions"] = "north_south"
    message = _error(config)
    assert "classify.regions = 'north_south': Input should be 'all' or 'west_east'; or " in message
    assert "literal[" not in message and "dict[" not in message


def test_a_missing_key_inside_an_optional_block_is_named_with_a_suggestion():
    config = _config()
    config["soil_moisture"]["stations"]["depths_m"] = {"srface": [0, 0.1], "rootzone": [0.1, 1]}
    message = _error(config)
    assert "soil_moisture.stations.depths_m.surface: missing (required here)" in message
    assert "depths_m.srface: unknown key (did you mean 'surface'?)" in message


def test_many_problems_are_counted_not_dumped():
    config = {**_config(), **{f"bad{i}": 1 for i in range(9)}}
    message = _error(config)
    assert "(9 problems)" in message and "... and 4 more" in message
    assert len(message.splitlines()) < 10


# --- the run plan stops before the first job ------------------------------------

BAD_SETTINGS = {
    "significance": ({"fusion": {"significance": 1.0}}, "fusion.significance"),
    "reference_blocks": (
        {"fusion": {"layout": "reference", "tile_block": 1000, "block_size": 300}},
        "fusion.tile_block",
    ),
    "misspelled_stage_key": ({"fusion": {"half_windw": 10}}, "did you mean 'half_window'"),
    "wrong_type": ({"timeseries": {"hants": {"n_freq": "three"}}}, "timeseries.hants.n_freq"),
    "unknown_section": ({"fussion": {}}, "fussion: unknown key"),
    "grid_crs_not_equal_area": (
        {"grid": {"crs": "EPSG:3857"}},
        "grid.crs: 'EPSG:3857': its projection is 'Popular Visualisation Pseudo Mercator'",
    ),
}


def _merge(base: dict, change: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@pytest.mark.workflow
@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_dry_run_stops_before_any_job_naming_the_key(case, tmp_path):
    from workflow_helpers import prepare_workdir, snakemake

    change, expected = BAD_SETTINGS[case]
    workdir = prepare_workdir(tmp_path)
    config = _merge(_config(), change)
    (workdir / "config" / "bad.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    start = time.perf_counter()
    result = snakemake(workdir, "-n", configfile="config/bad.yaml")
    seconds = time.perf_counter() - start
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert expected in output, output[-2000:]
    assert "invalid config" in output
    assert "Job stats" not in output
    print(f"{case}: stopped after {seconds:.1f} s")


@pytest.mark.workflow
def test_a_year_before_modis_on_the_command_line_names_the_mission(tmp_path):
    from workflow_helpers import prepare_workdir, snakemake

    workdir = prepare_workdir(tmp_path)
    result = snakemake(workdir, "-n", "--config", "years=[1990]")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Terra MODIS data start on 2000-02-24" in output, output[-2000:]
    assert "On instance" not in output  # no schema dump
