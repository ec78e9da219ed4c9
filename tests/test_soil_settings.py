"""The soil-moisture contract: its settings model, the up-front input checks, rule params."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from agrifactory.errors import ConfigError, InputError
from agrifactory.grid import Tile, tiles_for_aoi
from agrifactory.io.files import in_folder
from agrifactory.io.reanalysis import check_reanalysis_header
from agrifactory.soil_moisture import rules
from agrifactory.soil_moisture.drivers import DRIVERS
from agrifactory.soil_moisture.rules import (
    DownscalingSettings,
    ReanalysisSettings,
    SoilMoistureSettings,
)
from agrifactory.synthetic.soil_moisture import world_files

#: An enabled section: only the inputs (every other key keeps the model's default).
INPUTS = {
    "enabled": True,
    "region_bbox": [114.0, 41.5, 114.5, 42.0],
    "reanalysis": {"files": {"surface": "in/SMs_{year}.nc", "rootzone": ["in/SMrz_{year}.nc"]}},
    "drivers": {d: f"in/{d}_{{year}}.tif" for d in DRIVERS},
    "stations": {"target": "in/ismn"},
}
TILES = tiles_for_aoi((114.169, 41.64, 114.282, 41.71), 6)


def _section(**changes) -> dict:
    """``INPUTS`` with changes; ``a__b__c=v`` sets ``section[a][b][c] = v``."""
    cfg = copy.deepcopy(INPUTS)
    for key, value in changes.items():
        *parents, name = key.split("__")
        node = cfg
        for part in parents:
            node = node.setdefault(part, {})
        node[name] = value
    return cfg


def _build(**changes) -> SoilMoistureSettings:
    return SoilMoistureSettings.build(_section(**changes), "soil_moisture")


def _check(settings: SoilMoistureSettings, *, demo: bool = True, tiles=TILES) -> None:
    rules.check_inputs(settings, tiles, [2021], demo=demo, demo_dir="in")


def _gleam(path, variable="SMs", units="m3/m3", scale=1.0):
    days = pd.date_range("2021-01-01", periods=3)
    data = np.full((3, 2, 2), 0.2 * scale, np.float32)
    da = xr.DataArray(
        data,
        dims=("time", "lon", "lat"),
        coords={"time": days, "lon": [114.125, 114.375], "lat": [41.875, 41.625]},
    )
    if units is not None:
        da.attrs["units"] = units
    da.to_dataset(name=variable).to_netcdf(path)
    return path


# --------------------------------------------------------------------------- the model


def test_an_empty_section_is_disabled_and_takes_every_default():
    settings = SoilMoistureSettings.build(None, "soil_moisture")
    assert settings == SoilMoistureSettings() and not settings.enabled
    assert settings.input_files(2021, stations=True)["stations"] == []
    with pytest.raises(ValueError):  # frozen: settings are read, never changed
        settings.downscaling.rounds = 3  # type: ignore[misc]


def test_year_placeholder_and_named_inputs():
    settings = _build()
    files = settings.input_files(2021, stations=True)
    assert files["reanalysis_surface"] == ["in/SMs_2021.nc"]
    assert files["reanalysis_rootzone"] == ["in/SMrz_2021.nc"]
    assert files["driver_ndvi"] == "in/ndvi_2021.tif" and files["stations"] == ["in/ismn"]
    assert "source_stations" not in files
    assert rules.reanalysis_inputs(files) == {
        "surface": ["in/SMs_2021.nc"],
        "rootzone": ["in/SMrz_2021.nc"],
    }
    assert rules.driver_inputs(files)["clay"] == "in/clay_2021.tif"
    assert rules.station_inputs(files, "source_stations") is None
    source = _build(stations__source="in/dense_{year}.csv").input_files(2022, stations=True)
    assert source["source_stations"] == ["in/dense_2022.csv"]


def test_layers_and_lgbm_params_follow_the_settings():
    rea = ReanalysisSettings.build(
        {"variables": {"surface": "sm"}, "depths_m": {"rootzone": [0.1, 0.5]}},
        "soil_moisture.reanalysis",
    )
    default = ReanalysisSettings()
    assert rea.layers() == {
        "surface": {"variable": "sm", "depth_m": list(default.depths_m.surface)},
        "rootzone": {"variable": default.variables.rootzone, "depth_m": [0.1, 0.5]},
    }
    down = DownscalingSettings(max_depth=7)
    params = down.lgbm_params()
    assert list(params) == list(rules.LGBM_KEYS) and params["max_depth"] == 7
    assert "rounds" not in params and "engine" not in params


def test_library_defaults_are_the_models():
    from agrifactory.soil_moisture.downscale import DEFAULT_LGBM_PARAMS, DEFAULT_ROUNDS
    from agrifactory.soil_moisture.reference import DEFAULT_LAYERS

    down = DownscalingSettings()
    assert {k: DEFAULT_LGBM_PARAMS[k] for k in rules.LGBM_KEYS} == down.lgbm_params()
    assert DEFAULT_ROUNDS == down.rounds
    assert DEFAULT_LAYERS == ReanalysisSettings().layers()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"downscaling__round": 5}, "soil_moisture.downscaling.round: unknown key (did you mean"),
        ({"downscaling__max_depth": 13}, "soil_moisture.downscaling.max_depth = 13"),
        ({"bias_correction__folds": "five"}, "soil_moisture.bias_correction.folds = 'five'"),
        ({"reanalysis__units": "%"}, "soil_moisture.reanalysis.units = '%'"),
        ({"bias_correction__finetune__epochs": 0}, "bias_correction.finetune.epochs = 0"),
        ({"region_bbox": [114.5, 41.5, 114.0, 42.0]}, "is not [lon_min, lat_min, lon_max"),
        ({"region_bbox": [114.0, 41.5, 114.5]}, "soil_moisture.region_bbox = [114.0, 41.5"),
        ({"region_bbox": None}, "soil_moisture.region_bbox is not set"),
        ({"drivers__ndvi": None}, "soil_moisture.drivers.ndvi is not set"),
        ({"stations__target": None}, "soil_moisture.stations.target is not set"),
        ({"reanalysis__files__rootzone": None}, "soil_moisture.reanalysis.files.rootzone"),
        ({"bias_correction__pretrain_on": "source"}, "soil_moisture.stations.source is not set"),
        ({"reanalysis__depths_m__rootzone": [1.0, 0.1]}, "depths_m.rootzone: [1.0, 0.1]: 'from'"),
        ({"stations__depths_m": {"surface": [0.0, 0.1]}}, "stations.depths_m.rootzone"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(changes, message):
    with pytest.raises(ConfigError) as err:
        _build(**changes)
    text = str(err.value)
    assert message in text
    assert len(text.splitlines()) <= 3, text  # short: no schema dump


def test_a_disabled_section_needs_no_inputs():
    settings = SoilMoistureSettings.build({"enabled": False, "drivers": {}}, "soil_moisture")
    assert settings.drivers.ndvi is None


def test_station_depths_name_both_layers_or_none():
    assert _build().stations.layer_depths() is None
    depths = {"surface": [0.0, 0.08], "rootzone": [0.08, 0.6]}
    assert _build(stations__depths_m=depths).stations.layer_depths() == depths


# --------------------------------------------------------------------------- rule params


def test_each_rules_params_rebuild_the_settings_it_reads():
    settings = _build(
        reanalysis__units="percent",
        downscaling__rounds=7,
        downscaling__engine="lightgbm",
        stations__min_readings=3,
        bias_correction__members=2,
        bias_correction__batch_days=4,
    )
    trained = rules._settings(rules.train_params(settings, seed=3))
    assert trained.reanalysis.layers() == settings.reanalysis.layers()
    assert trained.reanalysis.units == "percent" and trained.downscaling.rounds == 7
    down = rules._settings(rules.downscale_params(settings, tile_km=6))
    assert down.downscaling.engine == "lightgbm" and down.reanalysis.units == "percent"
    bias = rules.bias_train_params(settings, seed=3)
    rebuilt = rules._settings(bias)
    assert rebuilt.stations.min_readings == 3 and rebuilt.bias_correction.members == 2
    assert rebuilt.downscaling.engine == "lightgbm" and bias["seed"] == 3
    # a setting the rule does not read is not in its params (a change does not rerun it)
    assert "batch_days" not in bias["bias_correction"]
    assert "engine" not in rules.train_params(settings, seed=3)["downscaling"]
    # the cross-field checks hold on the rebuilt settings too
    source = _build(stations__source="in/dense.csv", bias_correction__pretrain_on="source")
    assert rules._settings(rules.bias_train_params(source, seed=0)).stations.source


def test_output_names_in_a_folder():
    assert in_folder("t", rules.TILE_OUTPUTS) == {
        "downscaled": "t/downscaled.nc",
        "calibrated": "t/calibrated.nc",
    }
    assert in_folder("y", rules.YEAR_OUTPUTS)["evaluation"] == "y/evaluation.csv"


def test_the_plots_rule_runs_from_a_job(tmp_path):
    days = pd.date_range("2021-01-01", periods=5)
    rows = [
        {"date": d, "station": s, "layer": "surface", "observed": 0.2, "downscaled": 0.21}
        | {"calibrated": 0.2}
        for s in ("N:a", "N:b", "N:c")
        for d in days
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "series.csv", index=False)
    job = SimpleNamespace(
        input=[str(tmp_path / "series.csv")],
        output=[str(tmp_path / "series.png")],
        params={"plots": {"stations": None, "n_stations": 2}},
        log=[str(tmp_path / "plots.log")],
    )
    rules.plots(job)
    assert (tmp_path / "series.png").read_bytes()[:4] == b"\x89PNG"
    job.params = {"plots": {"n_station": 2}}
    with pytest.raises(ConfigError, match="soil_moisture.plots.n_station: unknown key"):
        rules.plots(job)


def test_neighbours_are_the_run_tiles_around_a_tile():
    run = ["h010v010", "h011v010", "h011v011", "h013v010", "h009v009"]
    assert rules.neighbours("h010v010", run) == ["h009v009", "h011v010", "h011v011"]
    assert rules.neighbours("h000v000", ["h001v000", "h000v001"]) == ["h001v000", "h000v001"]
    assert rules.neighbours("h013v010", run) == []


def test_demo_world_files_are_what_the_world_writer_returns(tmp_path):
    from agrifactory.synthetic.soil_moisture import write_soil_moisture_world

    world = write_soil_moisture_world(
        tmp_path / "in",
        tmp_path / "truth",
        bbox=(114.0, 41.5, 114.5, 42.0),
        n_stations=2,
        n_source_stations=2,
    )
    files = world_files(tmp_path / "in", tmp_path / "truth", 2021)
    assert {f"reanalysis_{k}": v for k, v in world.reanalysis.items()} == {
        k: v for k, v in files.items() if k.startswith("reanalysis_")
    }
    assert {f"driver_{k}": v for k, v in world.drivers.items()} == {
        k: v for k, v in files.items() if k.startswith("driver_")
    }
    assert files["stations"] == world.stations_dir
    assert files["source_stations"] == world.source_stations
    assert (files["truth"], files["stations_truth"]) == (world.truth, world.stations_truth)
    assert all(p.exists() for p in files.values())


# --------------------------------------------------------------------------- input checks


def test_tiles_outside_the_region_are_refused():
    with pytest.raises(ConfigError, match=r"4 tile\(s\) lie outside"):
        _check(_build(region_bbox=[100.0, 30.0, 101.0, 31.0]))


def test_demo_region_must_lie_on_the_quarter_degree_lattice():
    settings = _build(region_bbox=[114.0, 41.5, 114.4, 42.0])
    with pytest.raises(ConfigError, match="0.25 degree lattice"):
        _check(settings)
    with pytest.raises(ConfigError, match="does not exist"):  # real data: any edges
        _check(settings, demo=False)


def test_the_demo_needs_a_station_per_fold():
    settings = _build(bias_correction__folds=9, demo__n_stations=8)
    with pytest.raises(
        ConfigError, match=r"bias_correction.folds \(9\) exceeds .*n_stations \(8\)"
    ):
        _check(settings)


def test_missing_files_are_fine_only_where_the_demo_writes_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _check(_build())
    with pytest.raises(ConfigError) as err:
        _check(_build(), demo=False)
    assert "(reanalysis_surface): in/SMs_2021.nc does not exist" in str(err.value)
    with pytest.raises(ConfigError, match="elsewhere/dem.tif does not exist"):
        _check(_build(drivers__dem="elsewhere/dem.tif"))


def test_existing_reanalysis_files_are_opened_and_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    _gleam(tmp_path / "in/SMs_2021.nc", variable="sm")
    with pytest.raises(InputError, match="has no variable 'SMs'; data variables present: sm"):
        _check(_build())
    _check(_build(reanalysis__variables={"surface": "sm"}))  # the configured variable
    _gleam(tmp_path / "in/SMs_2021.nc", units="%", scale=100)
    with pytest.raises(InputError, match=r"is in percent \(units '%'\) but the config says m3/m3"):
        _check(_build())
    _check(_build(reanalysis__units="percent"))


def test_reanalysis_header_check(tmp_path):
    ok = _gleam(tmp_path / "ok.nc")
    check_reanalysis_header(ok, "SMs")
    check_reanalysis_header(_gleam(tmp_path / "none.nc", units=None), "SMs")  # values checked later
    with pytest.raises(InputError, match="a fraction\\) but the config says percent"):
        check_reanalysis_header(ok, "SMs", units="percent")
    with pytest.raises(InputError, match="not a volumetric soil moisture unit"):
        check_reanalysis_header(_gleam(tmp_path / "k.nc", units="kg m-2"), "SMs")
    with pytest.raises(InputError, match="cannot be opened as NetCDF"):
        (tmp_path / "bad.nc").write_text("not netcdf")
        check_reanalysis_header(tmp_path / "bad.nc", "SMs")
    with pytest.raises(InputError, match=r"ok\.nc: has no variable 'lsm'; .*present: SMs"):
        check_reanalysis_header(ok, "SMs", land_mask="lsm")


def test_era5_reading_options_and_their_defaults():
    # the defaults read GLEAM as before: no mask, no tolerance, one step per day
    assert ReanalysisSettings().read_options() == {
        "units": "m3/m3",
        "land_mask": None,
        "land_fraction_min": 0.5,
        "negative_tolerance": 0.0,
        "daily_mean": False,
    }
    era5 = {
        "variables": {"surface": "swvl1", "rootzone": "swvl2"},
        "depths_m": {"surface": [0, 0.07], "rootzone": [0.07, 0.28]},
        "land_mask": "lsm",
        "negative_tolerance": 0.02,
        "daily_mean": True,
    }
    settings = _build(reanalysis=INPUTS["reanalysis"] | era5)
    assert settings.reanalysis.layers()["rootzone"] == {
        "variable": "swvl2",
        "depth_m": [0.07, 0.28],
    }
    # every rule that reads the reanalysis gets the reading options
    for params in (
        rules.train_params(settings, seed=0),
        rules.downscale_params(settings, tile_km=6),
        rules.bias_train_params(settings, seed=0),
    ):
        assert rules._settings(params).reanalysis.read_options()["land_mask"] == "lsm"
        assert params["reanalysis"]["daily_mean"] is True
    with pytest.raises(ConfigError, match="negative_tolerance"):
        _build(reanalysis={"negative_tolerance": 0.5})


def test_tiles_overlapping_the_region_edge_are_accepted():
    edge = [Tile.from_id("h625v245", 6)]  # about 114.17-114.24 E: half inside the region
    with pytest.raises(ConfigError, match="does not exist"):  # past the tile check
        _check(_build(region_bbox=[114.0, 41.5, 114.2, 41.7]), demo=False, tiles=edge)
    with pytest.raises(ConfigError, match="1 tile"):
        _check(_build(region_bbox=[114.0, 41.5, 114.1, 41.7]), demo=False, tiles=edge)
