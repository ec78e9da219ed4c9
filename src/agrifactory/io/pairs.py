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
from agrifactory.io.files import atomic_path

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
    path = Path(path)
    out = table.copy()
    for col in ("target_date", "pair1_date", "pair2_date"):
        out[col] = [d.isoformat() if isinstance(d, dt.date) else None for d in out[col]]
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            out.to_parquet(tmp, index=False)
        elif path.suffix == ".csv":
            out.to_csv(tmp, index=False)
        else:
            raise ValueError(f"{path}: pairs tables are .parquet or .csv")
    return path


def read_pairs_table(path: str | Path) -> pd.DataFrame:
    """Read a pairs table; date columns become ``datetime.date`` (None where missing)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found", "run the quality rule for this tile and year")
    try:
        table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # pyarrow and pandas raise many kinds on corrupt files
        raise InputError(
            path,
            f"cannot be read as a pairs table ({exc})",
            "the file is corrupt: rerun the quality rule",
        ) from None
    missing = [c for c in PAIR_COLUMNS if c not in table]
    if missing:
        raise InputError(path, f"lacks column(s) {missing}", "rerun the quality rule")
    for col in ("target_date", "pair1_date", "pair2_date"):
        table[col] = [None if pd.isna(v) else pd.Timestamp(v).date() for v in table[col]]
    table["reason"] = table["reason"].fillna("")
    return table[PAIR_COLUMNS]
