"""Block-level rasters: one pixel per block of the run's block lattice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.grid import GridSpec
from agrifactory.io.raster import write_raster


def write_block_raster(
    table: pd.DataFrame, column: str, spec: GridSpec, block_m: float, path: str | Path
) -> Path:
    """Write ``table[column]`` as a float32 raster with one pixel per block, over the
    blocks' extent (``bx``, ``by``: the blocks' lattice indices from ``spec.origin``),
    one band per ``map`` (named by it); NaN where the run has no block."""
    bx0, by0 = int(table["bx"].min()), int(table["by"].min())
    width = int(table["bx"].max()) - bx0 + 1
    height = int(table["by"].max()) - by0 + 1
    names = list(dict.fromkeys(table["map"]))
    out = np.full((len(names), height, width), np.nan, dtype=np.float32)
    for band, name in enumerate(names):
        part = table[table["map"] == name]
        out[band, part["by"].to_numpy() - by0, part["bx"].to_numpy() - bx0] = part[column]
    from affine import Affine

    transform = Affine(
        block_m, 0.0, spec.origin[0] + bx0 * block_m, 0.0, -block_m, spec.origin[1] - by0 * block_m
    )
    return write_raster(
        path, out, transform=transform, crs=spec.crs, nodata=np.nan, band_names=names
    )
