"""1 km soil-moisture predictions per second per core for a tile-year.

Builds the demo soil-moisture world in a temporary folder, trains the
downscaler (default settings), samples the drivers of a 120 x 120 km window of
the 1 km lattice (a tile's size, centred in the region) at 1 km
for every day of the year, and predicts the surface layer with

* baseline: ``Booster.predict`` on the full float64 ``(days x pixels, features)``
  matrix, one thread (built in day chunks of at most 2 million rows);
* ``Booster.predict`` on float32 C-contiguous chunks, one thread;
* the compiled trees of :mod:`agrifactory.soil_moisture.trees` on the
  de-duplicated feature groups (static per pixel, dynamic per pixel-day), one thread.

It prints rows per second and the ratio to the baseline, and checks that all
three give the same predictions.

Usage::

    PYTHONPATH=src python benchmarks/bench_soil_moisture.py [--tile-km 120] [--days 365]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from agrifactory.grid import PixelGrid
from agrifactory.soil_moisture.downscale import DownscalerModel
from agrifactory.soil_moisture.drivers import sample_drivers
from agrifactory.soil_moisture.features import feature_block, layout
from agrifactory.soil_moisture.lattice import (
    grid_pixels,
    lattice_centres,
    lattice_lonlat,
    lattice_pixel_of,
)
from agrifactory.soil_moisture.pipeline import train_downscaler_from_files
from agrifactory.soil_moisture.trees import predict_space_time
from agrifactory.synthetic.soil_moisture import write_soil_moisture_world


def _lightgbm(booster, block, dtype) -> np.ndarray:
    out = np.empty((block.n_days, block.n_places), dtype=np.float64)
    step = max(1, 2_000_000 // block.n_places)
    for s in range(0, block.n_days, step):
        sl = slice(s, min(block.n_days, s + step))
        x = np.ascontiguousarray(block.matrix(sl), dtype=dtype)
        out[sl] = booster.predict(x, num_threads=1).reshape(-1, block.n_places)
    return out


def _centred_grid(bbox, size_km: int) -> PixelGrid:
    """A ``size_km`` square of the 1 km lattice centred on the region (a tile-sized window)."""
    row, col = lattice_pixel_of(
        np.array([(bbox[0] + bbox[2]) / 2]), np.array([(bbox[1] + bbox[3]) / 2])
    )
    x0, y0 = lattice_centres(row - size_km // 2, col - size_km // 2)
    return PixelGrid(float(x0[0]) - 500, float(y0[0]) + 500, 1000.0, size_km, size_km)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile-km", type=int, default=120)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        world = write_soil_moisture_world(tmp / "in", tmp / "truth")
        model_path = train_downscaler_from_files(
            world.reanalysis, world.drivers, world.year, tmp / "m.json"
        )
        model = DownscalerModel.load(model_path)
        grid = _centred_grid(world.bbox, args.tile_km)
        rows, cols = grid_pixels(grid)
        lon, lat = lattice_lonlat(rows, cols)
        t0 = time.perf_counter()
        values = sample_drivers(world.drivers, lon, lat, world.year)
        block = feature_block(values, lon, lat)
        t_features = time.perf_counter() - t0
        keep = slice(0, args.days)
        block.dynamic = block.dynamic[keep]
        block.per_day = block.per_day[keep]
        block.days = block.days[keep]
        n = block.n_days * block.n_places
        booster = model.boosters["surface"]
        trees = model.compiled["surface"]
        predict_space_time(
            trees, block.static[:10], block.dynamic[:1, :10], block.per_day[:1], layout()
        )  # compile once, outside the timing

        results = {}
        for name, fn in (
            ("Booster.predict float64 (baseline)", lambda: _lightgbm(booster, block, np.float64)),
            ("Booster.predict float32 contiguous", lambda: _lightgbm(booster, block, np.float32)),
            (
                "compiled trees, de-duplicated features",
                lambda: predict_space_time(
                    trees, block.static, block.dynamic, block.per_day, layout()
                ),
            ),
        ):
            t = time.perf_counter()
            pred = fn()
            results[name] = (time.perf_counter() - t, pred)

    base_t, base_pred = results["Booster.predict float64 (baseline)"]
    print(
        f"tile-sized window: {grid.width}x{grid.height} px x {block.n_days} days = {n:,} "
        f"predictions per layer; model {booster.num_trees()} trees, one thread each"
    )
    print(f"driver sampling + features for the tile-year: {t_features:.1f} s")
    for name, (secs, pred) in results.items():
        diff = float(np.max(np.abs(np.asarray(pred, np.float64) - base_pred)))
        print(
            f"{name:42s} {secs:7.2f} s  {n / secs:12,.0f} predictions/s  "
            f"x{base_t / secs:5.2f} vs baseline  max |diff| {diff:.1e}"
        )


if __name__ == "__main__":
    main()
