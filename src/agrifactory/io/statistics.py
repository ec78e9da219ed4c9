"""Official statistics tables: area per administrative unit, validated.

A table is a CSV with an ``adcode`` column (6 digits), one area column named
``<quantity>_<unit>`` (``cropland_kha``, ``cropland_ha``, ``irrigated_mu``...)
or the pair ``area`` + ``unit``, and a ``reference_date`` (YYYY-MM-DD). Name and
``source`` columns are kept when present. Units are converted explicitly to
hectares: 1 kha = 1,000 ha, 1 km2 = 100 ha, 1 mu = 1/15 ha, 1 wan_mu (万亩) =
10,000 mu.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.errors import InputError

#: Hectares per unit.
HECTARES_PER = {"ha": 1.0, "kha": 1000.0, "km2": 100.0, "mu": 1.0 / 15.0, "wan_mu": 10000.0 / 15.0}

_AREA_COLUMN = re.compile(r"^(?P<quantity>[a-z][a-z_]*?)_(?P<unit>ha|kha|km2|mu|wan_mu)$")


def to_hectares(values: np.ndarray | float, unit: str) -> np.ndarray | float:
    """Convert areas from ``unit`` to hectares; an unknown unit is a ``ValueError``."""
    try:
        return values * HECTARES_PER[unit]
    except KeyError:
        raise ValueError(
            f"unknown area unit {unit!r}; known units: {sorted(HECTARES_PER)}"
        ) from None


def from_hectares(values: np.ndarray | float, unit: str) -> np.ndarray | float:
    """Convert areas from hectares to ``unit``."""
    return values / HECTARES_PER[unit] if unit in HECTARES_PER else to_hectares(values, unit)


def read_statistics(
    path: str | Path, *, known_adcodes: Collection[str] | None = None, quantity: str | None = None
) -> pd.DataFrame:
    """Read and validate an official-statistics CSV.

    Parameters
    ----------
    path
        The CSV file.
    known_adcodes
        If given, every adcode must be one of these (the boundary units).
    quantity
        The quantity to read (``cropland``) when the file has several area columns.

    Returns
    -------
    DataFrame with ``adcode``, ``name`` (if any), ``quantity``, ``value``,
    ``unit``, ``area_ha``, ``reference_date`` and ``source``. Errors name the file
    and the row (1-based, counting the header as row 1).
    """
    path = Path(path)
    raw = _read_csv(path)
    values, units, qty = _area_column(raw, path, quantity)
    out = pd.DataFrame({"adcode": raw["adcode"].str.strip()})
    _check_rows(path, out["adcode"], units, values, raw["reference_date"])
    _check_adcodes(path, out["adcode"], known_adcodes)
    name_cols = [
        c
        for c in raw.columns
        if c in ("name", "name_zh", "province_zh", "county_zh", "name_en", "province_en")
    ]
    out["name"] = raw[name_cols[0]] if name_cols else ""
    out["quantity"] = qty
    out["value"] = values.astype(float).to_numpy()
    out["unit"] = units.to_numpy()
    out["area_ha"] = [to_hectares(v, u) for v, u in zip(out["value"], out["unit"], strict=True)]
    out["reference_date"] = raw["reference_date"].to_numpy()
    out["source"] = raw["source"].to_numpy() if "source" in raw.columns else ""
    return out


def _read_csv(path: Path) -> pd.DataFrame:
    """The table as text columns, with the columns every statistics table needs."""
    if not path.exists():
        raise InputError(
            path, "statistics table not found", "check inputs.statistics in the config"
        )
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(path, f"is not a readable CSV ({exc})") from None
    for col in ("adcode", "reference_date"):
        if col not in raw.columns:
            raise InputError(path, f"has no {col!r} column; columns: {list(raw.columns)}")
    return raw


def _area_column(
    raw: pd.DataFrame, path: Path, quantity: str | None
) -> tuple[pd.Series, pd.Series, str]:
    """The area values, their units and the quantity's name."""
    if "area" in raw.columns and "unit" in raw.columns:
        return raw["area"], raw["unit"].str.strip(), quantity or "area"
    matches = [(c, _AREA_COLUMN.match(c)) for c in raw.columns]
    areas = [(c, m) for c, m in matches if m and (quantity is None or m["quantity"] == quantity)]
    if len(areas) != 1:
        found = [c for c, m in matches if m]
        raise InputError(
            path,
            f"expected exactly one area column named <quantity>_<unit> (units {sorted(HECTARES_PER)})"
            f"{f' for {quantity!r}' if quantity else ''}; found {found or 'none'}",
            "or give 'area' and 'unit' columns",
        )
    col, m = areas[0]
    return raw[col], pd.Series(m["unit"], index=raw.index), m["quantity"]


def _check_rows(
    path: Path, adcodes: pd.Series, units: pd.Series, values: pd.Series, dates: pd.Series
) -> None:
    """Each row: a 6-digit adcode, a known unit, a finite area >= 0, a YYYY-MM-DD date."""
    for i, (adcode, unit, value, date) in enumerate(
        zip(adcodes, units, values, dates, strict=True)
    ):
        row = i + 2
        if not re.fullmatch(r"\d{6}", adcode):
            raise InputError(path, f"row {row}: adcode {adcode!r} is not a 6-digit code")
        if unit not in HECTARES_PER:
            raise InputError(
                path,
                f"row {row} ({adcode}): unknown unit {unit!r}; use one of {sorted(HECTARES_PER)}",
            )
        try:
            v = float(value)
        except ValueError:
            raise InputError(
                path, f"row {row} ({adcode}): area {value!r} is not a number"
            ) from None
        if not np.isfinite(v) or v < 0:
            raise InputError(
                path, f"row {row} ({adcode}): area {value!r} is negative or not finite"
            )
        if pd.isna(pd.to_datetime(date, format="%Y-%m-%d", errors="coerce")):
            raise InputError(
                path, f"row {row} ({adcode}): reference_date {date!r} is not YYYY-MM-DD"
            )


def _check_adcodes(path: Path, adcodes: pd.Series, known_adcodes: Collection[str] | None) -> None:
    """No unit twice; every unit among the boundaries' units (when given)."""
    dups = adcodes[adcodes.duplicated(keep=False)]
    if len(dups):
        rows = [int(i) + 2 for i in dups.index]
        raise InputError(
            path,
            f"adcode {dups.iloc[0]} appears more than once (rows {rows}); keep one row per unit",
        )
    if known_adcodes is not None:
        known = set(known_adcodes)
        for i, adcode in enumerate(adcodes):
            if adcode not in known:
                raise InputError(
                    path,
                    f"row {i + 2}: unknown adcode {adcode}",
                    "it matches no unit of the boundaries in use; fix the code",
                )
