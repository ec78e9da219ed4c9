"""Snakemake on the soil-moisture stage of the test config, for real: the NetCDF products,
the residual correction on the delivered files, the evaluation, and bad input stopped.

The up-front checks (percent in the units attribute, tiles outside the region, missing
files) are unit-tested on the function the Snakefile calls (test_soil_settings.py);
here one of them runs through Snakemake, and the two that only a job can see
(percent values without a units attribute, stations outside the region) run for real.
"""

import shutil
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from pyproj import CRS, Transformer
from workflow_helpers import prepare_workdir, snakemake

from agrifactory.grid import ALBERS, Tile, tiles_for_aoi

pytestmark = [pytest.mark.workflow, pytest.mark.early]
TILES = ["h625v245", "h626v245", "h625v246", "h626v246"]
YEAR = 2021
#: One whole reanalysis cell of the test region, and the 60 km tile that holds it.
CELL = (114.0, 41.5, 114.25, 41.75)
CELL_TILE_KM = 60
DEMO_SM = "results/demo/inputs/soil_moisture"


def _product(tile: str, name: str) -> str:
    return f"results/tiles/{tile}/{YEAR}/soil_moisture/{name}.nc"


def _cell_tiles() -> list[str]:
    return [t.id for t in tiles_for_aoi(CELL, CELL_TILE_KM)]


def _test_config(workdir: Path) -> dict:
    return yaml.safe_load((workdir / "config/test.yaml").read_text())


def _write_config(workdir: Path, name: str, cfg: dict) -> str:
    (workdir / f"config/{name}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return f"config/{name}.yaml"


def _output(result) -> str:
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    workdir = prepare_workdir(tmp_path_factory.mktemp("sm"))
    targets = [_product(t, "calibrated") for t in TILES]
    targets += [
        f"results/soil_moisture/{YEAR}/{n}" for n in ("evaluation.csv", "station_series.png")
    ]
    result = snakemake(workdir, "--cores", "2", *targets)
    assert result.returncode == 0, _output(result)[-4000:]
    return workdir


@pytest.fixture(scope="module")
def cell_run(run, tmp_path_factory) -> Path:
    """The same run's downscaler applied to a 60 km tile that holds a whole reanalysis cell."""
    workdir = tmp_path_factory.mktemp("smcell")
    shutil.copytree(run, workdir, dirs_exist_ok=True, symlinks=True)
    cfg = _test_config(workdir)
    cfg["grid"] = {"tile_km": CELL_TILE_KM, "mode": "aoi", "aoi_bbox": list(CELL)}
    # One tile, so one classification region: no transfer or adaptation on this grid.
    cfg["classify"]["transfer"] = {"source": None, "target": None}
    cfg["adapt"]["cases"] = []
    configfile = _write_config(workdir, "cell", cfg)
    model = workdir / f"results/models/soil_moisture/{YEAR}/downscaler.json"
    trained = model.stat().st_mtime_ns
    targets = [_product(t, "downscaled") for t in _cell_tiles()]
    result = snakemake(workdir, "--cores", "2", *targets, configfile=configfile)
    assert result.returncode == 0, _output(result)[-4000:]
    assert model.stat().st_mtime_ns == trained  # the region's model, not retrained per grid
    return workdir


@pytest.mark.parametrize("product", ["downscaled", "calibrated"])
@pytest.mark.parametrize("tile", TILES)
def test_products_are_cf_netcdf_on_the_tiles_1km_grid(run, tile, product):
    path = run / _product(tile, product)
    grid = Tile.from_id(tile, 6).grid(1000.0)
    x, y = grid.pixel_centres()
    with xr.open_dataset(path) as ds:
        assert ds.attrs["Conventions"] == "CF-1.11"
        assert ds.attrs["product"] == product and ds.attrs["tile"] == tile
        np.testing.assert_allclose(ds["x"].values, x)
        np.testing.assert_allclose(ds["y"].values, y)
        assert ds["x"].attrs["standard_name"] == "projection_x_coordinate"
        assert ds["y"].attrs["standard_name"] == "projection_y_coordinate"
        days = pd.DatetimeIndex(ds["time"].values)
        assert len(days) == 365 and days[0] == pd.Timestamp("2021-01-01")
        assert (np.diff(days.values) == np.timedelta64(1, "D")).all()
        for layer, depth in (("surface", (0.0, 0.1)), ("rootzone", (0.1, 1.0))):
            var = ds[f"sm_{layer}"]
            assert var.dims == ("time", "y", "x") and var.shape == (365, 6, 6)
            assert var.attrs["units"] in ("m3 m-3", "m3/m3")
            assert var.attrs["standard_name"] == "volume_fraction_of_condensed_water_in_soil"
            assert var.attrs["grid_mapping"] == "crs"
            assert (var.attrs["depth_from_m"], var.attrs["depth_to_m"]) == depth
            values = var.values
            assert np.isfinite(values).all() and 0.0 < values.min() and values.max() < 0.7
        crs = ds["crs"].attrs
        assert crs["grid_mapping_name"] == "albers_conical_equal_area"
        assert list(crs["standard_parallel"]) == [25.0, 47.0]
        assert crs["longitude_of_central_meridian"] == 105.0
        assert CRS.from_wkt(crs["crs_wkt"]).equals(ALBERS, ignore_axis_order=True)
    with netCDF4.Dataset(path) as nc:  # stored compressed, as int16 with a scale factor
        var = nc["sm_surface"]
        assert var.dtype == np.int16 and var.filters()["zlib"] and var.scale_factor == 1e-4


def test_calibration_changes_the_downscaled_field(run):
    with xr.open_dataset(run / _product(TILES[0], "downscaled")) as d:
        with xr.open_dataset(run / _product(TILES[0], "calibrated")) as c:
            diff = np.abs(c["sm_rootzone"].values - d["sm_rootzone"].values)
    assert diff.mean() > 1e-3


def test_neighbouring_tiles_fill_the_cnn_halo(run):
    log = (run / f"results/logs/sm_calibrate/{TILES[0]}_{YEAR}.log").read_text()
    assert "from 3 neighbour tile(s)" in log


def _cell_mosaic(workdir: Path, layer: str) -> tuple[np.ndarray, int]:
    """Daily values of every 1 km pixel whose centre lies in CELL, from the tile files."""
    to_lonlat = Transformer.from_crs(ALBERS, "EPSG:4326", always_xy=True)
    lon0, lat0, lon1, lat1 = CELL
    parts = []
    for tile in _cell_tiles():
        with xr.open_dataset(workdir / _product(tile, "downscaled")) as ds:
            xx, yy = np.meshgrid(ds["x"].values, ds["y"].values)
            lon, lat = to_lonlat.transform(xx, yy)
            inside = (lon >= lon0) & (lon < lon1) & (lat > lat0) & (lat <= lat1)
            parts.append(ds[f"sm_{layer}"].values[:, inside])
    values = np.concatenate(parts, axis=1)
    return values, values.shape[1]


@pytest.mark.parametrize(("layer", "variable"), [("surface", "SMs"), ("rootzone", "SMrz")])
def test_residual_correction_keeps_each_cells_mean_in_the_delivered_files(
    cell_run, layer, variable
):
    values, n_pixels = _cell_mosaic(cell_run, layer)
    assert 500 < n_pixels < 650  # 0.25 x 0.25 degree at 41.6 N: about 20.8 x 27.8 km
    assert np.isfinite(values).all()
    assert values.std(axis=1).min() > 1e-3  # a real 1 km pattern, not a constant per cell
    gleam = cell_run / f"{DEMO_SM}/reanalysis/{variable}_{YEAR}_GLEAM_v3.8a.nc"
    with xr.open_dataset(gleam) as ds:
        coarse = ds[variable].sel(lon=114.125, lat=41.625, method="nearest").values
    # stored at 1e-4 m3/m3: the mean of rounded values is within 5e-5 of the exact mean
    np.testing.assert_allclose(values.mean(axis=1), coarse, rtol=0, atol=6e-5)


def test_evaluation_table_and_series(run):
    table = pd.read_csv(run / f"results/soil_moisture/{YEAR}/evaluation.csv")
    products = [
        "reanalysis",
        "downscaled",
        "pretrained_only",
        "calibrated",
        "calibrated_target_only",
    ]
    assert list(table["product"].unique()) == products
    assert list(table["layer"].unique()) == ["surface", "rootzone"]
    assert table[["pcc", "rmse", "ubrmse", "bias"]].notna().all().all()
    assert (table["n"] == 8 * 365).all()  # every station held out once, every day
    series = pd.read_csv(run / f"results/soil_moisture/{YEAR}/station_series.csv")
    assert series["station"].nunique() == 8 and set(products) < set(series.columns)
    png = (run / f"results/soil_moisture/{YEAR}/station_series.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    log = (run / f"results/logs/sm_bias_train/{YEAR}.log").read_text()
    assert "kept G, masked" in log  # ISMN flags honoured and counted


def _bad_run(run: Path, tmp_path: Path, change, *targets: str, dry: bool = False):
    """A copy of the run with a changed soil-moisture section, asked for ``targets``."""
    shutil.copytree(run, tmp_path, dirs_exist_ok=True, symlinks=True)
    cfg = _test_config(tmp_path)
    change(cfg["soil_moisture"], tmp_path)
    configfile = _write_config(tmp_path, "bad", cfg)
    args = ("-n",) if dry else ("--cores", "1")
    return snakemake(tmp_path, *args, *targets, configfile=configfile, timeout=600)


def _copy_reanalysis(src: Path, dst: Path, variable: str, *, rename=None, scale=1.0, units=None):
    with xr.open_dataset(src) as ds:
        out = ds.load()
    out[variable] = out[variable] * scale
    if units is None:
        out[variable].attrs.pop("units", None)
    else:
        out[variable].attrs["units"] = units
    if rename:
        out = out.rename({variable: rename})
    out.to_netcdf(dst)
    return str(dst)


def test_reanalysis_without_its_variable_stops_the_run_before_any_job(run, tmp_path):
    def change(sm, root):
        src = root / f"{DEMO_SM}/reanalysis/SMs_{YEAR}_GLEAM_v3.8a.nc"
        bad = _copy_reanalysis(src, root / "sm_renamed.nc", "SMs", rename="sm", units="m3/m3")
        sm["reanalysis"]["files"]["surface"] = bad

    result = _bad_run(
        run, tmp_path, change, f"results/soil_moisture/{YEAR}/evaluation.csv", dry=True
    )
    assert result.returncode != 0
    assert "has no variable 'SMs'; data variables present: sm" in _output(result)


def test_unlabelled_percent_values_stop_the_training(run, tmp_path):
    def change(sm, root):
        src = root / f"{DEMO_SM}/reanalysis/SMs_{YEAR}_GLEAM_v3.8a.nc"
        sm["reanalysis"]["files"]["surface"] = _copy_reanalysis(
            src, root / "sms_percent.nc", "SMs", scale=100.0
        )

    result = _bad_run(run, tmp_path, change, f"results/models/soil_moisture/{YEAR}/downscaler.json")
    assert result.returncode != 0
    log = (tmp_path / f"results/logs/sm_train/{YEAR}.log").read_text()
    assert "impossible in m3/m3" in log and "the data look like percent" in log


def test_stations_outside_the_region_are_named_and_stop_the_bias_training(run, tmp_path):
    def change(sm, root):
        rows = [
            f"FAR:S{i},{lon},{lat},0.0,0.05,2021-0{m}-01,0.2,G"
            for i, (lon, lat) in enumerate([(116.0, 41.6), (114.2, 43.0)])
            for m in (5, 6)
        ]
        header = "station,lon,lat,depth_from,depth_to,time,value,flag"
        (root / "far.csv").write_text("\n".join([header, *rows]) + "\n")
        sm["stations"]["target"] = str(root / "far.csv")

    result = _bad_run(run, tmp_path, change, f"results/soil_moisture/{YEAR}/evaluation.csv")
    assert result.returncode != 0
    log = (tmp_path / f"results/logs/sm_bias_train/{YEAR}.log").read_text()
    assert (
        "station FAR:S0 at lon 116.0000, lat 41.6000 lies outside the soil-moisture region" in log
    )
    assert "none of the 2 stations lies inside the soil-moisture region" in log
