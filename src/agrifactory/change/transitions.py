"""Class transitions between two years of one product: pair codes and their sums per unit.

A pixel mapped in both years gets the **pair code** ``16 * previous + current`` (a
uint8 for legends of up to 15 classes: ``0 .. 239``). A pixel without data in one
year or both gets one of three codes of its own (:data:`NODATA_CODES`), so it is never
counted as a change and is counted separately; the COG keeps the pair codes and writes
255 (its nodata) for all three. The sums per province and county are the aggregation
stage's zonal sums (:func:`agrifactory.aggregate.zonal.level_areas`) over the pair
codes, so a partial table here has the aggregation's columns and sums over tiles with
:func:`agrifactory.aggregate.sums.combine_partials`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from agrifactory import legend
from agrifactory.aggregate.classes import PRODUCTS, TOTAL_ADCODE
from agrifactory.aggregate.sums import TOTAL_NAME
from agrifactory.aggregate.zonal import (
    DEFAULT_METHOD,
    PreparedUnits,
    check_codes,
    level_areas,
    read_class_raster,
)
from agrifactory.errors import DataError
from agrifactory.grid import PixelGrid, Tile
from agrifactory.io.raster import open_raster, write_grid_raster

#: Multiplier of the previous year's class in a pair code.
BASE = 16
#: No data in the previous year only, in this year only, in both years.
NODATA_PREVIOUS, NODATA_CURRENT, NODATA_BOTH = 253, 254, 255
#: Pair code -> the table's name of the case.
NODATA_CODES = {
    NODATA_PREVIOUS: "nodata_previous",
    NODATA_CURRENT: "nodata_current",
    NODATA_BOTH: "nodata_both",
}
#: Kinds of a transition-table row.
KINDS = ("unchanged", "changed", *NODATA_CODES.values())
#: Columns of a transition table (:func:`transition_table`).
TRANSITION_COLUMNS = [
    "level",
    "adcode",
    "name",
    "product",
    "from_code",
    "from_class",
    "to_code",
    "to_class",
    "kind",
    "pixels",
    "area_km2",
]


def check_same_shape(
    previous: tuple[int, ...],
    current: tuple[int, ...],
    product: str,
    where: tuple[str | Path, str | Path],
) -> None:
    """Raise :class:`DataError` naming both ``where`` when the two shapes differ."""
    if tuple(previous) != tuple(current):
        raise DataError(
            f"{product}: {where[0]} is {previous[0]} x {previous[1]} pixels but {where[1]} "
            f"is {current[0]} x {current[1]}: both years must lie on the same tile grid; "
            "rerun classify for the one made on another grid"
        )


def pair_codes(
    previous: np.ndarray,
    current: np.ndarray,
    product: str,
    where: tuple[str | Path, str | Path] = ("previous year", "this year"),
) -> np.ndarray:
    """The uint8 pair codes of two class arrays of ``product``.

    Raises
    ------
    DataError
        Arrays of different shapes (naming both ``where``), or codes outside the legend.
    """
    check_same_shape(previous.shape, current.shape, product, where)
    if max(PRODUCTS[product]) >= BASE - 1:  # 15 * 16 + 15 would be 255
        raise ValueError(f"{product}: pair codes hold legends of codes 0..{BASE - 2} only")
    for arr, name in zip((previous, current), where, strict=True):
        check_codes(arr, product, name)
    prev_nd, cur_nd = previous == legend.NODATA, current == legend.NODATA
    codes = (previous.astype(np.uint16) * BASE + current).astype(np.uint8)
    codes[prev_nd & ~cur_nd] = NODATA_PREVIOUS
    codes[~prev_nd & cur_nd] = NODATA_CURRENT
    codes[prev_nd & cur_nd] = NODATA_BOTH
    return codes


def read_pair_codes(
    previous: str | Path, current: str | Path, product: str, grid: PixelGrid
) -> np.ndarray:
    """The pair codes of a tile's class rasters of two years (both checked against
    ``grid``; different shapes are a DataError naming both files)."""
    shapes = []
    for path in (previous, current):
        with open_raster(path) as src:
            shapes.append(src.shape)
    check_same_shape(shapes[0], shapes[1], product, (previous, current))
    return pair_codes(
        read_class_raster(previous, product, grid),
        read_class_raster(current, product, grid),
        product,
        (previous, current),
    )


def split_code(code: int) -> tuple[int, int]:
    """``(from, to)`` class codes of a pair code mapped in both years."""
    return divmod(int(code), BASE)


def pair_class(product: str, code: int) -> str:
    """Name of a pair code: ``'potato>wheat'``, or the nodata case's name."""
    if code in NODATA_CODES:
        return NODATA_CODES[code]
    a, b = split_code(code)
    return f"{PRODUCTS[product][a]}>{PRODUCTS[product][b]}"


def transition_sums(
    pairs: Mapping[str, np.ndarray],
    tile: Tile,
    prepared: Mapping[str, PreparedUnits],
    *,
    method: str = DEFAULT_METHOD,
) -> pd.DataFrame:
    """The per-tile partial table of pair codes by product (the aggregation's columns,
    ``class`` naming the pair: :func:`pair_class`)."""
    return level_areas(pairs, tile, prepared, method=method, class_of=pair_class)


def write_pair_raster(
    path: str | Path, codes: np.ndarray, grid: PixelGrid, product: str, years: tuple[int, int]
) -> Path:
    """A product's pair codes as a uint8 COG (every nodata case written as 255)."""
    out = np.where(codes >= NODATA_PREVIOUS, legend.NODATA, codes).astype(np.uint8)
    names = {f"class_{c}": n for c, n in PRODUCTS[product].items()}
    return write_grid_raster(
        path,
        out,
        grid,
        nodata=legend.NODATA,
        band_names=[f"{product}_change"],
        units="class pair",
        tags={
            "pair_code": f"{BASE} * class in {years[0]} + class in {years[1]}; "
            f"{legend.NODATA}: no data in either year",
            **names,
        },
    )


def _from_to(product: str, code: int) -> tuple[object, str, object, str, str]:
    """``(from_code, from_class, to_code, to_class, kind)`` of a pair code; ``any`` (code
    missing) on the side of a nodata case that holds data."""
    if code in NODATA_CODES:
        prev = NODATA_CODES[code] in ("nodata_previous", "nodata_both")
        cur = NODATA_CODES[code] in ("nodata_current", "nodata_both")
        side = [(legend.NODATA, "nodata") if nd else (pd.NA, "any") for nd in (prev, cur)]
        return (*side[0], *side[1], NODATA_CODES[code])
    a, b = split_code(code)
    names = PRODUCTS[product]
    return a, names[a], b, names[b], "unchanged" if a == b else "changed"


def transition_table(
    areas: pd.DataFrame, units: gpd.GeoDataFrame, level: str, product: str
) -> pd.DataFrame:
    """One row per unit of ``level`` and transition of ``product`` (:data:`TRANSITION_COLUMNS`).

    Parameters
    ----------
    areas
        The summed partial tables (:func:`agrifactory.aggregate.sums.combine_partials`).
    units
        The level's boundary units (``adcode``, ``name``), for the names.

    Returns
    -------
    DataFrame sorted by unit (the national row, adcode ``100000``, last), from and to
    code; ``pixels`` are pixel-equivalents (fractions at borders), ``area_km2`` their area.
    """
    sel = areas[(areas["level"] == level) & (areas["product"] == product)]
    names = dict(zip(units["adcode"].astype(str), units["name"], strict=True))
    names[TOTAL_ADCODE] = TOTAL_NAME
    missing = sorted(set(sel["adcode"]) - set(names))
    if missing:
        raise DataError(f"{level} transitions name adcodes {missing[:5]} the boundaries lack")
    parts = pd.DataFrame(
        [_from_to(product, c) for c in sel["code"]],
        columns=["from_code", "from_class", "to_code", "to_class", "kind"],
        index=sel.index,
    )
    out = pd.concat([sel[["level", "adcode", "product", "pixels"]], parts], axis=1)
    out["name"] = out["adcode"].map(names)
    out["area_km2"] = sel["area_ha"] / 100.0
    out["from_code"] = out["from_code"].astype("Int64")
    out["to_code"] = out["to_code"].astype("Int64")
    out["_total"] = out["adcode"] == TOTAL_ADCODE
    out = out.sort_values(["_total", "adcode", "from_code", "to_code", "kind"], kind="stable")
    return out[TRANSITION_COLUMNS].reset_index(drop=True)


def transition_matrix(table: pd.DataFrame) -> pd.DataFrame:
    """The km² of one unit's transitions mapped in both years as a from x to matrix
    (every legend class on both axes), from a :func:`transition_table`'s rows."""
    mapped = table[table["kind"].isin(("unchanged", "changed"))]
    product = table["product"].iloc[0]
    classes = list(PRODUCTS[product].values())
    matrix = mapped.pivot_table(
        index="from_class", columns="to_class", values="area_km2", aggfunc="sum", fill_value=0.0
    ).reindex(index=classes, columns=classes, fill_value=0.0)
    matrix.index.name = "from \\ to"
    return matrix.reset_index()
