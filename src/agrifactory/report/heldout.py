"""Fused against observed NDVI on the held-out scenes: scatter per flag class and
coverage by date.

The fusion stage holds clear Landsat scenes out, predicts them with the product's
cascade (ESTARFM, then the fallbacks) and writes, per tile-year, the held-out pixels
binned by observed and fused NDVI per flag class (``validation_scatter.csv``) and the
coverage and RMSE per date and flag class (``validation_flags.csv``). This module sums
them over tiles and draws one figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from agrifactory.fusion.metrics import SCATTER_BINS, SCATTER_HIGH, SCATTER_LOW  # noqa: E402
from agrifactory.io.files import atomic_path  # noqa: E402
from agrifactory.io.tables import read_table  # noqa: E402
from agrifactory.report.summaries import pool_flag_validation  # noqa: E402

_HINT = "rerun rule fuse for that tile-year"


def scatter_sum(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Held-out pixels per flag class and (observed, fused) bin, summed over tiles."""
    frames = [read_table(p, "held-out scatter", _HINT) for p in paths]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    keys = ["flag", "flag_name", "observed", "fused"]
    if table.empty:
        return pd.DataFrame(columns=[*keys, "n"])
    return table.groupby(keys, as_index=False)["n"].sum()


def flag_figures(paths: Sequence[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From the tiles' ``validation_flags.csv``: coverage by date and flag class (mean
    over tiles, in %) and, by flag name, the Quality table's pooled figures
    (:func:`~agrifactory.report.summaries.pool_flag_validation`: ``n`` pixels with a
    nearest-clear baseline, their ``rmse`` and ``baseline_rmse``)."""
    frames = [read_table(p, "held-out validation per flag", _HINT) for p in paths]
    v = pd.concat(frames, ignore_index=True)
    coverage = (
        v.groupby(["heldout_date", "flag_name"])["coverage"].mean().mul(100).unstack(fill_value=0)
    )
    coverage = coverage[v.sort_values("flag")["flag_name"].unique()]  # columns in flag order
    pooled = pool_flag_validation(v)
    return coverage, pooled.set_index("flag_name") if not pooled.empty else pooled


def _square(cells: pd.DataFrame) -> np.ndarray:
    """A flag's cells as a ``SCATTER_BINS`` square (rows: fused, columns: observed)."""
    width = (SCATTER_HIGH - SCATTER_LOW) / SCATTER_BINS
    i = np.rint((cells["observed"].to_numpy() - SCATTER_LOW) / width).astype(int)
    j = np.rint((cells["fused"].to_numpy() - SCATTER_LOW) / width).astype(int)
    square = np.zeros((SCATTER_BINS, SCATTER_BINS))
    np.add.at(square, (j, i), cells["n"].to_numpy())
    return square


def heldout_figure(
    scatter: pd.DataFrame,
    coverage: pd.DataFrame,
    pooled: pd.DataFrame,
    out: str | Path,
    *,
    title: str = "",
    dpi: int = 90,
) -> Path:
    """Top: one density scatter of fused against observed NDVI per flag class with
    pixels (log colour scale, 1:1 line, n and RMSE against the baseline's). Bottom:
    stacked coverage of the held-out scenes' clear pixels by date and flag class."""
    flags = scatter.groupby(["flag", "flag_name"])["n"].sum()
    flags = [name for (_, name), n in flags.items() if n > 0]
    ncols = max(len(flags), 1)
    fig = Figure(figsize=(max(3.0 * ncols, 7.0), 6.6))
    grid = fig.add_gridspec(2, ncols, height_ratios=(1.15, 1.0))
    extent = (SCATTER_LOW, SCATTER_HIGH, SCATTER_LOW, SCATTER_HIGH)
    squares = {name: _square(scatter[scatter["flag_name"] == name]) for name in flags}
    norm = LogNorm(vmin=1, vmax=max([2.0] + [sq.max() for sq in squares.values()]))
    image, top = None, []
    for k, (name, square) in enumerate(squares.items()):
        ax = fig.add_subplot(grid[0, k])
        top.append(ax)
        shown = np.where(square > 0, square, np.nan)
        image = ax.imshow(shown, origin="lower", extent=extent, cmap="viridis", norm=norm)
        ax.plot([SCATTER_LOW, SCATTER_HIGH], [SCATTER_LOW, SCATTER_HIGH], "k--", lw=0.8)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("observed NDVI", fontsize=8)
        if k == 0:
            ax.set_ylabel("fused NDVI", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.text(0.03, 0.97, _panel_note(int(square.sum()), pooled, name), transform=ax.transAxes,
                va="top", fontsize=7, bbox={"fc": "white", "alpha": 0.8, "lw": 0})  # fmt: skip
    if image is not None:
        bar = fig.colorbar(image, ax=top, shrink=0.9, pad=0.01)
        bar.set_label("pixels per 0.02 × 0.02 bin", fontsize=8)
    _coverage_bars(fig.add_subplot(grid[1, :]), coverage)
    if title:
        fig.suptitle(title, fontsize=10)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight")
    return Path(out)


def _panel_note(n: int, pooled: pd.DataFrame, name: str) -> str:
    note = f"n = {n:,} pixels"
    if name in pooled.index and pooled.loc[name, "n"] > 0:
        row = pooled.loc[name]
        note += f"\nRMSE {row['rmse']:.4f}\nbaseline {row['baseline_rmse']:.4f}"
    return note


def _coverage_bars(ax, coverage: pd.DataFrame) -> None:  # noqa: ANN001
    """Stacked bars: per held-out date, the share of clear pixels each flag class covers."""
    dates = list(coverage.index)
    bottom = np.zeros(len(dates))
    for k, name in enumerate(c for c in coverage.columns if coverage[c].sum() > 0):
        values = coverage[name].to_numpy()
        ax.bar(range(len(dates)), values, bottom=bottom, color=f"C{k}", label=name)
        bottom += values
    ax.set_xticks(range(len(dates)), dates, rotation=60, fontsize=7, ha="right")
    ax.set_ylim(0, 100)
    ax.set_ylabel("clear pixels with a value (%)", fontsize=8)
    ax.set_title("Coverage of the held-out scenes by date (mean over tiles)", fontsize=9)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="y", alpha=0.3)
    if not dates:
        ax.text(0.5, 0.5, "No held-out Landsat scene in these tiles.", ha="center",
                va="center", transform=ax.transAxes)  # fmt: skip
        return
    ax.legend(
        fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), title="flag", title_fontsize=7
    )
