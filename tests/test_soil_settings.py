"""The workflow's soil-moisture config section: up-front checks and call arguments."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from agrifactory.errors import ConfigError, InputError
from agrifactory.grid import Tile, tiles_for_aoi
from agrifactory.io.reanalysis import check_reanalysis_header
from agrifactory.soil_moisture import settings
from agrifactory.soil_moisture.drivers import DRIVERS
from agrifactory.synthetic.soil_moisture import world_files

#: The schema's defaults for the section (what Snakemake fills in), plus inputs.
BASE = {
    "enabled": True,
    "region_bbox": [114.0, 41.5, 114.5, 42.0],
    "reanalysis": {
        "files": {"surface": "in/SMs_{year}.nc", "rootzone": ["in/SMrz_{year}.nc"]},
        "variables": {"surface": "SMs", "rootzone": "SMrz"},
        "units": "m3/m3",
        "depths_m": {"surface": [0.0, 0.1], "rootzone": [0.1, 1.0]},
    },
    "drivers": {d: f"in/{d}_{{year}}.tif" for d in DRIVERS},
    "stations": {
        "target": "in/ismn",
        "source": None,
        "keep_flags": ["G"],
        "depths_m": None,
        "min_readings": 1,
    },
    "downscaling": {
        "rounds": 100,
        "learning_rate": 0.15,
        "max_depth": 5,
        "num_leaves": 31,
        "min_data_in_leaf": 40,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "lambda_l2": 1.0,
        "min_coverage": 0.5,
        "residual_correction": True,
        "engine": "compiled",
    },
}
TILES = tiles_for_aoi((114.169, 41.64, 114.282, 41.71), 6)


def _cfg(**changes) -> dict:
    cfg = copy.deepcopy(BASE)
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            cfg[section][name] = value
        else:
            cfg[section] = value
    return cfg


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


def test_year_placeholder_and_named_inputs():
    files = settings.input_files(BASE, 2021, stations=True)
    assert files["reanalysis_surface"] == ["in/SMs_2021.nc"]
    assert files["reanalysis_rootzone"] == ["in/SMrz_2021.nc"]
    assert files["driver_ndvi"] == "in/ndvi_2021.tif" and files["stations"] == ["in/ismn"]
    assert "source_stations" not in files
    assert settings.reanalysis_inputs(files) == {
        "surface": ["in/SMs_2021.nc"],
        "rootzone": ["in/SMrz_2021.nc"],
    }
    assert settings.driver_inputs(files)["clay"] == "in/clay_2021.tif"
    assert settings.station_inputs(files, "source_stations") is None


def test_layers_lgbm_params_and_train_settings():
    assert settings.layers(BASE) == {
        "surface": {"variable": "SMs", "depth_m": [0.0, 0.1]},
        "rootzone": {"variable": "SMrz", "depth_m": [0.1, 1.0]},
    }
    params = settings.lgbm_params(BASE)
    assert params["max_depth"] == 5 and "rounds" not in params and "engine" not in params
    ts = settings.train_settings(
        {"epochs": 3, "learning_rate": 0.01, "batch_size": 32, "weight_decay": 0.0}
    )
    assert (ts.epochs, ts.lr, ts.batch_size, ts.weight_decay) == (3, 0.01, 32, 0.0)


def test_neighbours_are_the_run_tiles_around_a_tile():
    run = ["h010v010", "h011v010", "h011v011", "h013v010", "h009v009"]
    assert settings.neighbours("h010v010", run) == ["h009v009", "h011v010", "h011v011"]
    assert settings.neighbours("h000v000", ["h001v000", "h000v001"]) == ["h001v000", "h000v001"]
    assert settings.neighbours("h013v010", run) == []


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


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"region_bbox": None}, "soil_moisture.region_bbox is not set"),
        ({"region_bbox": [114.5, 41.5, 114.0, 42.0]}, "is not [lon_min, lat_min, lon_max"),
        ({"drivers__ndvi": None}, "soil_moisture.drivers.ndvi is not set"),
        ({"stations__target": None}, "soil_moisture.stations.target is not set"),
        ({"region_bbox": [100.0, 30.0, 101.0, 31.0]}, "4 tile(s) lie outside"),
    ],
)
def test_config_errors_name_the_key(changes, message):
    with pytest.raises(ConfigError) as err:
        settings.check_config(_cfg(**changes), TILES, [2021], demo=True, demo_dir="in")
    assert message in str(err.value)


def test_inverted_depths_are_refused():
    cfg = _cfg()
    cfg["reanalysis"]["depths_m"]["rootzone"] = [1.0, 0.1]
    with pytest.raises(ConfigError, match=r"depths_m.rootzone = \[1.0, 0.1\]"):
        settings.check_config(cfg, TILES, [2021], demo=True, demo_dir="in")


def test_demo_region_must_lie_on_the_quarter_degree_lattice():
    cfg = _cfg(region_bbox=[114.0, 41.5, 114.4, 42.0])
    with pytest.raises(ConfigError, match="0.25 degree lattice"):
        settings.check_config(cfg, TILES, [2021], demo=True, demo_dir="in")
    with pytest.raises(ConfigError, match="does not exist"):  # real data: any edges
        settings.check_config(cfg, TILES, [2021], demo=False, demo_dir="in")


def test_missing_files_are_fine_only_where_the_demo_writes_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings.check_config(_cfg(), TILES, [2021], demo=True, demo_dir="in")
    with pytest.raises(ConfigError) as err:
        settings.check_config(_cfg(), TILES, [2021], demo=False, demo_dir="in")
    assert "(reanalysis_surface): in/SMs_2021.nc does not exist" in str(err.value)
    cfg = _cfg(drivers__dem="elsewhere/dem.tif")
    with pytest.raises(ConfigError, match="elsewhere/dem.tif does not exist"):
        settings.check_config(cfg, TILES, [2021], demo=True, demo_dir="in")


def test_existing_reanalysis_files_are_opened_and_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    _gleam(tmp_path / "in/SMs_2021.nc", variable="sm")
    with pytest.raises(InputError, match="has no variable 'SMs'; data variables present: sm"):
        settings.check_config(_cfg(), TILES, [2021], demo=True, demo_dir="in")
    _gleam(tmp_path / "in/SMs_2021.nc", units="%", scale=100)
    with pytest.raises(InputError, match=r"is in percent \(units '%'\) but the config says m3/m3"):
        settings.check_config(_cfg(), TILES, [2021], demo=True, demo_dir="in")
    cfg = _cfg()
    cfg["reanalysis"]["units"] = "percent"
    settings.check_config(cfg, TILES, [2021], demo=True, demo_dir="in")


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


def test_tiles_overlapping_the_region_edge_are_accepted():
    edge = [Tile.from_id("h625v245", 6)]  # about 114.17-114.24 E: half inside the region
    with pytest.raises(ConfigError, match="does not exist"):  # past the tile check
        settings.check_config(
            _cfg(region_bbox=[114.0, 41.5, 114.2, 41.7]), edge, [2021], demo=False, demo_dir="in"
        )
    with pytest.raises(ConfigError, match="1 tile"):
        settings.check_config(
            _cfg(region_bbox=[114.0, 41.5, 114.1, 41.7]), edge, [2021], demo=False, demo_dir="in"
        )
