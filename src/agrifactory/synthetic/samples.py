"""Labelled sample points of the demo world, drawn by a stratified random design.

Strata are the land-cover classes, with cropland split by crop type. Points are
pixel centres away from field edges (as a field survey would record them); each
stratum is split into training and validation at random in the same proportion.
A few points fall outside the tiles, as real surveys do, so the training-set
stage has to report them.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

from agrifactory import legend
from agrifactory.io.vector import write_gpkg
from agrifactory.synthetic.world import World, rng_for

#: Points per stratum (crop types, then the other land-cover classes).
DEFAULT_PER_STRATUM = {
    "potato": 90,
    "sugar_beet": 70,
    "sunflower": 70,
    "vegetables": 70,
    "oat": 90,
    "wheat": 90,
    "flax": 80,
    "grassland": 150,
    "forest": 60,
    "water": 40,
    "built_up": 25,
}


def _interior(world: World) -> np.ndarray:
    """Pixels whose 3x3 neighbourhood lies in one field (or one land-cover class)."""
    fid = world.field_id.astype(np.int64) * 16 + world.landcover
    same = ndimage.maximum_filter(fid, 3) == ndimage.minimum_filter(fid, 3)
    return same


def draw_samples(
    world: World,
    per_stratum: dict[str, int] | None = None,
    validation_fraction: float = 0.3,
    n_outside: int = 3,
) -> gpd.GeoDataFrame:
    """Draw the demo's labelled points (EPSG:4326) with train/validation split."""
    per_stratum = per_stratum or DEFAULT_PER_STRATUM
    rng = rng_for(world.spec.seed, "samples")
    interior = _interior(world)
    x, y = world.grid.pixel_centres()
    x0, y0, x1, y1 = (
        min(t.bounds[0] for t in world.spec.tiles),
        min(t.bounds[1] for t in world.spec.tiles),
        max(t.bounds[2] for t in world.spec.tiles),
        max(t.bounds[3] for t in world.spec.tiles),
    )
    inside = np.outer((y > y0) & (y < y1), (x > x0) & (x < x1))
    stratum = np.empty(world.grid.shape, dtype=object)
    stratum[:] = np.array(
        [None] + [legend.LANDCOVER[k] for k in sorted(legend.LANDCOVER)], dtype=object
    )[world.landcover]
    crop = world.croptype > 0
    stratum[crop] = np.array([legend.CROPTYPE[k] for k in sorted(legend.CROPTYPE)], dtype=object)[
        world.croptype[crop]
    ]

    records = []
    for name, n in per_stratum.items():
        rows, cols = np.nonzero((stratum == name) & interior & inside)
        if len(rows) == 0:
            continue
        pick = rng.choice(len(rows), size=min(n, len(rows)), replace=False)
        n_val = int(round(len(pick) * validation_fraction))
        split = np.array(["validation"] * n_val + ["train"] * (len(pick) - n_val))
        rng.shuffle(split)
        for (r, c), s in zip(zip(rows[pick], cols[pick], strict=True), split, strict=True):
            records.append((r, c, s))
    # A few points in the margin, outside every tile.
    rows, cols = np.nonzero(interior & ~inside & crop)
    for i in rng.choice(len(rows), size=min(n_outside, len(rows)), replace=False):
        records.append((rows[i], cols[i], "train"))

    r = np.array([rec[0] for rec in records])
    c = np.array([rec[1] for rec in records])
    lc = world.landcover[r, c]
    ct = world.croptype[r, c]
    ir = world.irrigation[r, c]
    table = pd.DataFrame(
        {
            "sample_id": [f"S{i:05d}" for i in range(1, len(records) + 1)],
            "landcover": [legend.LANDCOVER[v] for v in lc],
            "cropland": [legend.CROPLAND[int(v == 1)] for v in lc],
            "irrigation": [legend.IRRIGATION[v] if v else None for v in ir],
            "croptype": [legend.CROPTYPE[v] if v else None for v in ct],
            "region": np.where(world.region[r, c] == 1, "east", "west"),
            "split": [rec[2] for rec in records],
        }
    )
    pts = shapely.points(x[c], y[r])
    gdf = gpd.GeoDataFrame(table, geometry=pts, crs=world.grid.crs).to_crs("EPSG:4326")
    return gdf


def write_samples(path: str | Path, samples: gpd.GeoDataFrame) -> None:
    """Write the sample points as a GeoPackage layer ``samples``, atomically."""
    write_gpkg(samples, path, "samples")
