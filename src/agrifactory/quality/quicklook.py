"""Quicklook: a PNG strip of scenes, each titled with its date and score."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from PIL import Image  # noqa: E402

from agrifactory.io.files import atomic_path  # noqa: E402


def quicklook_strip(
    images: Sequence[np.ndarray],
    titles: Sequence[str],
    path: str | Path,
    *,
    highlight: Sequence[bool] | None = None,
    vmin: float = -0.2,
    vmax: float = 0.9,
    cmap: str = "RdYlGn",
    ncols: int = 8,
    panel_inches: float = 1.6,
    suptitle: str | None = None,
    label: str = "NDVI (unitless)",
    dpi: int = 100,
) -> Path:
    """Draw scenes side by side (wrapping after ``ncols``) and write a PNG atomically.

    Parameters
    ----------
    images
        2-D arrays (e.g. NDVI; NaN is drawn grey) or (rows, cols, 3) RGB in 0..1.
    titles
        One title per image, e.g. ``"2021-06-01\\nscore 0.82"``.
    path
        Output ``.png``.
    highlight
        Optional flag per image: flagged panels get a thick blue frame (e.g. the
        scenes chosen as base pairs).
    vmin, vmax, cmap
        Colour scale of 2-D images.
    ncols, panel_inches, suptitle, dpi
        Layout: panels per row, panel size, figure title, resolution.
    label
        Label of the colour bar of the 2-D images (drawn when there are any), beside
        a key of the grey (no value) and, with ``highlight``, the blue frame.
    """
    if len(images) != len(titles):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    if not images:
        raise ValueError("no images to draw")
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_inches * ncols, (panel_inches + 0.6) * nrows),
        squeeze=False,
        layout="constrained",
    )
    cm = plt.get_cmap(cmap).with_extremes(bad="0.6")
    shown = None
    for k, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.axis("off")
            continue
        img = np.asarray(images[k])
        if img.ndim == 2:
            shown = ax.imshow(
                np.ma.masked_invalid(img), vmin=vmin, vmax=vmax, cmap=cm, interpolation="nearest"
            )
        else:
            ax.imshow(np.clip(np.nan_to_num(img), 0, 1), interpolation="nearest")
        ax.set_title(titles[k], fontsize=7)
        if highlight is not None and highlight[k]:
            for spine in ax.spines.values():
                spine.set_edgecolor("tab:blue")
                spine.set_linewidth(3)
    if shown is not None:
        _colour_bar_and_key(fig, axes, shown, label, highlight is not None and any(highlight))
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=dpi, format="png")
    plt.close(fig)
    # A 256-colour palette keeps quicklooks small (NDVI panels compress badly as RGBA).
    image = Image.open(buffer).convert("RGB").quantize(256, dither=Image.Dither.NONE)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", optimize=True)
    return Path(path)


def _colour_bar_and_key(
    fig: plt.Figure, axes: np.ndarray, shown: object, label: str, framed: bool
) -> None:
    bar = fig.colorbar(shown, ax=axes, shrink=0.6, extend="both", aspect=30)
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    key = [Patch(facecolor="0.6", label="no value (masked or no data)")]
    if framed:
        key.append(Patch(facecolor="white", edgecolor="tab:blue", lw=2, label="chosen base pair"))
    fig.legend(handles=key, loc="outside lower center", ncols=len(key), fontsize=7, frameon=False)


def scene_titles(
    dates: Sequence[object], scores: Sequence[float], extra: Sequence[str] | None = None
) -> list[str]:
    """Panel titles ``"<date>\\nscore 0.82"`` (plus an optional third line each)."""
    titles = [f"{d}\nscore {s:.2f}" for d, s in zip(dates, scores, strict=True)]
    if extra is not None:
        titles = [f"{t}\n{e}" for t, e in zip(titles, extra, strict=True)]
    return titles


def scores_quicklook(
    ndvi: np.ndarray,
    table: pd.DataFrame,
    path: str | Path,
    chosen: Iterable[object] = (),
    ncols: int = 8,
) -> Path:
    """The tile's quicklook: every scene's NDVI titled with date and score.

    ``ndvi`` is (scenes, rows, cols) in the order of the scores ``table``; scenes
    whose date is in ``chosen`` (e.g. the dates of the pairs table) get a blue frame.
    """
    chosen_dates = {str(d) for d in chosen if d is not None}
    dates = [str(d) for d in table["date"]]
    return quicklook_strip(
        list(np.asarray(ndvi)),
        scene_titles(dates, table["score"].to_numpy()),
        path,
        highlight=[d in chosen_dates for d in dates],
        ncols=ncols,
        suptitle="NDVI of every scene, with its quality score (blue frame: chosen as a base pair)",
    )
