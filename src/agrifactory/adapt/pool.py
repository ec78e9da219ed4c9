"""The target domains' unlabelled pixels: the input stack at seeded random pixels.

Adaptation sees a target domain only through such pixels; their labels are never
looked up. One table per year holds every tile's pixels with their tile and region.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Mapping

import numpy as np
import pandas as pd

from agrifactory.classify.stack import TileStack
from agrifactory.grid import DEFAULT_GRID, GridSpec, Tile

log = logging.getLogger(__name__)


def random_pixels(tile: Tile, n: int, seed: int, year: int) -> tuple[np.ndarray, np.ndarray]:
    """Albers ``(x, y)`` of ``n`` distinct pixel centres of a tile, seeded by tile and year."""
    grid = tile.grid()
    rng = np.random.default_rng([int(seed), int(year), zlib.crc32(tile.id.encode())])
    n = min(n, grid.width * grid.height)
    flat = rng.choice(grid.width * grid.height, size=n, replace=False)
    x, y = grid.pixel_centres()
    return x[flat % grid.width], y[flat // grid.width]


def pool_table(
    stacks: Mapping[str, Mapping[str, str]],
    *,
    year: int,
    regions: Mapping[str, str],
    tile_km: int,
    grid: GridSpec = DEFAULT_GRID,
    per_tile: int,
    seed: int,
    season_start_month: int = 1,
) -> pd.DataFrame:
    """``tile_id, region, x, y`` and every band of the stack at ``per_tile`` random
    pixels of each tile (``stacks``: tile -> ``features``, ``smoothed`` and, where the
    run has them, ``monthly`` paths). Pixels with NaN outside the monthly bands (no
    data) are left out and counted in the log."""
    parts = []
    for tile_id in sorted(stacks):
        paths = stacks[tile_id]
        stack = TileStack(
            paths["features"], paths["smoothed"], tile_id, year=year, tile_km=tile_km,
            grid=grid, season_start_month=season_start_month, monthly=paths.get("monthly"),
        )  # fmt: skip
        x, y = random_pixels(Tile.from_id(tile_id, tile_km, grid), per_tile, seed, year)
        values = pd.DataFrame(stack.values_at(x, y), columns=stack.feature_names)
        core = [c for c in values.columns if not c.startswith("monthly_")]
        ok = values[core].notna().all(axis=1).to_numpy()
        log.info("tile %s: %d of %d random pixels have data", tile_id, int(ok.sum()), len(ok))
        head = pd.DataFrame({"tile_id": tile_id, "region": regions[tile_id], "x": x, "y": y})
        parts.append(pd.concat([head, values], axis=1)[ok])
    return pd.concat(parts, ignore_index=True)
