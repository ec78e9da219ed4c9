"""Plots of observed versus smoothed series (documentation figures, quick checks)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from agrifactory.io.files import atomic_path


def plot_series_fits(
    path: str | Path,
    obs_dates: Sequence[dt.date],
    obs: np.ndarray,
    outliers: np.ndarray,
    fit_dates: Sequence[dt.date],
    fits: dict[str, np.ndarray],
    titles: Sequence[str],
    ylabel: str = "NDVI",
) -> Path:
    """One panel per series: kept samples, rejected samples and smoothed curves.

    Parameters
    ----------
    path
        Output PNG.
    obs_dates, obs, outliers
        Sample dates and ``(T, k)`` values (NaN = missing) with ``(T, k)`` rejection flags.
    fit_dates, fits
        Dates of the curves and ``{label: (Q, k) array}``.
    titles
        One title per series.
    """
    obs = np.asarray(obs)
    k = obs.shape[1]
    fig = Figure(figsize=(9, 2.3 * k), layout="constrained")
    axes = fig.subplots(k, 1, sharex=True, squeeze=False)[:, 0]
    obs_dates = np.asarray(obs_dates)
    for i, ax in enumerate(axes):
        kept = np.isfinite(obs[:, i]) & ~outliers[:, i]
        rej = np.isfinite(obs[:, i]) & outliers[:, i]
        ax.plot(obs_dates[kept], obs[kept, i], "o", ms=3.5, color="0.25", label="kept sample")
        ax.plot(obs_dates[rej], obs[rej, i], "x", ms=5, color="tab:red", label="rejected (low)")
        for label, curve in fits.items():
            ax.plot(fit_dates, curve[:, i], "-", lw=1.6, label=label)
        ax.set_title(titles[i], fontsize=9, loc="left")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, ncol=4, loc="lower left")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    return Path(path)
