"""Time-series plots of observed, reanalysis, downscaled and calibrated soil moisture at
stations, with each station's PCC and RMSE in its panel's title."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure

from agrifactory.errors import InputError
from agrifactory.io.files import atomic_path
from agrifactory.soil_moisture.evaluate import metrics

#: Series drawn per panel: column -> (legend label, colour, line width). ``reanalysis``
#: is drawn where the table has it (tables of older runs lack it).
SERIES = {
    "observed": ("station", "k", 1.2),
    "reanalysis": ("reanalysis 0.25° (station's cell)", "tab:gray", 0.9),
    "downscaled": ("downscaled 1 km", "tab:orange", 1.0),
    "calibrated": ("calibrated 1 km (held out)", "tab:blue", 1.0),
}
#: Columns the series table must have.
REQUIRED = ("date", "station", "layer", "observed", "downscaled", "calibrated")
#: Products whose per-station metrics the panel titles give, with their short names.
TITLE_PRODUCTS = {"calibrated": "cal", "reanalysis": "rea"}


def station_metrics(table: pd.DataFrame, products: Sequence[str]) -> pd.DataFrame:
    """PCC and RMSE (m3/m3) of every product against the station, per station and layer.

    One row per station, layer and product: ``station, layer, product, pcc, rmse, n``
    (pairs where both are finite; PCC and RMSE empty under two pairs).
    """
    rows = []
    for (station, layer), part in table.groupby(["station", "layer"], sort=False):
        for product in products:
            m = metrics(part[product].to_numpy(float), part["observed"].to_numpy(float))
            rows.append(
                {"station": station, "layer": layer, "product": product}
                | {k: m[k] for k in ("pcc", "rmse", "n")}
            )
    return pd.DataFrame(rows)


def panel_title(station: str, layer: str, scores: pd.DataFrame) -> str:
    """``SM001 - surface | cal PCC 0.93 RMSE 0.021 | rea ...`` from :func:`station_metrics`
    rows of one station and layer."""
    parts = [f"{station} - {layer}"]
    for product, short in TITLE_PRODUCTS.items():
        row = scores[scores["product"] == product]
        if len(row):
            pcc, rmse = float(row["pcc"].iloc[0]), float(row["rmse"].iloc[0])
            parts.append(f"{short} PCC {pcc:.2f} RMSE {rmse:.3f}")
    return " | ".join(parts)


def plot_station_series(
    series_csv: str | Path,
    out_png: str | Path,
    *,
    stations: Sequence[str] | None = None,
    n_stations: int = 4,
) -> Path:
    """One panel per station and layer from the series table of the bias training.

    ``stations`` picks the stations (default: the first ``n_stations`` in id order).
    Titles give the calibrated (``cal``) and reanalysis (``rea``) PCC and RMSE (m3/m3)
    of that station and layer.
    """
    table = pd.read_csv(series_csv, parse_dates=["date"])
    missing = [c for c in REQUIRED if c not in table]
    if missing:
        raise InputError(series_csv, f"lacks column(s) {missing}", "rerun the bias training")
    chosen = list(stations) if stations else sorted(table["station"].unique())[:n_stations]
    table = table[table["station"].isin(chosen)]
    drawn = {k: v for k, v in SERIES.items() if k in table}
    scores = station_metrics(table, [p for p in TITLE_PRODUCTS if p in table])
    layers = list(dict.fromkeys(table["layer"]))
    fig = Figure(figsize=(6.5 * len(layers), 2.3 * len(chosen)))
    axes = fig.subplots(len(chosen), len(layers), sharex=True, squeeze=False)
    for r, st in enumerate(chosen):
        for c, layer in enumerate(layers):
            ax = axes[r][c]
            part = table[(table["station"] == st) & (table["layer"] == layer)]
            for col, (label, colour, width) in drawn.items():
                ax.plot(part["date"], part[col], color=colour, lw=width, label=label)
            mine = scores[(scores["station"] == st) & (scores["layer"] == layer)]
            ax.set_title(panel_title(st, layer, mine), fontsize=8.5)
            ax.set_ylabel("m³/m³")
            ax.xaxis.set_major_formatter(DateFormatter("%b"))
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=90)
    return Path(out_png)
