"""Time-series plots of observed, downscaled and calibrated soil moisture at stations."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from agrifactory.errors import InputError
from agrifactory.io.files import atomic_path

SERIES = {
    "observed": ("station", "k", 1.2),
    "downscaled": ("downscaled", "tab:orange", 1.0),
    "calibrated": ("calibrated (held out)", "tab:blue", 1.0),
}


def plot_station_series(
    series_csv: str | Path,
    out_png: str | Path,
    *,
    stations: Sequence[str] | None = None,
    n_stations: int = 4,
) -> Path:
    """One panel per station and layer from the series table of the bias training.

    ``stations`` picks the stations (default: the first ``n_stations`` in id order).
    """
    table = pd.read_csv(series_csv, parse_dates=["date"])
    missing = [c for c in ("date", "station", "layer", *SERIES) if c not in table]
    if missing:
        raise InputError(series_csv, f"lacks column(s) {missing}", "rerun the bias training")
    chosen = list(stations) if stations else sorted(table["station"].unique())[:n_stations]
    layers = list(dict.fromkeys(table["layer"]))
    fig = Figure(figsize=(6 * len(layers), 2.2 * len(chosen)))
    axes = fig.subplots(len(chosen), len(layers), sharex=True, squeeze=False)
    for r, st in enumerate(chosen):
        for c, layer in enumerate(layers):
            ax = axes[r][c]
            part = table[(table["station"] == st) & (table["layer"] == layer)]
            for col, (label, colour, width) in SERIES.items():
                ax.plot(part["date"], part[col], color=colour, lw=width, label=label)
            ax.set_title(f"{st} - {layer}", fontsize=9)
            ax.set_ylabel("m3/m3")
    axes[0][0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=90)
    return Path(out_png)
