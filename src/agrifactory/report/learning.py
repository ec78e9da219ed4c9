"""Report tables of the transfer experiment and the active-learning simulation, with the
spread over repeats where the run has them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from agrifactory.classify.transfer import COLUMNS as EXPERIMENT_COLUMNS
from agrifactory.io.tables import read_table

#: Columns of the transfer tables shown, in order (``classify.transfer``).
TRANSFER_COLUMNS = ("source", "target", *EXPERIMENT_COLUMNS)
#: Column naming the repeat of a simulation run, where the run repeats it.
REPEAT = "repeat"


def transfer_table(paths: Sequence[str | Path]) -> pd.DataFrame:
    """The transfer tables of a year stacked, one row per source, target and augmentation.

    A column the table lacks is left out (older runs); rows keep their file order.
    """
    tables = [read_table(p, "transfer table", "rerun rule transfer") for p in paths]
    table = pd.concat(tables, ignore_index=True)
    return table[[c for c in TRANSFER_COLUMNS if c in table.columns]]


def learning_curve_table(path: str | Path, metric: str = "overall_accuracy") -> pd.DataFrame:
    """The active-learning curves as a table: one row per strategy and number of labels.

    Columns ``strategy, n_labels, repeats, <metric>_mean, <metric>_min, <metric>_max,
    <metric>_sd``; with one repeat (a simulation without a ``repeat`` column) the minimum,
    maximum and mean coincide and the standard deviation is empty.
    """
    curve = read_table(path, "active-learning simulation", "rerun active_learning_simulation")
    if REPEAT not in curve.columns:
        curve = curve.assign(**{REPEAT: 0})
    grouped = curve.groupby(["strategy", "n_labels"], sort=False)[metric]
    out = grouped.agg(["size", "mean", "min", "max", "std"]).reset_index()
    out.columns = [
        "strategy",
        "n_labels",
        "repeats",
        *(f"{metric}_{s}" for s in ("mean", "min", "max", "sd")),
    ]
    return out


def curve_view(curve: pd.DataFrame) -> pd.DataFrame:
    """The curve table as shown: when every point is one run, without the spread columns
    and with ``<metric>_mean`` named ``<metric>``."""
    if len(curve) and int(curve["repeats"].max()) > 1:
        return curve
    spread = [c for c in curve.columns if c.endswith(("_min", "_max", "_sd"))]
    means = {c: c.removesuffix("_mean") for c in curve.columns if c.endswith("_mean")}
    return curve.drop(columns=["repeats", *spread]).rename(columns=means)


def spread_note(curve: pd.DataFrame) -> str:
    """A sentence on the spread the curve table can show."""
    repeats = int(curve["repeats"].max()) if len(curve) else 0
    if repeats <= 1:
        return "The simulation ran once (no repeats): no spread over repeats can be shown."
    return (
        f"Each point is the mean over {repeats} repeats (different seeds for the initial "
        "labels); min, max and standard deviation give their spread."
    )
