"""Mapped against official area per unit: a bar chart and a scatter plot.

Both take a comparison table (columns ``name``, ``adcode``, ``status``,
``mapped_<u>``, ``official_<u>`` and the ``within_<t>pct`` flag; see
``docs/aggregation.md``) and find the unit from the column names.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from agrifactory.io.files import atomic_path  # noqa: E402
from agrifactory.report.names import unit_label  # noqa: E402

WITHIN = "#1a9850"
OUTSIDE = "#d73027"
OFFICIAL = "#8c8c8c"

_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "Source Han Sans SC",
    "SimHei",
)


def _cjk_family() -> str | None:
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in _CJK_FAMILIES if f in names), None)


def unit_labels(table: pd.DataFrame) -> list[str]:
    """Axis labels: the unit's name where a font can draw it, else an English one
    (:func:`agrifactory.report.names.unit_label`)."""
    cjk = _cjk_family() is not None
    return [
        unit_label(name, adcode, cjk=cjk)
        for name, adcode in zip(table["name"].astype(str), table["adcode"].astype(str), strict=True)
    ]


def table_unit(table: pd.DataFrame) -> str:
    """The area unit of a comparison table (from its ``mapped_<u>`` column)."""
    cols = [c for c in table.columns if c.startswith("mapped_")]
    if not cols:
        raise ValueError(
            f"not a comparison table: no mapped_<unit> column in {list(table.columns)}"
        )
    return cols[0][len("mapped_") :]


def _flag(table: pd.DataFrame) -> str:
    return next(c for c in table.columns if c.startswith("within_") and c.endswith("pct"))


def _fonts() -> dict[str, Any]:
    family = _cjk_family()
    return {"font.sans-serif": ["DejaVu Sans", family]} if family else {}


def comparison_scatter(
    table: pd.DataFrame,
    out: str | Path,
    *,
    tolerance: float = 0.10,
    summary: Mapping[str, Any] | None = None,
    title: str | None = None,
    label_points: bool = True,
    dpi: int = 110,
) -> Path:
    """Scatter of mapped against official area with the 1:1 line and the ±tolerance band.

    Only ``compared`` rows are scored (green within the band, red outside);
    ``partly mapped`` units are drawn as hollow grey circles, not judged.
    ``summary`` (a row of ``summarize_comparison``) adds R², RMSE and the count
    in the band to the plot.
    """
    unit = table_unit(table)
    flag = _flag(table)
    comp = table[table["status"] == "compared"]
    m = comp[f"mapped_{unit}"].to_numpy(float)
    o = comp[f"official_{unit}"].to_numpy(float)
    partly = table[table["status"] == "partly mapped"]
    pm = partly[f"mapped_{unit}"].to_numpy(float)
    po = partly[f"official_{unit}"].to_numpy(float)
    with plt.rc_context(_fonts()):
        fig, ax = plt.subplots(figsize=(6.4, 6.0), layout="constrained")
        top = 1.08 * max([*m, *o, *pm[np.isfinite(pm)], *po[np.isfinite(po)], 1e-9])
        if len(partly):
            ax.scatter(po, pm, s=28, facecolor="none", edgecolor=OFFICIAL, zorder=2,
                       label="partly mapped (not compared)")  # fmt: skip
        x = np.array([0.0, top])
        ax.fill_between(
            x,
            (1 - tolerance) * x,
            (1 + tolerance) * x,
            color=WITHIN,
            alpha=0.12,
            label=f"±{tolerance * 100:g} % of official",
        )
        ax.plot(x, x, color="0.2", lw=1, label="1:1")
        inside = comp[flag].fillna(False).to_numpy(bool)
        for sel, colour, where in ((inside, WITHIN, "within"), (~inside, OUTSIDE, "outside")):
            ax.scatter(
                o[sel],
                m[sel],
                s=28,
                color=colour,
                edgecolor="k",
                lw=0.4,
                zorder=3,
                label=f"{where} ±{tolerance * 100:g} %",
            )
        if label_points and len(comp) <= 40:
            for lab, xi, yi in zip(unit_labels(comp), o, m, strict=True):
                ax.annotate(lab, (xi, yi), xytext=(3, 3), textcoords="offset points", fontsize=7)
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_aspect("equal")
        ax.set_xlabel(f"official area ({unit})")
        ax.set_ylabel(f"mapped area ({unit})")
        text = [f"{int(inside.sum())} of {len(comp)} units within ±{tolerance * 100:g} %"]
        if summary is not None:
            text += _fit_lines(summary, unit)
        _text_box(ax, "\n".join(text))
        ax.legend(loc="lower right", fontsize=8)
        ax.set_title(title or "mapped vs official area")
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
        plt.close(fig)
    return Path(out)


def _fit_lines(summary: Mapping[str, Any], unit: str) -> list[str]:
    """R² and RMSE lines of a summary row; R² only where it was computed (enough units)."""
    lines = []
    r2 = float(summary.get("r2_1to1", np.nan))
    lines.append(f"R² (1:1) = {r2:.3f}" if np.isfinite(r2) else "R²: too few units")
    rmse = float(summary.get(f"rmse_{unit}", np.nan))
    if np.isfinite(rmse):
        lines.append(f"RMSE = {rmse:.4g} {unit}")
    return lines


def _coverage(rows: pd.DataFrame) -> np.ndarray:
    """Mapped share of each unit's area (%), NaN where the table has none."""
    if "coverage_pct" in rows:
        return rows["coverage_pct"].to_numpy(float)
    return np.full(len(rows), np.nan)


def _status_note(status: str, coverage_pct: float) -> str:
    """What a bar label adds for a unit that is not compared (its coverage if partly mapped)."""
    if status == "compared":
        return ""
    if status == "partly mapped" and np.isfinite(coverage_pct):
        share = f"{coverage_pct:.1f}" if coverage_pct >= 1 else f"{coverage_pct:.2g}"
        return f"  [partly mapped: {share} %]"
    return f"  [{status}]"


def _text_box(ax: plt.Axes, text: str) -> None:
    """``text`` in a white box at the top left of ``ax``."""
    ax.text(
        0.03,
        0.97,
        text,
        transform=ax.transAxes,
        va="top",
        fontsize=9,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.7"},
    )


def comparison_bars(
    table: pd.DataFrame,
    out: str | Path,
    *,
    max_units: int = 40,
    title: str | None = None,
    dpi: int = 110,
) -> Path:
    """Horizontal bars of mapped and official area per unit (largest ``max_units`` units).

    Mapped bars are green within the tolerance, red outside it, and hatched for
    units without a statistic; official bars of units the map does not cover
    stand alone.
    """
    unit = table_unit(table)
    flag = _flag(table)
    rows = table[table["status"] != "national total"].copy()
    rows["_size"] = rows[[f"mapped_{unit}", f"official_{unit}"]].max(axis=1)
    rows = rows.sort_values("_size", ascending=False).head(max_units).iloc[::-1]
    n = len(rows)
    y = np.arange(n)
    mapped = rows[f"mapped_{unit}"].fillna(0).to_numpy(float)
    official = rows[f"official_{unit}"].fillna(0).to_numpy(float)
    within = rows[flag].fillna(False).to_numpy(bool)
    colours = [WITHIN if w else OUTSIDE for w in within]
    with plt.rc_context(_fonts()):
        fig, ax = plt.subplots(figsize=(7.5, 1.8 + 0.28 * max(n, 1)), layout="constrained")
        bars = ax.barh(
            y + 0.2, mapped, height=0.4, color=colours, edgecolor="k", lw=0.3, label="mapped"
        )
        for bar, status in zip(bars, rows["status"], strict=True):
            if status != "compared":
                bar.set_facecolor("white")
                bar.set_hatch("///")
        ax.barh(
            y - 0.2, official, height=0.4, color=OFFICIAL, edgecolor="k", lw=0.3, label="official"
        )
        labels = [
            lab + _status_note(s, c)
            for lab, s, c in zip(unit_labels(rows), rows["status"], _coverage(rows), strict=True)
        ]
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_xlabel(f"area ({unit})")
        handles = [
            plt.Rectangle((0, 0), 1, 1, color=WITHIN, label="mapped, within tolerance"),
            plt.Rectangle((0, 0), 1, 1, color=OUTSIDE, label="mapped, outside tolerance"),
            plt.Rectangle(
                (0, 0),
                1,
                1,
                facecolor="white",
                edgecolor="k",
                hatch="///",
                label="mapped, no comparison",
            ),
            plt.Rectangle((0, 0), 1, 1, color=OFFICIAL, label="official"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
        ax.set_title(title or f"mapped and official area per unit ({unit})")
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
        plt.close(fig)
    return Path(out)
