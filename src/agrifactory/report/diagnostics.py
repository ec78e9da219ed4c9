"""Diagnostics of the NDVI chain at sample pixels: observations, fused series, HANTS curve.

For a few validation samples per class (picked with a seed from the run's training set,
never from the demo truth) the figure shows, per sample, the Landsat NDVI that the
quality mask kept, the fused 8-day NDVI marked by its fusion flag and the HANTS curve.
Flag names are read from the flag raster's ``flag_<code>`` tags, so a new flag code
shows up without a change here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.dates import DateFormatter  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from rasterio.windows import Window  # noqa: E402

from agrifactory.errors import InputError  # noqa: E402
from agrifactory.io.files import atomic_path  # noqa: E402
from agrifactory.io.raster import open_stack  # noqa: E402

#: Marker of each fused flag in order of its code (cycled when there are more codes).
FLAG_MARKERS = ("x", "o", "s", "^", "v", "D", "P", "*", "h")
#: Height at which dates without a fused value are marked by their flag.
NO_VALUE_Y = -0.15
#: The files of a tile-year the figure reads: key -> meaning.
SERIES_FILES = {
    "landsat": "ingest landsat_ndvi.tif",
    "mask": "quality mask.tif",
    "fused": "fusion ndvi_8day.tif",
    "flags": "fusion flags.tif",
    "hants": "smooth ndvi_hants.tif",
}


def flag_names(tags: Mapping[str, str]) -> dict[int, str]:
    """``{code: name}`` from a flag raster's ``flag_<code>`` tags, by code."""
    out = {}
    for key, value in tags.items():
        if key.startswith("flag_") and key[5:].isdigit():
            out[int(key[5:])] = str(value)
    return dict(sorted(out.items()))


def pick_samples(
    training: pd.DataFrame, label: str, *, per_class: int = 2, seed: int = 0
) -> pd.DataFrame:
    """``per_class`` validation samples of every class of ``label``, drawn with ``seed``.

    ``training`` is the run's training set (``sample_id, tile_id, x, y, split`` and the
    label columns). A class with fewer validation samples gives all it has. Rows are
    ordered by class code, then sample id.
    """
    need = {"sample_id", "tile_id", "x", "y", "split", label}
    missing = sorted(need - set(training.columns))
    if missing:
        raise ValueError(f"training set lacks column(s) {missing}")
    pool = training[(training["split"] == "validation") & training[label].notna()]
    rng = np.random.default_rng(seed)
    picked = []
    for _, group in pool.sort_values("sample_id").groupby(label, sort=True):
        take = rng.choice(len(group), size=min(per_class, len(group)), replace=False)
        picked.append(group.iloc[np.sort(take)])
    if not picked:
        return pool.iloc[:0][["sample_id", "tile_id", "x", "y", label]]
    out = pd.concat(picked)[["sample_id", "tile_id", "x", "y", label]]
    return out.astype({label: int}).reset_index(drop=True)


def _pixel(path: str | Path, x: float, y: float) -> tuple[np.ndarray, list[dt.date], dict]:
    """Every band's value at map coordinates (x, y), the band dates and the tags."""
    with open_stack(path) as stack:
        col, row = (int(np.floor(v)) for v in ~stack.meta["transform"] * (x, y))
        if not (0 <= row < stack.shape[0] and 0 <= col < stack.shape[1]):
            raise InputError(path, f"point ({x:.0f}, {y:.0f}) lies outside the raster")
        values = stack.read(Window(col, row, 1, 1))[:, 0, 0]
        return values, list(stack.dates or []), stack.meta["tags"]


@dataclass(frozen=True)
class PixelSeries:
    """The NDVI chain at one pixel: kept Landsat observations, fused series with flag
    codes, and the HANTS curve (on the fused dates)."""

    observed_dates: list[dt.date]
    observed: np.ndarray
    dates: list[dt.date]
    fused: np.ndarray
    flags: np.ndarray
    hants: np.ndarray


def pixel_series(files: Mapping[str, str | Path], x: float, y: float) -> PixelSeries:
    """Read one pixel of a tile-year's files (keys of :data:`SERIES_FILES`).

    A Landsat date counts as observed where its NDVI is finite and the quality mask
    is 0 (clear) on the same date.
    """
    ndvi, ndvi_dates, _ = _pixel(files["landsat"], x, y)
    mask, mask_dates, _ = _pixel(files["mask"], x, y)
    clear = dict(zip(mask_dates, mask == 0, strict=True))
    keep = np.array([clear.get(d, False) for d in ndvi_dates], bool) & np.isfinite(ndvi)
    fused, dates, _ = _pixel(files["fused"], x, y)
    flags, _, _ = _pixel(files["flags"], x, y)
    hants, _, _ = _pixel(files["hants"], x, y)
    return PixelSeries(
        observed_dates=[d for d, k in zip(ndvi_dates, keep, strict=True) if k],
        observed=ndvi[keep],
        dates=dates,
        fused=fused,
        flags=flags.astype(int),
        hants=hants,
    )


def _draw(ax, series: PixelSeries, names: Mapping[int, str], seen: dict) -> None:  # noqa: ANN001
    """One sample's panel; ``seen`` collects a legend handle per label drawn."""
    handles = [
        ax.plot(series.dates, series.hants, color="tab:green", lw=1.3, label="HANTS curve")[0],
        ax.plot(
            series.observed_dates, series.observed, "o", color="k", ms=4, label="Landsat (clear)"
        )[0],
    ]
    valued = np.isfinite(series.fused)
    for k, (code, name) in enumerate(names.items()):
        marker = FLAG_MARKERS[k % len(FLAG_MARKERS)]
        for has_value in (True, False):
            at = (series.flags == code) & (valued == has_value)
            if not at.any():
                continue
            dates = [d for d, a in zip(series.dates, at, strict=True) if a]
            values = series.fused[at] if has_value else np.full(at.sum(), NO_VALUE_Y)
            label = f"fused: {name}" + ("" if has_value else " (no value)")
            handles += ax.plot(dates, values, marker, color=f"C{k}", ms=4, mfc="none", label=label)
    for h in handles:
        seen.setdefault(h.get_label(), h)
    ax.set_ylim(-0.2, 1.0)
    ax.grid(alpha=0.3)
    ax.xaxis.set_major_formatter(DateFormatter("%b"))


def _no_samples(out: str | Path, title: str, dpi: int) -> Path:
    """The figure of a run without validation samples: a note instead of panels."""
    fig = Figure(figsize=(6, 1.5))
    fig.text(0.5, 0.5, "No validation sample with a class label: nothing to show.",
             ha="center", va="center")  # fmt: skip
    if title:
        fig.suptitle(title, fontsize=10)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    return Path(out)


def ndvi_diagnostics(
    panels: Sequence[tuple[str, PixelSeries]],
    names: Mapping[int, str],
    out: str | Path,
    *,
    ncols: int = 2,
    title: str = "",
    dpi: int = 90,
) -> Path:
    """A grid of panels, ``ncols`` a row (one row per class): each panel's title and
    series. Fused dates are marked by flag (``names``: code -> name). Without panels the
    figure says so."""
    if not panels:
        return _no_samples(out, title, dpi)
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(5.2 * ncols, 2.2 * nrows + 0.8))
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
    seen: dict = {}
    for ax, (label, series) in zip(axes.flat, panels, strict=False):
        _draw(ax, series, names, seen)
        ax.set_title(label, fontsize=9)
        ax.set_ylabel("NDVI (unitless)", fontsize=8)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.legend(seen.values(), seen.keys(), loc="lower center", ncol=4, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    height = fig.get_figheight()
    fig.tight_layout(rect=(0, 0.45 / height, 1, 1 - 0.1 / height))
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    return Path(out)
