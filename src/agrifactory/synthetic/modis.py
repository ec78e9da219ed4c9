"""MODIS-like 8-day 250 m NDVI composites of the demo world.

Files are named like ``MOD09Q1.A2021001.h26v04.061.NDVI.tif`` (composite start
date as ``AYYYYDDD``), int16 NDVI x 10000 with fill -3000, in geographic WGS84 at
1/480 degree. Each composite is the area mean of the true NDVI at the composite's
middle day, with a small linear bias against Landsat, sensor noise and a few
cells of residual cloud.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from affine import Affine
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds

from agrifactory.grid import PixelGrid
from agrifactory.io.modis import NDVI_FILL, NDVI_SCALE, modis_file_name
from agrifactory.io.raster import write_raster
from agrifactory.synthetic.world import World, rng_for

RES_DEG = 1.0 / 480.0
BIAS_OFFSET = 0.015
BIAS_GAIN = 0.96
NOISE_SD = 0.015


def modis_grid_for(grid: PixelGrid) -> tuple[Affine, int, int]:
    """A geographic grid on the 1/480 degree lattice covering a world grid."""
    lon0, lat0, lon1, lat1 = transform_bounds(grid.crs, "EPSG:4326", *grid.bounds, densify_pts=21)
    x0 = np.floor(lon0 / RES_DEG) * RES_DEG
    y1 = np.ceil(lat1 / RES_DEG) * RES_DEG
    width = int(np.ceil((lon1 - x0) / RES_DEG))
    height = int(np.ceil((y1 - lat0) / RES_DEG))
    return Affine(RES_DEG, 0.0, x0, 0.0, -RES_DEG, y1), width, height


def render_composite(
    world: World, start: dt.date, transform: Affine, width: int, height: int
) -> np.ndarray:
    """The composite starting on ``start`` as float NDVI (NaN where not covered)."""
    rng = rng_for(world.spec.seed, "modis", start.isoformat())
    truth = world.ndvi(start + dt.timedelta(days=3))
    out = np.full((height, width), np.nan, np.float32)
    reproject(
        source=truth,
        destination=out,
        src_transform=world.grid.transform,
        src_crs=world.grid.crs,
        dst_transform=transform,
        dst_crs="EPSG:4326",
        resampling=Resampling.average,
        src_nodata=np.nan,
        dst_nodata=np.nan,
    )
    out = BIAS_OFFSET + BIAS_GAIN * out + rng.normal(0.0, NOISE_SD, out.shape).astype(np.float32)
    residual_cloud = rng.random(out.shape) < 0.01
    out[residual_cloud] -= rng.uniform(0.15, 0.35, int(residual_cloud.sum())).astype(np.float32)
    # MODIS NDVI is valid in -2000..10000 (x 1e-4); the fill value -3000 lies outside it.
    return np.clip(out, -0.2, 1.0)


def write_composites(out_dir: Path, world: World, starts: Sequence[dt.date]) -> list[Path]:
    """Write the composites starting on ``starts`` (dates of the world's year, or its
    margins); returns the paths."""
    transform, width, height = modis_grid_for(world.grid)
    paths = []
    for start in starts:
        ndvi = render_composite(world, start, transform, width, height)
        dn = np.where(np.isfinite(ndvi), np.round(ndvi / NDVI_SCALE), NDVI_FILL).astype(np.int16)
        path = Path(out_dir) / modis_file_name(start)
        write_raster(
            path,
            dn,
            transform=transform,
            crs="EPSG:4326",
            nodata=NDVI_FILL,
            units="NDVI x 10000",
            tags={"scale_factor": NDVI_SCALE, "composite_days": 8},
        )
        paths.append(path)
    return paths
