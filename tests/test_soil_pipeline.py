"""The demo soil-moisture world and the four stages on a small copy of it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from agrifactory.errors import DataError
from agrifactory.grid import Tile, tiles_for_aoi
from agrifactory.io.raster import read_stack
from agrifactory.io.reanalysis import read_reanalysis
from agrifactory.io.stations import apply_quality_flags, read_stations
from agrifactory.soil_moisture.cnn import CorrectorEnsemble
from agrifactory.soil_moisture.downscale import DownscalerModel
from agrifactory.soil_moisture.lattice import cell_members
from agrifactory.soil_moisture.netcdf import read_sm_netcdf
from agrifactory.soil_moisture.pipeline import (
    calibrate_tile,
    downscale_pixels,
    downscale_tile,
    train_bias_correction,
    train_downscaler_from_files,
)
from agrifactory.soil_moisture.plots import plot_station_series
from agrifactory.soil_moisture.reference import load_reference
from agrifactory.soil_moisture.rules import SoilMoistureSettings
from agrifactory.synthetic.soil_moisture import write_soil_moisture_world

BBOX = (114.0, 41.0, 114.5, 41.5)


def quick(**bias) -> SoilMoistureSettings:
    """The defaults with a short CNN training (two epochs) and the given bias settings."""
    phases = {"pretrain": {"epochs": 2}, "finetune": {"epochs": 2, "batch_size": 256}}
    return SoilMoistureSettings.build({"bias_correction": phases | bias}, "soil_moisture")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("smworld")
    return write_soil_moisture_world(
        root / "in", root / "truth", bbox=BBOX, n_stations=6, n_source_stations=12, seed=3
    )


@pytest.fixture(scope="module")
def model(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("smmodel") / "sm_downscaler.json"
    return train_downscaler_from_files(world.reanalysis, world.drivers, world.year, out)


def test_world_files_and_formats(world):
    assert world.reanalysis["surface"].name == "SMs_2021_GLEAM_v3.8a.nc"
    assert world.reanalysis["rootzone"].name == "SMrz_2021_GLEAM_v3.8a.nc"
    with xr.open_dataset(world.reanalysis["surface"]) as ds:
        assert ds["SMs"].dims == ("time", "lon", "lat") and ds["SMs"].attrs["units"] == "m3/m3"
        assert ds["lat"].values[0] > ds["lat"].values[-1]
    da = read_reanalysis(world.reanalysis["rootzone"], "SMrz")
    assert da.shape == (365, 2, 2) and float(da.min()) > 0 and float(da.max()) < 0.6
    assert sorted(world.drivers) == [
        "albedo",
        "clay",
        "dem",
        "lst_day",
        "lst_night",
        "ndvi",
        "precip",
        "sand",
    ]
    ndvi, dates, meta = read_stack(world.drivers["ndvi"])
    assert ndvi.shape == (46, 50, 50) and str(dates[1]) == "2021-01-09"
    assert meta["units"][0] == "1" and str(meta["crs"]) == "EPSG:4326"
    _, pdates, pmeta = read_stack(world.drivers["precip"])
    assert len(pdates) == 365 and pmeta["units"][0] == "mm/day"
    target = read_stations(world.stations_dir)
    assert target.records["station"].nunique() == 6 and not target.problems
    assert len(target.files) == 12  # two depths per station, ISMN folder layout
    assert target.files[0].endswith("_sm_0.050000_0.050000_ThetaProbe-ML2X_20210101_20211231.stm")
    _, counts = apply_quality_flags(target.records)
    assert counts["G"] > 0.99 * len(target.records)
    assert any(k.startswith("D") for k in counts) and any(k.startswith("C") for k in counts)
    source = read_stations(world.source_stations)
    assert source.records["station"].nunique() == 12
    assert set(source.records["depth_to"]) == {0.1, 0.5}


def test_reanalysis_is_the_biased_area_mean_of_the_truth(world):
    with xr.open_dataset(world.truth) as truth:
        fine = truth["sm_surface"].values
    mean = fine.reshape(365, 2, 25, 2, 25).mean(axis=(2, 4))
    rean = read_reanalysis(world.reanalysis["surface"], "SMs").values
    assert np.corrcoef(mean.ravel(), rean.ravel())[0, 1] > 0.9
    assert 0.0 < float((rean - mean).mean()) < 0.05  # a modest wet bias


def test_world_is_deterministic(world, tmp_path):
    again = write_soil_moisture_world(
        tmp_path / "a", tmp_path / "t", bbox=BBOX, n_stations=6, n_source_stations=12, seed=3
    )
    for layer, var in (("surface", "SMs"), ("rootzone", "SMrz")):
        np.testing.assert_array_equal(
            read_reanalysis(again.reanalysis[layer], var).values,
            read_reanalysis(world.reanalysis[layer], var).values,
        )
    one = sorted(world.stations_dir.rglob("*.stm"))[0]
    assert (again.stations_dir / one.relative_to(world.stations_dir)).read_bytes() == (
        one.read_bytes()
    )
    assert again.source_stations.read_bytes() == world.source_stations.read_bytes()


def test_downscaled_cells_average_to_the_reanalysis(world, model):
    ref = load_reference(world.reanalysis, world.year)
    members = cell_members(ref.grid, [1])
    sm, block = downscale_pixels(DownscalerModel.load(model), world.drivers, ref, members)
    for layer in ("surface", "rootzone"):
        np.testing.assert_allclose(sm[layer].mean(axis=1), ref.values[layer][:, 1], atol=2e-6)
        assert np.isfinite(sm[layer]).all()
    assert block.n_places == len(members)


def test_four_stages(world, model, tmp_path):
    tile = tiles_for_aoi((114.2, 41.2, 114.21, 41.21), 15)[0]
    nb = Tile(tile.col + 1, tile.row, 15)
    down = downscale_tile(
        model,
        world.reanalysis,
        world.drivers,
        tile.id,
        15,
        world.year,
        tmp_path / f"d_{tile.id}.nc",
    )
    down_nb = downscale_tile(
        model, world.reanalysis, world.drivers, nb.id, 15, world.year, tmp_path / f"d_{nb.id}.nc"
    )
    sm, grid, days, attrs = read_sm_netcdf(down)
    assert grid.shape == (15, 15) and len(days) == 365 and attrs["product"] == "downscaled"
    assert np.isfinite(sm["surface"]).all()

    res = train_bias_correction(
        model,
        world.reanalysis,
        world.drivers,
        world.stations_dir,
        world.year,
        tmp_path / "cnn.pt",
        tmp_path / "eval.csv",
        tmp_path / "series.csv",
        source_stations=world.source_stations,
        settings=quick(folds=2, members=2),
    )
    table = pd.read_csv(res.table)
    assert set(table["product"]) == {
        "reanalysis",
        "downscaled",
        "pretrained_only",
        "calibrated",
        "calibrated_target_only",
    }
    assert set(table["layer"]) == {"surface", "rootzone"}
    assert (table["n"] > 1000).all() and table[["pcc", "rmse"]].notna().all().all()
    series = pd.read_csv(res.series)
    assert series["station"].nunique() == 6 and len(series) == 6 * 2 * 365
    png = plot_station_series(res.series, tmp_path / "series.png", n_stations=2)
    assert png.read_bytes()[:4] == b"\x89PNG"
    cnn = CorrectorEnsemble.load(res.cnn)
    assert cnn.layers == ["surface", "rootzone"] and cnn.meta["pretrained_on"].startswith("source")
    assert len(cnn.members) == 2 and cnn.meta["members"] == 2

    alone = calibrate_tile(down, res.cnn, world.drivers, tmp_path / "c_alone.nc")
    joined = calibrate_tile(
        down, res.cnn, world.drivers, tmp_path / "c_joined.nc", neighbours=[down_nb]
    )
    a, _, _, a_attrs = read_sm_netcdf(alone)
    b, _, _, _ = read_sm_netcdf(joined)
    assert a_attrs["product"] == "calibrated"
    assert np.isfinite(a["surface"]).all()
    differs = np.abs(a["surface"] - b["surface"]).max(axis=0) > 0
    # the neighbour east of the tile only changes the two columns within the CNN's reach
    assert not differs[:, :-2].any() and differs[:, -2:].any()


def test_bias_training_refuses_shared_stations(world, model, tmp_path):
    with pytest.raises(DataError, match="both source and target"):
        train_bias_correction(
            model,
            world.reanalysis,
            world.drivers,
            world.stations_dir,
            world.year,
            tmp_path / "c.pt",
            tmp_path / "e.csv",
            tmp_path / "s.csv",
            source_stations=world.stations_dir,
            settings=quick(folds=2, members=1),
        )


@pytest.mark.parametrize("mode", ["reanalysis", "none"])
def test_bias_training_without_a_source_network(world, model, tmp_path, mode):
    res = train_bias_correction(
        model,
        world.reanalysis,
        world.drivers,
        world.stations_dir,
        world.year,
        tmp_path / "cnn.pt",
        tmp_path / "eval.csv",
        tmp_path / "series.csv",
        settings=quick(pretrain_on=mode, folds=2, oof_folds=2, members=1),
    )
    products = set(res.evaluation["product"])
    if mode == "reanalysis":
        assert "pretrained_only" in products and "calibrated_target_only" in products
        assert CorrectorEnsemble.load(res.cnn).meta["pretrained_on"].startswith("reanalysis")
    else:
        assert products == {"reanalysis", "downscaled", "calibrated"}
        assert CorrectorEnsemble.load(res.cnn).meta["pretrained_on"] == "none"
