"""Soil-moisture figures for the report: a monthly-mean map of both layers over all tiles."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from agrifactory.errors import InputError  # noqa: E402
from agrifactory.grid import ALBERS  # noqa: E402
from agrifactory.io.files import atomic_path  # noqa: E402
from agrifactory.report.context import MapContext, add_context  # noqa: E402
from agrifactory.report.maps import add_scale_bar  # noqa: E402

LAYERS = {"sm_surface": "surface", "sm_rootzone": "root zone"}
#: The colour bar's label: the variable and its unit.
VARIABLE = "volumetric soil moisture (m³/m³)"


def panel_title(layer: str, month: int) -> str:
    """Title of one layer's panel, naming the month (``surface (sm_surface), July mean``)."""
    return f"{LAYERS[layer]} ({layer}), {calendar.month_name[month]} mean"


def mosaic_monthly_mean(
    paths: Sequence[str | Path], month: int
) -> tuple[dict[str, np.ndarray], tuple[float, float, float, float]]:
    """Mean of each layer over one month, tiles placed on their union 1 km grid.

    Returns the arrays (rows north to south) and the extent (x0, x1, y0, y1) in metres.
    """
    tiles = []
    for path in paths:
        with xr.open_dataset(path) as ds:
            missing = [v for v in LAYERS if v not in ds]
            if missing:
                raise InputError(
                    path, f"lacks variable(s) {missing}", "rerun the soil-moisture rule"
                )
            sel = ds.sel(time=ds["time"].dt.month == month)
            if sel.sizes["time"] == 0:
                raise InputError(
                    path,
                    f"has no day in month {month}",
                    "set report.soil_moisture_month to a month the run covers",
                )
            tiles.append(
                ({v: sel[v].mean("time").values for v in LAYERS}, ds["x"].values, ds["y"].values)
            )
    res = float(abs(tiles[0][1][1] - tiles[0][1][0]))
    x0 = min(float(x.min()) for _, x, _ in tiles) - res / 2
    x1 = max(float(x.max()) for _, x, _ in tiles) + res / 2
    y0 = min(float(y.min()) for _, _, y in tiles) - res / 2
    y1 = max(float(y.max()) for _, _, y in tiles) + res / 2
    shape = (round((y1 - y0) / res), round((x1 - x0) / res))
    out = {v: np.full(shape, np.nan, np.float32) for v in LAYERS}
    for means, x, y in tiles:
        cols = np.round((x - x0 - res / 2) / res).astype(int)
        rows = np.round((y1 - res / 2 - y) / res).astype(int)
        for v in LAYERS:
            out[v][np.ix_(rows, cols)] = means[v]
    return out, (x0, x1, y0, y1)


def soil_moisture_map(
    paths: Sequence[str | Path],
    out: str | Path,
    *,
    month: int = 7,
    title: str = "",
    context: MapContext | None = None,
    dpi: int = 110,
) -> Path:
    """PNG with the monthly-mean surface and root-zone soil moisture over all tiles (m3/m3),
    with a degree graticule and, given a ``context``, tile outlines and a locator."""
    means, extent = mosaic_monthly_mean(paths, month)
    values = np.concatenate([m[np.isfinite(m)] for m in means.values()])
    lo, hi = (
        (float(np.percentile(values, 2)), float(np.percentile(values, 98)))
        if values.size
        else (0.0, 0.5)
    )
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), layout="constrained")
    for ax, var in zip(axes, LAYERS, strict=True):
        image = ax.imshow(
            means[var],
            extent=extent,
            cmap=plt.get_cmap("YlGnBu").with_extremes(bad="white"),
            vmin=lo,
            vmax=hi,
            interpolation="nearest",
        )
        ax.set_title(panel_title(var, month), fontsize=10)
        bounds = (extent[0], extent[2], extent[1], extent[3])
        add_context(ax, bounds, context.tiles.crs if context else ALBERS, context)
        add_scale_bar(ax, extent[1] - extent[0])
    fig.colorbar(image, ax=axes, shrink=0.8, extend="both").set_label(VARIABLE)
    if title:
        fig.suptitle(title)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return Path(out)
