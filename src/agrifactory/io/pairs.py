"""Base-pair tables: the contract between the quality stage and the fusion.

One row per target date: ``target_date``, ``target_doy``, ``status`` (``ok``,
``missing_before``, ``missing_after``, ``missing_both``), ``pair1_date``,
``pair1_score``, ``pair1_gap_days``, ``pair2_date``, ``pair2_score``,
``pair2_gap_days``, ``reason`` (why a side is missing) and ``method``
(``quality`` or ``nearest_clear``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from agrifactory.errors import InputError
from agrifactory.io.tables import read_table, write_table

PAIR_COLUMNS = [
    "target_date",
    "target_doy",
    "status",
    "pair1_date",
    "pair1_score",
    "pair1_gap_days",
    "pair2_date",
    "pair2_score",
    "pair2_gap_days",
    "reason",
    "method",
]


def write_pairs_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a pairs table as CSV or Parquet (by suffix), atomically; dates as YYYY-MM-DD."""
    out = table.copy()
    for col in ("target_date", "pair1_date", "pair2_date"):
        out[col] = [d.isoformat() if isinstance(d, dt.date) else None for d in out[col]]
    return write_table(out, path)


def read_pairs_table(path: str | Path) -> pd.DataFrame:
    """Read a pairs table; date columns become ``datetime.date`` (None where missing)."""
    table = read_table(path, "pairs table", "rerun the quality rule for this tile and year")
    missing = [c for c in PAIR_COLUMNS if c not in table]
    if missing:
        raise InputError(path, f"lacks column(s) {missing}", "rerun the quality rule")
    for col in ("target_date", "pair1_date", "pair2_date"):
        table[col] = [None if pd.isna(v) else pd.Timestamp(v).date() for v in table[col]]
    table["reason"] = table["reason"].fillna("")
    return table[PAIR_COLUMNS]
