"""Mapped areas against official statistics, unit by unit.

Every area column is named with its unit (``mapped_kha``, ``official_kha``,
``difference_kha``); conversions go through hectares with the explicit factors of
:mod:`agrifactory.io.statistics` (1 kha = 1,000 ha, 1 km² = 100 ha, 1 mu =
1/15 ha, 1 wan_mu = 10,000 mu).

Every unit appears: a unit with mapped area but no official figure has status
``no statistic``; an official figure whose unit the tiles never touched has
status ``not mapped``; a unit whose mapped share of its own area is below
``min_coverage`` (default 0.8) has status ``partly mapped``. Only ``compared`` rows
enter the ±10 % count, R² and RMSE, and only they (and the national row) carry the
``within_<t>pct`` flag. R² needs at least ``min_units_for_fit`` compared units.
A statistics row with adcode ``100000`` (the national total) is compared with the
national row of the map, never as a province.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from agrifactory.aggregate.accuracy import region_of
from agrifactory.aggregate.classes import TOTAL_ADCODE, class_name, source_of
from agrifactory.aggregate.rules import CompareSettings
from agrifactory.io.statistics import from_hectares, read_statistics

COMPARED = "compared"
NO_STATISTIC = "no statistic"
NOT_MAPPED = "not mapped"
PARTLY_MAPPED = "partly mapped"
NATIONAL = "national total"


#: Defaults of the comparison: those of the config's ``aggregate.compare``.
_DEFAULTS = CompareSettings()


def read_official(
    path: str | Path, units: gpd.GeoDataFrame | Collection[str], *, quantity: str | None = None
) -> pd.DataFrame:
    """Read and validate an official table against the boundary units (and ``100000``).

    Duplicate adcodes, negative or non-numeric areas, unknown units, bad dates
    and adcodes that match no unit are :class:`~agrifactory.errors.InputError`
    naming the file and the row.
    """
    adcodes = units["adcode"].astype(str) if isinstance(units, gpd.GeoDataFrame) else units
    return read_statistics(path, known_adcodes={*adcodes, TOTAL_ADCODE}, quantity=quantity)


def within_column(tolerance: float) -> str:
    """Name of the within-tolerance flag column (``within_10pct`` for 0.10)."""
    return f"within_{tolerance * 100:g}pct"


def _relative(diff: np.ndarray, official: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = diff / official
    return np.where((official == 0) & (diff == 0), 0.0, rel)


def compare_with_statistics(
    areas: pd.DataFrame,
    official: pd.DataFrame,
    *,
    unit: str = _DEFAULTS.unit,
    tolerance: float = _DEFAULTS.tolerance,
    min_coverage: float = _DEFAULTS.min_coverage,
    accuracy: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The comparison table: one row per unit, mapped beside official.

    Parameters
    ----------
    areas
        One level's area table in hectares (:func:`~agrifactory.aggregate.sums.area_table`
        with ``unit='ha'``), with its national row.
    official
        Official statistics (:func:`read_official`), one quantity (e.g. ``cropland``).
    unit
        Unit of the output's area columns: ``ha``, ``kha``, ``km2``, ``mu`` or ``wan_mu``.
    tolerance
        Relative difference that counts as agreement (0.10 = ±10 %, inclusive).
    min_coverage
        Units whose mapped share of their own area is below this are
        ``partly mapped`` and left out of the scores (0 keeps all).
    accuracy
        Optional area estimates (:func:`~agrifactory.aggregate.accuracy.read_accuracy`);
        rows of the mapped class stand beside the unit of their ``region``
        (``all``: the national row).

    Returns
    -------
    DataFrame with ``level``, ``adcode``, ``name``, ``status``, ``coverage_pct`` (mapped
    share of the unit's area, %),
    ``mapped_<u>``, ``official_<u>``, ``difference_<u>`` (mapped − official),
    ``relative_difference_pct``, ``within_<t>pct``, ``official_value``,
    ``official_unit`` (as published), ``reference_date``, ``source``; with
    ``accuracy``: ``adjusted_<u>``, ``adjusted_se_<u>``,
    ``adjusted_ci95_low_<u>``, ``adjusted_ci95_high_<u>``.
    """
    product, code, level = _one_quantity_and_level(areas, official)
    table = _mapped_beside_official(
        areas, official, f"{class_name(product, code)}_ha", min_coverage
    )
    diff = table["mapped_ha"].to_numpy(float) - table["official_ha"].to_numpy(float)
    rel = _relative(diff, table["official_ha"].to_numpy(float))
    # Only compared units (and the national row) are judged: a partly mapped unit is
    # never "within" the tolerance, whatever its numbers.
    judged = table["status"].isin([COMPARED, NATIONAL])
    has_both = judged & table["mapped_ha"].notna() & table["official_ha"].notna()
    flag = within_column(tolerance)
    out = pd.DataFrame(
        {
            "level": level,
            "adcode": table["adcode"],
            "name": table["name"],
            "status": table["status"],
            "coverage_pct": 100.0 * table["coverage"],
            f"mapped_{unit}": from_hectares(table["mapped_ha"].to_numpy(float), unit),
            f"official_{unit}": from_hectares(table["official_ha"].to_numpy(float), unit),
            f"difference_{unit}": from_hectares(diff, unit),
            "relative_difference_pct": 100.0 * rel,
            flag: pd.array(
                np.where(has_both, np.abs(rel) <= tolerance + 1e-12, pd.NA), dtype="boolean"
            ),
            "official_value": table["official_value"],
            "official_unit": table["official_unit"],
            "reference_date": table["reference_date"],
            "source": table["source"],
        }
    )
    if accuracy is not None:
        out = _with_adjusted(out, accuracy, product, class_name(product, code), unit)
    rank = out["status"].map(
        {COMPARED: 0, PARTLY_MAPPED: 0, NO_STATISTIC: 0, NOT_MAPPED: 0, NATIONAL: 1}
    )
    return (
        out.assign(_rank=rank)
        .sort_values(["_rank", "adcode"])
        .drop(columns="_rank")
        .reset_index(drop=True)
    )


def _one_quantity_and_level(areas: pd.DataFrame, official: pd.DataFrame) -> tuple[str, int, str]:
    """The mapped product and class of the official table's one quantity, and the level."""
    quantities = sorted(set(official["quantity"]))
    if len(quantities) != 1:
        raise ValueError(f"official table holds quantities {quantities}; pass one")
    product, code = source_of(quantities[0])
    column = f"{class_name(product, code)}_ha"
    if column not in areas.columns:
        raise ValueError(f"area table has no {column!r} column; build it with unit='ha'")
    levels = sorted(set(areas["level"]))
    if len(levels) != 1:
        raise ValueError(f"area table holds levels {levels}; pass one level")
    return product, code, levels[0]


def _mapped_beside_official(
    areas: pd.DataFrame, official: pd.DataFrame, column: str, min_coverage: float
) -> pd.DataFrame:
    """Mapped (``column`` as ``mapped_ha``) and official areas merged per unit, with a status."""
    mapped = areas[["adcode", "name", "coverage", column]].rename(columns={column: "mapped_ha"})
    stats = official[
        ["adcode", "name", "area_ha", "value", "unit", "reference_date", "source"]
    ].rename(
        columns={
            "name": "official_name",
            "area_ha": "official_ha",
            "value": "official_value",
            "unit": "official_unit",
        }
    )
    table = mapped.merge(stats, on="adcode", how="outer", indicator=True)
    table["name"] = table["name"].fillna(table["official_name"])
    status = np.select(
        [
            table["adcode"] == TOTAL_ADCODE,
            table["_merge"] == "left_only",
            table["_merge"] == "right_only",
            table["coverage"] < min_coverage,
        ],
        [NATIONAL, NO_STATISTIC, NOT_MAPPED, PARTLY_MAPPED],
        default=COMPARED,
    )
    table["status"] = status
    return table


def _with_adjusted(
    out: pd.DataFrame, accuracy: pd.DataFrame, product: str, cls: str, unit: str
) -> pd.DataFrame:
    rows = accuracy[(accuracy["product"] == product) & (accuracy["class"] == cls)].set_index(
        "region"
    )
    regions = out["adcode"].map(region_of)
    for src, dst in (
        ("area_ha", "adjusted"),
        ("se_ha", "adjusted_se"),
        ("ci95_low_ha", "adjusted_ci95_low"),
        ("ci95_high_ha", "adjusted_ci95_high"),
    ):
        values = regions.map(rows[src]) if len(rows) else pd.Series(np.nan, index=out.index)
        out[f"{dst}_{unit}"] = from_hectares(values.to_numpy(float), unit)
    return out


def summarize_comparison(
    table: pd.DataFrame,
    *,
    tolerance: float = _DEFAULTS.tolerance,
    min_units_for_fit: int = _DEFAULTS.min_units_for_fit,
) -> pd.DataFrame:
    """One-row summary of a comparison table: the ±10 % count, R², RMSE, totals.

    ``r2_1to1`` is the coefficient of determination of the official figures by
    the mapped ones taken as predictions, 1 − Σ(m − o)² / Σ(o − ō)² (it rewards
    lying on the 1:1 line); ``r2_pearson`` is the squared correlation (the R² of
    a fitted regression line, as most mapping papers report). Both use the
    ``compared`` rows only and are NaN with fewer than ``min_units_for_fit`` of them
    (an R² of two or three points says little); the RMSE is NaN with fewer than two.
    """
    unit = next(c for c in table.columns if c.startswith("mapped_"))[len("mapped_") :]
    flag = within_column(tolerance)
    comp = table[table["status"] == COMPARED]
    m = comp[f"mapped_{unit}"].to_numpy(float)
    o = comp[f"official_{unit}"].to_numpy(float)
    n = len(comp)
    r2 = r2p = rmse = np.nan
    if n >= 2:
        rmse = float(np.sqrt(np.mean((m - o) ** 2)))
    if n >= min_units_for_fit:
        ss_tot = float(np.sum((o - o.mean()) ** 2))
        r2 = 1.0 - float(np.sum((m - o) ** 2)) / ss_tot if ss_tot > 0 else np.nan
        r2p = float(np.corrcoef(m, o)[0, 1] ** 2) if np.std(m) > 0 and np.std(o) > 0 else np.nan
    national = table[table["status"] == NATIONAL]
    nat_m = float(national[f"mapped_{unit}"].iloc[0]) if len(national) else np.nan
    nat_o = float(national[f"official_{unit}"].iloc[0]) if len(national) else np.nan
    n_within = int(comp[flag].sum()) if n else 0
    return pd.DataFrame(
        [
            {
                "level": table["level"].iloc[0] if len(table) else "",
                "tolerance_pct": 100.0 * tolerance,
                "n_compared": n,
                f"n_{flag}": n_within,
                f"share_{flag}": n_within / n if n else np.nan,
                "r2_1to1": r2,
                "r2_pearson": r2p,
                f"rmse_{unit}": rmse,
                "mean_abs_relative_difference_pct": float(
                    np.mean(np.abs(comp["relative_difference_pct"]))
                )
                if n
                else np.nan,
                f"mapped_compared_{unit}": float(m.sum()),
                f"official_compared_{unit}": float(o.sum()),
                "n_no_statistic": int((table["status"] == NO_STATISTIC).sum()),
                "n_not_mapped": int((table["status"] == NOT_MAPPED).sum()),
                "n_partly_mapped": int((table["status"] == PARTLY_MAPPED).sum()),
                f"national_mapped_{unit}": nat_m,
                f"national_official_{unit}": nat_o,
                "national_relative_difference_pct": 100.0 * (nat_m - nat_o) / nat_o
                if nat_o and np.isfinite(nat_o)
                else np.nan,
                "reference_dates": ";".join(
                    sorted(set(comp["reference_date"].dropna().astype(str)))
                ),
            }
        ]
    )


def accuracy_beside_mapped(
    areas: pd.DataFrame, accuracy: pd.DataFrame, *, unit: str = _DEFAULTS.unit
) -> pd.DataFrame:
    """The accuracy table's estimates beside the map's pixel-count areas.

    Parameters
    ----------
    areas
        Output of :func:`~agrifactory.aggregate.sums.combine_partials` (long,
        hectares); the province level's rows are used (its national row for
        region ``all``).
    accuracy
        Output of :func:`~agrifactory.aggregate.accuracy.read_accuracy`.

    Returns
    -------
    DataFrame with ``product``, ``class``, ``region``, ``pixel_count_<u>``,
    ``adjusted_<u>``, ``se_<u>``, ``ci95_low_<u>``, ``ci95_high_<u>`` and
    ``pixel_count_in_ci95``.
    """
    level = "province" if "province" in set(areas["level"]) else sorted(set(areas["level"]))[0]
    sel = areas[areas["level"] == level].assign(region=lambda d: d["adcode"].map(region_of))
    counts = sel.groupby(["product", "class", "region"])["area_ha"].sum()
    keys = list(zip(accuracy["product"], accuracy["class"], accuracy["region"], strict=True))
    pixel = np.array([counts.get(k, 0.0) for k in keys])
    out = pd.DataFrame(
        {
            "product": accuracy["product"],
            "class": accuracy["class"],
            "region": accuracy["region"],
            f"pixel_count_{unit}": from_hectares(pixel, unit),
            f"adjusted_{unit}": from_hectares(accuracy["area_ha"].to_numpy(float), unit),
            f"se_{unit}": from_hectares(accuracy["se_ha"].to_numpy(float), unit),
            f"ci95_low_{unit}": from_hectares(accuracy["ci95_low_ha"].to_numpy(float), unit),
            f"ci95_high_{unit}": from_hectares(accuracy["ci95_high_ha"].to_numpy(float), unit),
        }
    )
    out["pixel_count_in_ci95"] = (pixel >= accuracy["ci95_low_ha"].to_numpy()) & (
        pixel <= accuracy["ci95_high_ha"].to_numpy()
    )
    return out
