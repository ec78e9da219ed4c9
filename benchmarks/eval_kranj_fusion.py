"""ESTARFM on real Landsat 8 + MODIS (Kranj, Slovenia): predict Landsat of 2020 DOY 077.

Data: the example data of the R package ImageFusion (J. Mast; BSD-3) in
``../shared/data/fusion_kranj``: 45 x 44 px at 30 m, 6 bands in the order of Landsat 8
OLI bands 2-7 (blue, green, red, NIR, SWIR1, SWIR2; the MODIS files in the same
order), Landsat reflectance x 10000, MODIS reflectance 0-1 resampled to the 30 m grid.

Experiment: the base pairs of DOY 068 and 093 (gap-filled Landsat + MODIS of the same
day) and MODIS 077 predict Landsat 077 with the factory's ESTARFM (authors' defaults,
valid range [0, 1] for reflectance). Both sensors are put on reflectance 0-1. Compared,
per band, with the real Landsat 077 (gap-filled: all pixels; unfilled: its valid pixels
only) beside two baselines computed in the same run:

* ``baseline``: Landsat 068 + (MODIS 077 - MODIS 068), the one-pair change;
* ``two-pair``: the same change from each base pair, weighted by nearness in time
  (0.64 x the 068 prediction + 0.36 x the 093 one): the inputs ESTARFM gets.

Prints the table of Pearson r and mean absolute difference (MAD) and writes
``docs/figures/real_kranj_fusion.png``. Usage, from the repository root::

    PYTHONPATH=src python benchmarks/eval_kranj_fusion.py [../shared/data/fusion_kranj]
"""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.errors import InputError
from agrifactory.fusion import EstarfmParams, agreement, fuse
from agrifactory.io.raster import read_raster

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "fusion_kranj"
FIGURE = REPO / "docs" / "figures" / "real_kranj_fusion.png"

YEAR = 2020
BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")
BASE_DOYS = (68, 93)
TARGET_DOY = 77
#: Landsat files hold reflectance x 10000; MODIS files reflectance 0-1.
LANDSAT_SCALE = 10_000.0
#: The authors' defaults on reflectance 0-1 (the change threshold for V becomes 0.02).
PARAMS = EstarfmParams(valid_range=(0.0, 1.0), background=None)
METHODS = ("ESTARFM", "baseline", "two-pair")


def _one_file(folder: Path, pattern: str) -> Path:
    matches = sorted(folder.glob(pattern))
    if len(matches) != 1:
        raise InputError(
            folder / pattern,
            f"{len(matches)} files match, expected exactly one",
            "point the script at the fusion_kranj folder of ../shared/data",
        )
    return matches[0]


def landsat_path(folder: Path, doy: int, *, filled: bool = True) -> Path:
    """The Landsat file of day-of-year ``doy`` (``landsat/filled`` or ``landsat/unfilled``)."""
    kind = "filled" if filled else "unfilled"
    return _one_file(folder / "landsat" / kind, f"{YEAR}{doy:03d}_*.tif")


def modis_path(folder: Path, doy: int) -> Path:
    """The MODIS file of day-of-year ``doy`` (``modis/filled``)."""
    return _one_file(folder / "modis" / "filled", f"{YEAR}{doy:03d}_*.tif")


def read_landsat(folder: Path, doy: int, *, filled: bool = True) -> np.ndarray:
    """Landsat reflectance 0-1, (6, rows, cols) float64, NaN in the gaps."""
    data, _ = read_raster(landsat_path(folder, doy, filled=filled))
    return data.astype(np.float64) / LANDSAT_SCALE


def read_modis(folder: Path, doy: int) -> np.ndarray:
    """MODIS reflectance 0-1, (6, rows, cols) float64."""
    data, _ = read_raster(modis_path(folder, doy))
    return data.astype(np.float64)


def change_prediction(fine: np.ndarray, coarse: np.ndarray, coarse0: np.ndarray) -> np.ndarray:
    """One base pair's fine image shifted by the coarse change to the target date."""
    return fine + (coarse0 - coarse)


@dataclass(frozen=True)
class KranjRun:
    """The truths of DOY 077, each method's prediction of it and ESTARFM's QA flags."""

    truth: np.ndarray
    truth_unfilled: np.ndarray
    predictions: dict[str, np.ndarray]
    qa: np.ndarray


def run(folder: Path) -> KranjRun:
    """Fuse DOY 077 from the pairs 068 and 093 and compute the baselines."""
    f1, f2 = (read_landsat(folder, d) for d in BASE_DOYS)
    c1, c2 = (read_modis(folder, d) for d in BASE_DOYS)
    c0 = read_modis(folder, TARGET_DOY)
    estarfm, qa = fuse(f1, c1, f2, c2, c0, PARAMS)
    (d1, d2), d0 = BASE_DOYS, TARGET_DOY
    w1 = (d2 - d0) / (d2 - d1)
    one = change_prediction(f1, c1, c0)
    two = w1 * one + (1 - w1) * change_prediction(f2, c2, c0)
    return KranjRun(
        truth=read_landsat(folder, TARGET_DOY),
        truth_unfilled=read_landsat(folder, TARGET_DOY, filled=False),
        predictions={"ESTARFM": estarfm.astype(np.float64), "baseline": one, "two-pair": two},
        qa=qa,
    )


def scores(result: KranjRun) -> pd.DataFrame:
    """One row per truth, method and band: n, r, MAD, RMSE and bias (prediction - truth)."""
    rows = []
    for truth_name, truth in (("filled", result.truth), ("unfilled", result.truth_unfilled)):
        for method, pred in result.predictions.items():
            for b, band in enumerate(BANDS):
                m = agreement(pred[b], truth[b])
                rows.append({"truth": truth_name, "method": method, "band": band, **m})
    return pd.DataFrame(rows)


def wide_table(table: pd.DataFrame, truth: str) -> pd.DataFrame:
    """Bands as rows, (method, r / mad) as columns, for one truth."""
    sub = table[table["truth"] == truth]
    wide = sub.pivot(index="band", columns="method", values=["r", "mad"])
    wide = wide.swaplevel(axis=1).reindex(
        columns=pd.MultiIndex.from_product([METHODS, ["r", "mad"]])
    )
    return wide.reindex(BANDS)


def _scatter(ax, result: KranjRun, b: int) -> None:
    truth = result.truth[b].ravel()
    for method, color in (("baseline", "tab:orange"), ("ESTARFM", "tab:blue")):
        pred = result.predictions[method][b].ravel()
        m = agreement(pred, truth)
        label = f"{method}: r {m['r']:.3f}, MAD {m['mad']:.4f}"
        ax.scatter(truth, pred, s=2, alpha=0.4, color=color, label=label, rasterized=True)
    lo, hi = float(truth.min()), float(truth.max())
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
    ax.set_xlabel("truth", fontsize=9)
    ax.set_ylabel("prediction", fontsize=9)
    ax.set_title(f"{BANDS[b]}, all {truth.size} pixels", fontsize=9)
    ax.legend(fontsize=7, markerscale=4, loc="upper left")


def figure(result: KranjRun, path: Path, band: str = "red") -> None:
    """Truth, ESTARFM and baseline maps of one band on one scale, and a scatter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b = BANDS.index(band)
    maps = {f"Landsat DOY {TARGET_DOY:03d} (truth)": result.truth[b]}
    maps |= {k: result.predictions[k][b] for k in ("ESTARFM", "baseline")}
    lo, hi = np.nanpercentile(np.stack(list(maps.values())), [1, 99])
    fig, axes = plt.subplots(1, 4, figsize=(11, 2.9), dpi=80, layout="constrained")
    for ax, (title, img) in zip(axes, maps.items(), strict=False):
        im = ax.imshow(img, vmin=lo, vmax=hi, cmap="viridis", interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes[:3], shrink=0.9, label=f"{band} reflectance")
    _scatter(axes[3], result, b)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    t0 = time.perf_counter()
    result = run(folder)
    seconds = time.perf_counter() - t0
    table = scores(result)
    flags, counts = np.unique(result.qa, return_counts=True)
    print(f"{platform.node()}: {seconds:.2f} s (read + ESTARFM, numba compile included)")
    print("ESTARFM QA flags:", dict(zip(flags.tolist(), counts.tolist(), strict=True)))
    with pd.option_context("display.width", 200, "display.precision", 4):
        for truth in ("filled", "unfilled"):
            n = int(table.loc[table["truth"] == truth, "n"].iloc[0])
            print(f"\ntruth: Landsat DOY {TARGET_DOY:03d} {truth}, {n} pixels per band")
            print(wide_table(table, truth).to_string(float_format="{:.4f}".format))
        print("\nbias (prediction - truth), filled truth")
        bias = table[table["truth"] == "filled"].pivot(
            index="band", columns="method", values="bias"
        )
        print(bias.reindex(BANDS)[list(METHODS)].to_string(float_format="{:+.4f}".format))
    figure(result, FIGURE)
    print(f"\nwrote {FIGURE.relative_to(REPO)} ({FIGURE.stat().st_size / 1024:.0f} kB)")


if __name__ == "__main__":
    main()
