"""Peak memory of the ingest per tile: does it stream, and what does a 4000 x 4000 tile need?

For each tile size, writes N synthetic Landsat Collection 2 scenes (one per date,
in UTM, covering the tile) and MODIS composites, then runs
``agrifactory.ingest.tile.ingest_tile`` in a fresh Python process and reads its peak
resident memory (``VmHWM``; ``before`` is after imports and reading the inventory). The baseline is the memory the output stacks
would take if held whole (dates x 7 float/uint stacks + MODIS): the ratio
shows how far the ingest stays below it, and two date counts at one size show
that the peak does not grow with the number of dates (bands are streamed).

    PYTHONPATH=src python benchmarks/bench_memory_ingest.py [--km 15 30 60] [--dates 4 12]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

from agrifactory.grid import Tile
from agrifactory.io import modis
from agrifactory.io.inventory import scan_landsat, scan_modis, validate_inventory
from agrifactory.io.raster import write_raster

BANDS = {"SR_B2": 9000, "SR_B4": 10909, "SR_B5": 21818, "ST_B10": 44000}
CLEAR = 21824


def tile_at(km: int) -> Tile:
    """A tile of ``km`` km near the demo site (Hebei / Inner Mongolia)."""
    x, y = 756_000.0, 4_530_000.0  # Albers metres
    return Tile(int((x + 3_000_000) // (km * 1000)), int((6_000_000 - y) // (km * 1000)), km)


def write_inputs(root: Path, tile: Tile, n_dates: int) -> pd.DataFrame:
    """N Landsat scenes (smooth fields, a cloud band) and 2 MODIS composites over ``tile``."""
    x0, y0, x1, y1 = transform_bounds(tile.grid().crs, "EPSG:32650", *tile.bounds)
    x0, y1 = np.floor(x0 / 30) * 30 - 900, np.ceil(y1 / 30) * 30 + 900
    w, h = int((x1 - x0) // 30) + 60, int((y1 - y0) // 30) + 60
    transform = from_origin(x0, y1, 30, 30)
    yy, xx = np.mgrid[0:h, 0:w]
    field = ((np.sin(xx / 37.0) + np.cos(yy / 53.0)) * 1500).astype(np.int32)
    for k in range(n_dates):
        date = dt.date(2021, 4, 1) + dt.timedelta(days=16 * k)
        pid = f"LC08_L2SP_124031_{date:%Y%m%d}_{date:%Y%m%d}_02_T1"
        for suffix, base in BANDS.items():
            write_raster(
                root / "landsat" / pid / f"{pid}_{suffix}.TIF",
                (base + field).astype(np.uint16),
                transform=transform,
                crs="EPSG:32650",
                nodata=0,
            )
        qa = np.full((h, w), CLEAR, np.uint16)
        qa[(yy // 200 + k) % 5 == 0] = 22280  # a cloud stripe that moves
        for suffix, data in (("QA_PIXEL", qa), ("QA_RADSAT", np.zeros_like(qa))):
            write_raster(
                root / "landsat" / pid / f"{pid}_{suffix}.TIF",
                data,
                transform=transform,
                crs="EPSG:32650",
                nodata=None,
            )
    lon0, lat0, lon1, lat1 = transform_bounds(tile.grid().crs, "EPSG:4326", *tile.bounds)
    step = 1 / 480
    mw, mh = int((lon1 - lon0) / step) + 20, int((lat1 - lat0) / step) + 20
    for start in (dt.date(2021, 4, 7), dt.date(2021, 4, 15)):
        write_raster(
            root / "modis" / modis.modis_file_name(start),
            np.full((mh, mw), 5000, np.int16),
            transform=from_origin(lon0 - 10 * step, lat1 + 10 * step, step, step),
            crs="EPSG:4326",
            nodata=-3000,
        )
    inv = pd.concat([scan_landsat(root / "landsat"), scan_modis(root / "modis")], ignore_index=True)
    return validate_inventory(inv, "bench")


# The child reads its peak from VmHWM (/proc/self/status): ru_maxrss would carry
# over the high-water mark of the (large) parent it was forked from.
CHILD = """
import json, re, sys, time
from agrifactory.grid import Tile
from agrifactory.ingest.rules import OUTPUTS
from agrifactory.ingest.tile import ingest_tile
from agrifactory.io.inventory import read_inventory
def hwm_mb():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", f.read())[1]) / 1024
root, km, col, row = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
inv = read_inventory(f"{root}/inventory.csv")
before = hwm_mb()
t0 = time.perf_counter()
ingest_tile(Tile(col, row, km), 2021, inv[inv.sensor == "landsat"], inv[inv.sensor == "modis"],
            {k: f"{root}/out/{f}" for k, f in OUTPUTS.items()})
print(json.dumps({"before_mb": before, "peak_mb": hwm_mb(), "seconds": time.perf_counter() - t0}))
"""


def measure(root: Path, tile: Tile, cachemax: str | None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    env.pop("GDAL_CACHEMAX", None)
    if cachemax is not None:
        env["GDAL_CACHEMAX"] = cachemax
    args = [str(root), str(tile.tile_km), str(tile.col), str(tile.row)]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--km", type=int, nargs="+", default=[15, 30, 60], help="tile sizes (km)")
    ap.add_argument("--dates", type=int, nargs="+", default=[4, 12], help="Landsat dates")
    ap.add_argument("--cachemax", nargs="+", default=["default", "256"], help="GDAL_CACHEMAX (MB)")
    args = ap.parse_args()
    print(
        "tile_km  px    dates  GDAL_CACHEMAX  before_MB  peak_MB  whole_stacks_MB  ratio  seconds"
    )
    for km in args.km:
        tile = tile_at(km)
        px = tile.grid().shape[0]
        for n in args.dates:
            with tempfile.TemporaryDirectory(prefix="agrifactory-mem-") as tmp:
                root = Path(tmp)
                t0 = time.perf_counter()
                write_inputs(root, tile, n).drop(columns=["geometry"]).to_csv(
                    root / "inventory.csv", index=False
                )
                made = time.perf_counter() - t0
                whole = (n * 7 + 2) * px * px * 4 / 1e6
                for cm in args.cachemax:
                    r = measure(root, tile, None if cm == "default" else cm)
                    print(
                        f"{km:7d}  {px:4d}  {n:5d}  {cm:>13}  {r['before_mb']:9.0f}  {r['peak_mb']:7.0f}"
                        f"  {whole:15.0f}  {whole / r['peak_mb']:5.1f}x  {r['seconds']:7.1f}"
                        f"   (inputs written in {made:.0f} s)"
                    )


if __name__ == "__main__":
    main()
