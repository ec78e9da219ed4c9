"""The whole soil-moisture method on the demo world, end to end, with its numbers.

``python -m agrifactory.soil_moisture.demo WORKDIR`` writes the demo world into
``WORKDIR``, trains the downscaler, trains and cross-validates the
bias-correction CNN, downscales and calibrates one tile, and prints the
evaluation at held-out stations plus the tile's agreement with the truth.
Everything runs on one thread.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from agrifactory.grid import tiles_for_aoi
from agrifactory.soil_moisture.evaluate import metrics
from agrifactory.soil_moisture.lattice import grid_pixels, lattice_lonlat
from agrifactory.soil_moisture.netcdf import read_sm_netcdf
from agrifactory.soil_moisture.pipeline import (
    calibrate_tile,
    downscale_tile,
    set_torch_threads,
    train_bias_correction,
    train_downscaler_from_files,
)
from agrifactory.soil_moisture.rules import BiasCorrectionSettings, SoilMoistureSettings
from agrifactory.synthetic.soil_moisture import DEFAULT_BBOX, write_soil_moisture_world

log = logging.getLogger(__name__)

#: A demo tile: 30 km over the Chahannur basin.
DEMO_TILE_AOI = (114.2, 41.3, 114.4, 41.5)
DEMO_TILE_KM = 30


def truth_on_tile(truth_path: Path, grid) -> dict[str, np.ndarray]:
    """The world's truth at the tile's 1 km pixel centres (nearest 0.01 degree cell)."""
    rows, cols = grid_pixels(grid)
    lon, lat = lattice_lonlat(rows, cols)
    with xr.open_dataset(truth_path) as ds:
        sel = {"lat": xr.DataArray(lat, dims="p"), "lon": xr.DataArray(lon, dims="p")}
        return {
            layer: ds[f"sm_{layer}"].sel(sel, method="nearest").values.reshape((-1,) + grid.shape)
            for layer in ("surface", "rootzone")
        }


def _tile_vs_truth(down: Path, cal: Path, truth: Path) -> dict[str, dict]:
    """Metrics of the downscaled and calibrated tile against the world's truth."""
    d_sm, grid, _, _ = read_sm_netcdf(down)
    c_sm, _, _, _ = read_sm_netcdf(cal)
    on_tile = truth_on_tile(truth, grid)
    return {
        layer: {
            "downscaled": metrics(d_sm[layer], on_tile[layer]),
            "calibrated": metrics(c_sm[layer], on_tile[layer]),
        }
        for layer in on_tile
    }


def run_demo(
    work_dir: str | Path,
    *,
    seed: int = 0,
    bbox: Sequence[float] = DEFAULT_BBOX,
    n_stations: int = 40,
    n_source_stations: int = 100,
    folds: int = 5,
    members: int = 1,
    tile_aoi: Sequence[float] = DEMO_TILE_AOI,
    tile_km: int = DEMO_TILE_KM,
) -> dict[str, Any]:
    """Generate the world, run the four stages and return timings and metrics.

    The stages use the defaults of ``soil_moisture`` (:class:`SoilMoistureSettings`)
    with the region ``bbox`` and the given ``folds`` and ``members``.
    """
    set_torch_threads(1)
    work = Path(work_dir)
    settings = SoilMoistureSettings(
        region_bbox=list(bbox),
        bias_correction=BiasCorrectionSettings(folds=folds, members=members),
    )
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    world = write_soil_moisture_world(
        work / "world",
        work / "truth",
        bbox=bbox,
        seed=seed,
        n_stations=n_stations,
        n_source_stations=n_source_stations,
    )
    times["world"] = time.perf_counter() - t0
    year, rea, drivers = world.year, world.reanalysis, world.drivers
    out = work / "results"

    t = time.perf_counter()
    model = train_downscaler_from_files(
        rea, drivers, year, out / "sm_downscaler.json", settings=settings, seed=seed
    )
    times["sm_train"] = time.perf_counter() - t

    t = time.perf_counter()
    tables = [
        out / f"sm_{name}" for name in ("bias_cnn.pt", "evaluation.csv", "station_series.csv")
    ]
    bias = train_bias_correction(
        model,
        rea,
        drivers,
        world.stations_dir,
        year,
        *tables,
        source_stations=world.source_stations,
        settings=settings,
        seed=seed,
    )
    times["sm_bias_train"] = time.perf_counter() - t

    tile = tiles_for_aoi(tile_aoi, tile_km)[0]
    t = time.perf_counter()
    down_path = out / f"sm_downscaled_{tile.id}_{year}.nc"
    down = downscale_tile(model, rea, drivers, tile.id, tile_km, year, down_path, settings=settings)
    times["sm_downscale"] = time.perf_counter() - t
    t = time.perf_counter()
    cal = calibrate_tile(down, bias.cnn, drivers, out / f"sm_calibrated_{tile.id}_{year}.nc")
    times["sm_calibrate"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - t0
    return {
        "evaluation": bias.evaluation,
        "tile": tile.id,
        "tile_vs_truth": _tile_vs_truth(down, cal, world.truth),
        "seconds": times,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work_dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--members", type=int, default=1, help="CNN ensemble members")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    res = run_demo(args.work_dir, seed=args.seed, members=args.members)
    print(res["evaluation"].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(
        json.dumps(
            {"tile": res["tile"], "tile_vs_truth": res["tile_vs_truth"], "seconds": res["seconds"]},
            indent=1,
            default=float,
        )
    )


if __name__ == "__main__":
    main()
