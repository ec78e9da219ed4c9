"""Bytes a tile's window of a remote COG costs, through the real local nginx (docs/real-data.md).

Writes a 4096 x 4096 uint16 COG (noise, so it does not compress), serves it with
nginx (agrifactory.testing.stac_services), reads windows of growing size through
GDAL's range requests as the ingest does, and prints the requests and bytes served
beside the file's size.

    .venv/bin/python benchmarks/eval_remote_window.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import CRS

from agrifactory.grid import PixelGrid
from agrifactory.io.raster import open_raster, warp_to_grid, write_raster
from agrifactory.io.remote import RemotePolicy, remote_reads
from agrifactory.testing.cog_server import access_records
from agrifactory.testing.stac_services import StacServices

ORIGIN = (500_000.0, 4_600_000.0)


def main() -> None:
    root = Path(tempfile.mkdtemp())
    data = np.random.default_rng(7).integers(1, 60000, size=(4096, 4096), dtype=np.uint16)
    transform = Affine(30.0, 0, ORIGIN[0], 0, -30.0, ORIGIN[1])
    write_raster(root / "big.tif", data, transform=transform, crs="EPSG:32650", nodata=0)
    size = (root / "big.tif").stat().st_size
    print(f"file: 4096 x 4096 uint16, {size / 1e6:.1f} MB, 256-px blocks")
    print("window (px) | requests | bytes served | share of file")
    with StacServices(root) as services:
        for n, side in enumerate((200, 500, 1000, 2000)):
            name = f"w{n}.tif"
            (root / name).hardlink_to(root / "big.tif")
            grid = PixelGrid(
                x_min=ORIGIN[0] + 1000 * 30,
                y_max=ORIGIN[1] - 1000 * 30,
                res=30.0,
                width=side,
                height=side,
                crs=CRS.from_epsg(32650),
            )
            with remote_reads(RemotePolicy()), open_raster(f"{services.http_url}/{name}") as src:
                warp_to_grid(src, 1, grid)
            time.sleep(0.3)  # nginx logs a request just after answering it
            got = [r for r in access_records(services.access_log) if r.uri == f"/{name}"]
            sent = sum(r.body_bytes for r in got)
            print(f"{side:>5} x {side:<5} | {len(got):>8} | {sent:>12,} | {sent / size:>6.1%}")


if __name__ == "__main__":
    main()
