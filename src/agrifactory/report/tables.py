"""Summary tables for the report: standalone HTML (styled) and CSV."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.io.files import write_text_atomic

_CSS = """
body { font-family: "DejaVu Sans", "Noto Sans CJK SC", sans-serif; margin: 1.2em; color: #222; }
h1 { font-size: 1.25em; }
h2 { font-size: 1.05em; margin-top: 1.4em; }
p.caption { max-width: 60em; color: #444; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.55em; }
th { background: #f0f0f0; position: sticky; top: 0; max-width: 8em; }
td { max-width: 18em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.yes td.flag { background: #d9f0d3; }
tr.no td.flag { background: #f8d4cf; }
td.flag.yes { background: #d9f0d3; }
td.flag.no { background: #f8d4cf; }
tr.total td { font-weight: bold; border-top: 2px solid #888; }
tr.missing td { color: #777; font-style: italic; }
p.banner { display: inline-block; background: #fff3c4; border: 1px solid #d8b300;
  padding: 0.3em 0.8em; font-weight: bold; }
div.scroll { overflow-x: auto; max-width: 100%; }
"""


#: Columns holding counts (shown as integers even when read back as floats).
COUNT_PREFIXES = ("n_", "pixels", "count")


def _format(
    value: object, column: str, flag_labels: tuple[str, str] = ("yes", "no")
) -> tuple[str, str]:
    """Text and CSS class of one cell."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "—", "num"
    if isinstance(value, bool | np.bool_):
        return (flag_labels[0] if value else flag_labels[1]), "flag"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}", "num"
    if isinstance(value, float | np.floating):
        return _format_float(float(value), column), "num"
    return html.escape(str(value)), ""


def _format_float(v: float, column: str) -> str:
    """A float as text: counts as integers, differences signed, small shares kept."""
    if v.is_integer() and (column == "n" or column.startswith(COUNT_PREFIXES)):
        return f"{int(v):,}"
    if column.endswith("_pct"):
        sign = "+" if "difference" in column else ""
        return f"{v:{sign}.1f}" if abs(v) >= 0.1 or v == 0 else f"{v:{sign}.2g}"
    if column.startswith(("r2", "share_")):
        return f"{v:.3f}"
    return f"{v:,.3f}" if abs(v) < 1e6 else f"{v:,.0f}"


def _header(column: object) -> str:
    """A column name that may break after its underscores (narrow columns)."""
    return html.escape(str(column)).replace("_", "_<wbr>")


def constant_columns(
    table: pd.DataFrame, columns: Sequence[str]
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Move ``columns`` that hold one value in every row (missing values aside) out of
    the table: returns the table without them and ``{column: value}``.

    A column absent from the table or holding several values stays as it is.
    """
    moved = {}
    for col in columns:
        if col in table.columns:
            values = table[col].dropna().unique()
            if len(values) == 1:
                moved[col] = values[0]
    return table.drop(columns=list(moved)), moved


def write_html_table(
    table: pd.DataFrame,
    path: str | Path,
    *,
    title: str,
    caption: str = "",
    flag_column: str | Sequence[str] | None = None,
    flag_labels: tuple[str, str] = ("yes", "no"),
    banner: str = "",
    sections: Sequence[tuple[str, pd.DataFrame]] = (),
) -> Path:
    """Write a table as a standalone HTML page.

    Rows are shaded by ``flag_column`` (a boolean such as ``within_10pct``, shown as
    ``flag_labels``; given a list of columns, each one's cells are shaded instead); rows
    whose ``status`` is ``national total`` are set in bold, ``no statistic`` and ``not
    mapped`` rows in grey italics. Missing values show as
    a dash. ``banner`` is set above the title in a box. Headers break after
    underscores; a table still too wide scrolls inside its frame. ``sections``:
    ``(heading, table)`` pairs set below the first table, each under its heading (a
    wide table split in two fits its frame).
    """
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + (f'<p class="banner">{html.escape(banner)}</p>' if banner else "")
        + f"<h1>{html.escape(title)}</h1>"
        + (f'<p class="caption">{html.escape(caption)}</p>' if caption else "")
        + _table_html(table, flag_column, flag_labels)
        + "".join(
            f"<h2>{html.escape(heading)}</h2>" + _table_html(part, flag_column, flag_labels)
            for heading, part in sections
        )
        + "</body></html>\n"
    )
    write_text_atomic(path, page)
    return Path(path)


def _table_html(
    table: pd.DataFrame, flag_column: str | Sequence[str] | None, flag_labels: tuple[str, str]
) -> str:
    """One table (rows shaded and set as :func:`write_html_table` says), scrolling in a div."""
    head = "".join(f"<th>{_header(c)}</th>" for c in table.columns)
    row_flag = flag_column if isinstance(flag_column, str) else None
    cell_flags = set() if flag_column is None or row_flag else set(flag_column)
    body = []
    for rec in table.to_dict("records"):
        classes = []
        if row_flag and row_flag in rec and rec[row_flag] is not pd.NA:
            flag = rec[row_flag]
            if isinstance(flag, bool | np.bool_):
                classes.append("yes" if flag else "no")
        status = rec.get("status")
        if status == "national total":
            classes.append("total")
        elif status in ("no statistic", "not mapped", "partly mapped"):
            classes.append("missing")
        cells = []
        for col, value in rec.items():
            text, css = _format(value, str(col), flag_labels)
            css = "flag" if col == row_flag else css
            if col in cell_flags:
                yes = isinstance(value, bool | np.bool_) and ("yes" if value else "no")
                css = f"flag {yes}" if yes else "flag"
            cells.append(f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>")
        body.append(f'<tr class="{" ".join(classes)}">{"".join(cells)}</tr>')
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
