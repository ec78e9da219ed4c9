"""Sums over tiles: per-tile partial tables summed, checked for conservation, widened per unit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from agrifactory.aggregate.classes import (
    PRODUCTS,
    REDUNDANT_CLASSES,
    TOTAL_ADCODE,
    area_column,
)
from agrifactory.aggregate.zonal import PARTIAL_COLUMNS
from agrifactory.errors import DataError, InputError
from agrifactory.grid import ALBERS
from agrifactory.io.statistics import from_hectares
from agrifactory.io.tables import write_table

log = logging.getLogger(__name__)

#: Name of the national row in the one-row-per-unit tables.
TOTAL_NAME = "total inside the units"

_KEYS = ["level", "adcode", "product", "code", "class"]


def write_partial(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a per-tile partial table as CSV (floats written exactly), atomically."""
    return write_table(table, path)


def read_partial(path: str | Path) -> pd.DataFrame:
    """Read a per-tile partial table written by :func:`write_partial`."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "partial area table not found", "rerun the tile's area job")
    table = pd.read_csv(path, dtype={"tile": str, "adcode": str, "level": str, "class": str})
    missing = [c for c in PARTIAL_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(path, f"is not a partial area table: columns {missing} are missing")
    return table


def combine_partials(partials: Iterable[pd.DataFrame | str | Path]) -> pd.DataFrame:
    """Sum per-tile partial tables over tiles.

    Returns
    -------
    DataFrame with ``level``, ``adcode``, ``product``, ``code``, ``class``,
    ``pixels``, ``area_ha`` and ``n_tiles`` (tiles that contributed), one row
    per unit and class, including the national rows (adcode ``100000``).
    """
    frames = [p if isinstance(p, pd.DataFrame) else read_partial(p) for p in partials]
    if not frames:
        raise DataError("no partial area tables to combine; the run has no tiles")
    table = pd.concat(frames, ignore_index=True)
    methods = sorted(set(table["method"]))
    if len(methods) > 1:
        raise DataError(
            f"partial tables were made with different methods {methods}; rerun them with one"
        )
    dups = table.duplicated(["tile", *_KEYS])
    if dups.any():
        raise DataError(
            f"tile {table.loc[dups, 'tile'].iloc[0]} appears twice among the partial tables"
        )
    out = (
        table.groupby(_KEYS, sort=True)
        .agg(pixels=("pixels", "sum"), area_ha=("area_ha", "sum"), n_tiles=("tile", "nunique"))
        .reset_index()
    )
    out.insert(0, "method", methods[0])
    return out


def check_conservation(
    areas: pd.DataFrame, *, tol_m2: float = 1.0, rel_tol: float = 1e-9
) -> pd.DataFrame:
    """Compare, per level, product and class, the sum over units with the national row.

    The two must agree to ``max(tol_m2, rel_tol * area)``: with exact fractions
    they differ only by floating-point rounding, with pixel centres not at all.

    Returns
    -------
    DataFrame with ``level``, ``product``, ``code``, ``class``, ``units_ha``,
    ``total_ha``, ``difference_m2`` and ``ok``.

    Raises
    ------
    DataError
        When any class breaks the identity (the message names the worst one).
    """
    is_total = areas["adcode"] == TOTAL_ADCODE
    keys = ["level", "product", "code", "class"]
    units = areas[~is_total].groupby(keys)["area_ha"].sum().rename("units_ha")
    total = areas[is_total].groupby(keys)["area_ha"].sum().rename("total_ha")
    check = pd.concat([units, total], axis=1).fillna(0.0).reset_index()
    check["difference_m2"] = (check["units_ha"] - check["total_ha"]) * 1e4
    allowed = np.maximum(tol_m2, rel_tol * check["total_ha"] * 1e4)
    check["ok"] = check["difference_m2"].abs() <= allowed
    if not check["ok"].all():
        worst = check.loc[check["difference_m2"].abs().idxmax()]
        raise DataError(
            f"conservation broken: {worst['level']} {worst['product']}/{worst['class']}: "
            f"units sum to {worst['units_ha']:.4f} ha but {worst['total_ha']:.4f} ha lie inside "
            "the country; the units overlap or the partial tables are inconsistent"
        )
    log.info(
        "conservation holds: largest |sum over units - inside country| = %.3g m2",
        check["difference_m2"].abs().max() if len(check) else 0.0,
    )
    return check


def area_table(
    areas: pd.DataFrame, units: gpd.GeoDataFrame, level: str, *, unit: str = "ha"
) -> pd.DataFrame:
    """One row per unit of ``level`` (and the national row last), one column per class.

    Parameters
    ----------
    areas
        Output of :func:`combine_partials`.
    units
        The level's boundary units (``adcode``, ``name``, ``province_adcode``;
        any CRS), for names and the units' own areas.
    level
        ``'province'`` or ``'county'``.
    unit
        Area unit of the output columns: ``ha``, ``kha``, ``km2``, ``mu`` or ``wan_mu``.

    Returns
    -------
    DataFrame with ``level``, ``adcode``, ``name``, ``province_adcode``,
    ``unit_area_<u>`` (the whole unit), ``observed_<u>`` (inside the tiles),
    ``mapped_<u>`` (inside the tiles and not nodata in the cropland product),
    ``coverage`` (mapped / unit area), then ``<class>_<u>`` for every class
    (``cropland``, ``other``, ``irrigated``, ``rainfed``, each crop) and
    ``<product>_nodata_<u>``.
    """
    sel = areas[areas["level"] == level]
    if sel.empty:
        raise DataError(
            f"no areas for level {level!r}; levels present: {sorted(set(areas['level']))}"
        )
    sel = sel[
        [(p, c) not in REDUNDANT_CLASSES for p, c in zip(sel["product"], sel["code"], strict=True)]
    ]
    sel = sel.assign(
        column=[area_column(p, c) for p, c in zip(sel["product"], sel["code"], strict=True)]
    )
    wide = sel.pivot_table(
        index="adcode", columns="column", values="area_ha", aggfunc="sum", fill_value=0.0
    )
    order = [
        area_column(p, c)
        for p, legend_ in PRODUCTS.items()
        for c in [*legend_, 255]
        if (p, c) not in REDUNDANT_CLASSES
    ]
    wide = wide.reindex(columns=order, fill_value=0.0)
    first = next(p for p in PRODUCTS if p in set(sel["product"]))
    observed = sel[sel["product"] == first].groupby("adcode")["area_ha"].sum()
    nodata = (
        sel[(sel["product"] == first) & (sel["code"] == 255)].groupby("adcode")["area_ha"].sum()
    )

    albers = units.to_crs(ALBERS)
    info = pd.DataFrame(
        {
            "adcode": albers["adcode"].astype(str).to_numpy(),
            "name": albers["name"].to_numpy(),
            "province_adcode": albers["province_adcode"].astype(str).to_numpy(),
            "unit_area_ha": albers.geometry.area.to_numpy() / 1e4,
        }
    ).set_index("adcode")
    missing = sorted(set(wide.index) - set(info.index) - {TOTAL_ADCODE})
    if missing:
        raise DataError(f"{level} areas name adcodes {missing[:5]} that the boundaries lack")
    info.loc[TOTAL_ADCODE] = [TOTAL_NAME, TOTAL_ADCODE, info["unit_area_ha"].sum()]
    out = info.loc[wide.index].copy()
    out["observed_ha"] = observed.reindex(wide.index, fill_value=0.0)
    out["mapped_ha"] = out["observed_ha"] - nodata.reindex(wide.index, fill_value=0.0)
    out["coverage"] = out["mapped_ha"] / out["unit_area_ha"]
    out = pd.concat([out, wide.add_suffix("_ha")], axis=1).reset_index()
    out.insert(0, "level", level)
    is_total = out["adcode"] == TOTAL_ADCODE
    out = pd.concat([out[~is_total], out[is_total]], ignore_index=True)
    return convert_area_columns(out, unit)


def convert_area_columns(table: pd.DataFrame, unit: str) -> pd.DataFrame:
    """Convert every ``*_ha`` column to ``unit`` and rename it ``*_<unit>``."""
    if unit == "ha":
        return table
    cols = [c for c in table.columns if c.endswith("_ha")]
    out = table.copy()
    for c in cols:
        out[c] = from_hectares(out[c].to_numpy(dtype=float), unit)
    return out.rename(columns={c: f"{c[:-3]}_{unit}" for c in cols})
