"""Quicklook: a PNG strip of scenes, each titled with its date and score."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

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
    """
    if len(images) != len(titles):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    if not images:
        raise ValueError("no images to draw")
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(panel_inches * ncols, (panel_inches + 0.45) * nrows), squeeze=False
    )
    cm = plt.get_cmap(cmap).with_extremes(bad="0.6")
    for k, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.axis("off")
            continue
        img = np.asarray(images[k])
        if img.ndim == 2:
            ax.imshow(
                np.ma.masked_invalid(img), vmin=vmin, vmax=vmax, cmap=cm, interpolation="nearest"
            )
        else:
            ax.imshow(np.clip(np.nan_to_num(img), 0, 1), interpolation="nearest")
        ax.set_title(titles[k], fontsize=7)
        if highlight is not None and highlight[k]:
            for spine in ax.spines.values():
                spine.set_edgecolor("tab:blue")
                spine.set_linewidth(3)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return Path(path)


def scene_titles(
    dates: Sequence[object], scores: Sequence[float], extra: Sequence[str] | None = None
) -> list[str]:
    """Panel titles ``"<date>\\nscore 0.82"`` (plus an optional third line each)."""
    titles = [f"{d}\nscore {s:.2f}" for d, s in zip(dates, scores, strict=True)]
    if extra is not None:
        titles = [f"{t}\n{e}" for t, e in zip(titles, extra, strict=True)]
    return titles
