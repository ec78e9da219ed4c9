"""Tables on disk: CSV or Parquet chosen by suffix, written atomically, read with clear errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from agrifactory.errors import InputError
from agrifactory.io.files import atomic_path

SUFFIXES = (".csv", ".parquet")


def write_table(table: pd.DataFrame, path: str | Path, *, float_format: str | None = None) -> Path:
    """Write ``table`` without its index as CSV or Parquet (by suffix), atomically.

    ``float_format`` (e.g. ``"%.5f"``) formats the floats of a CSV; Parquet keeps them exact.
    """
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise ValueError(f"{path}: tables are written as {' or '.join(SUFFIXES)}")
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, index=False, float_format=float_format)
    return path


def read_table(path: str | Path, what: str, remedy: str) -> pd.DataFrame:
    """Read a CSV or Parquet table; a missing or unreadable file is an :class:`InputError`.

    Parameters
    ----------
    path : str or Path
        The file (``.parquet`` is read as Parquet, anything else as CSV).
    what : str
        What the table is, for the error message (e.g. ``"pairs table"``).
    remedy : str
        What to do when the file is missing or corrupt (e.g. ``"rerun the quality rule"``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found", remedy)
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # pyarrow and pandas raise many kinds on corrupt files
        raise InputError(
            path, f"cannot be read as a {what} ({exc})", f"the file is corrupt: {remedy}"
        ) from None
