"""Implausible change, block by block: flip shares and listed transitions.

The tile is cut into the integration stage's blocks
(:class:`agrifactory.integration.blocks.BlockLattice`, ``change.block_m``). A block is
flagged

* ``flip_share``: when at least ``min_pixels`` of its pixels are mapped in both years
  and more than ``max_flip_share`` of those changed class (a whole block of fields does
  not change at once; a share that high points at a map error in one of the years);
* ``implausible``: where a ``[from, to]`` pair of ``change.implausible`` covers at
  least ``implausible_min_pixels`` of a block, with its pixel count (one row per block
  and pair).

Pixels without data in either year are never counted (:mod:`agrifactory.change.transitions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pyproj import Transformer

from agrifactory.aggregate.classes import PRODUCTS
from agrifactory.change.transitions import BASE, NODATA_PREVIOUS
from agrifactory.grid import Tile
from agrifactory.integration.blocks import BlockLattice

if TYPE_CHECKING:
    from agrifactory.change.rules import ChangeSettings

#: Columns of a flags table.
FLAG_COLUMNS = [
    "tile",
    "product",
    "block_id",
    "row",
    "col",
    "x",
    "y",
    "lon",
    "lat",
    "reason",
    "transition",
    "flagged_pixels",
    "mapped_pixels",
    "changed_pixels",
    "flip_share",
]


def block_counts(codes: np.ndarray, lattice: BlockLattice) -> dict[str, np.ndarray]:
    """Per block: pixels mapped in both years (``mapped``), those that changed class
    (``changed``) and the changed share (``share``, NaN without mapped pixels)."""
    mapped = codes < NODATA_PREVIOUS
    changed = mapped & (codes // BASE != codes % BASE)
    n_mapped = lattice.sum(mapped)
    n_changed = lattice.sum(changed)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_mapped > 0, n_changed / np.maximum(n_mapped, 1), np.nan)
    return {"mapped": n_mapped, "changed": n_changed, "share": share}


def block_flags(
    codes: np.ndarray,
    lattice: BlockLattice,
    product: str,
    *,
    max_flip_share: float,
    min_pixels: int,
    implausible: Sequence[tuple[int, int]] = (),
    implausible_min_pixels: int = 1,
) -> pd.DataFrame:
    """The flagged blocks of one product's pair codes on a lattice.

    Returns
    -------
    DataFrame with ``row``, ``col`` (the block in the tile), ``reason``
    (``flip_share`` or ``implausible``), ``transition`` (``from>to`` of an implausible
    pair, empty for a flip), ``flagged_pixels`` (changed pixels, or the pair's), and the
    block's ``mapped_pixels``, ``changed_pixels`` and ``flip_share``; rows by block.
    """
    counts = block_counts(codes, lattice)
    flips = (counts["mapped"] >= min_pixels) & (counts["share"] > max_flip_share)
    hits = [(flips, "flip_share", "", counts["changed"])]
    names = PRODUCTS[product]
    for a, b in implausible:
        n = lattice.sum(codes == a * BASE + b)
        hits.append((n >= implausible_min_pixels, "implausible", f"{names[a]}>{names[b]}", n))
    rows = []
    for flagged, reason, transition, pixels in hits:
        for r, c in zip(*np.nonzero(flagged), strict=True):
            rows.append(
                (int(r), int(c), reason, transition, int(pixels[r, c]))
                + (int(counts["mapped"][r, c]), int(counts["changed"][r, c]))
                + (float(counts["share"][r, c]),)
            )
    columns = FLAG_COLUMNS[3:5] + FLAG_COLUMNS[9:]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["row", "col"], kind="stable").reset_index(drop=True)


def tile_flags(
    pairs: Mapping[str, np.ndarray], tile: Tile, settings: ChangeSettings
) -> pd.DataFrame:
    """Every product's flagged blocks of a tile (:data:`FLAG_COLUMNS`): block id, centre
    in the grid's CRS (``x``, ``y``) and in degrees (``lon``, ``lat``)."""
    grid = tile.grid()
    lattice = BlockLattice(grid, round(settings.block_m / grid.res), key="change.block_m")
    frame = lattice.frame(tile.id, tile.spec.origin)
    tables = []
    for product, codes in pairs.items():
        flags = block_flags(
            codes,
            lattice,
            product,
            max_flip_share=settings.max_flip_share,
            min_pixels=settings.min_pixels,
            implausible=settings.pair_codes(product),
            implausible_min_pixels=settings.implausible_min_pixels,
        )
        blocks = frame[["block_id", "tile", "row", "col", "x", "y"]]
        tables.append(flags.merge(blocks, on=["row", "col"]).assign(product=product))
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    table = table.reindex(columns=FLAG_COLUMNS)
    to_lonlat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(table["x"].to_numpy(float), table["y"].to_numpy(float))
    return table.assign(lon=lon, lat=lat)


def read_flags(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Every tile's flags as one table (:data:`FLAG_COLUMNS`)."""
    from agrifactory.io.tables import read_table

    tables = [
        read_table(p, "change flags", "rerun rule change_tile").reindex(columns=FLAG_COLUMNS)
        for p in paths
    ]
    tables = [t for t in tables if len(t)]
    if not tables:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    table = pd.concat(tables, ignore_index=True)
    return table.fillna({"transition": ""}).astype({"tile": str, "transition": str})
