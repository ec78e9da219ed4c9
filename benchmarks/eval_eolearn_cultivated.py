"""Cultivated land vs other on real Sentinel-2 NDVI (eo-learn patch), spatially blocked split.

The factory's chain on real cloudy data: HANTS (library defaults: 365-day period, 3
frequencies, reject low) fitted per pixel to all 68 dates (2015-07 .. 2017-12, cloud
mask CLM / IS_DATA given; 39.5 % of samples cloudy), with time in days since
2017-01-01; the feature stack of 2017 (harmonics, monthly medians of 2017's clear
samples, phenology; agrifactory.timeseries.features) plus the HANTS curve on the 46
8-day dates of 2017 (the classifiers' ``hants_doy*`` bands); the cropland product's
model (LightGBM, library defaults, 1 thread).

Labels: LULC (0 none - left out, 1 cultivated, 2 forest, 3 grassland, 4 shrubland,
8 artificial). Two tasks:

* ``cultivated``: LULC 1 vs the other classes (as asked; only 11 pixels are cultivated);
* ``agricultural``: LULC 1 and 3 (cultivated land and the permanent meadows) vs forest,
  shrubland and artificial surfaces.

Splits: 4 x 4 spatial blocks (25 x 25 px), 4 folds, block (i, j) in fold (i + j) mod 4,
whole blocks in train or test; and, for contrast, 4 random pixel folds. OA, Kappa and
the positive class's UA / PA / F1 of the pooled out-of-fold predictions, with the
majority-class OA as the baseline measured on the same pixels (and the ratio of
the two).

    PYTHONPATH=src python benchmarks/eval_eolearn_cultivated.py [../shared/data/eolearn_patch]
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.classify.accuracy import (
    confusion_matrix,
    f1_scores,
    kappa,
    overall_accuracy,
    producers_accuracy,
    users_accuracy,
)
from agrifactory.classify.evaluation import block_folds, grouped_predictions
from agrifactory.classify.models import LightGBMClassifier
from agrifactory.timeseries.features import feature_stack
from agrifactory.timeseries.hants import hants_fit
from agrifactory.timeseries.sample_data import read_eolearn_patch
from agrifactory.timeseries.timeaxis import days_since

REPO = Path(__file__).resolve().parents[1]
YEAR = 2017
TASKS = {"cultivated": (1,), "agricultural": (1, 3)}


def features(folder: Path) -> tuple[np.ndarray, list[str], np.ndarray]:
    """``X (pixels, features)``, feature names and the LULC labels (row-major pixels)."""
    s = read_eolearn_patch(folder)
    origin = dt.date(YEAR, 1, 1)
    dates = [d.date() for d in s.dates]
    fit = hants_fit(s.ndvi, days_since(dates, origin), mask=s.cloud)
    in_year = [i for i, d in enumerate(dates) if d.year == YEAR]
    clear = np.where(s.cloud[in_year], np.nan, s.ndvi[in_year])
    stack = feature_stack(
        clear, [dates[i] for i in in_year], fit.coefficients, base_period=365.0, year=YEAR
    )
    eight_day = [origin + dt.timedelta(days=8 * k) for k in range(46)]
    curve = fit.reconstruct(days_since(eight_day, origin))
    data = np.concatenate([stack.data, curve.astype(np.float32)])
    names = list(stack.names) + [f"hants_doy{d.timetuple().tm_yday:03d}" for d in eight_day]
    lulc = np.load(folder / "mask_timeless" / "LULC.npy")[..., 0].astype(np.int64)
    return data.reshape(len(names), -1).T, names, lulc


def scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    cm = confusion_matrix(y, pred, [0, 1])
    return {
        "OA": overall_accuracy(cm),
        "kappa": kappa(cm),
        "UA_pos": users_accuracy(cm)[1],
        "PA_pos": producers_accuracy(cm)[1],
        "F1_pos": f1_scores(cm)[1],
        "majority_OA": max(np.mean(y == 0), np.mean(y == 1)),
    }


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared/data/eolearn_patch"
    t0 = time.perf_counter()
    X, names, lulc = features(folder)
    print(
        f"features: {X.shape[1]} per pixel, {X.shape[0]} pixels ({time.perf_counter() - t0:.1f} s)"
    )
    labelled = lulc.ravel() > 0
    blocked = block_folds(lulc.shape, blocks=4, folds=4).ravel()
    rng = np.random.default_rng(0)
    random_folds = rng.permutation(np.arange(lulc.size) % 4)
    rows = []
    for task, positive in TASKS.items():
        y = np.isin(lulc.ravel(), positive).astype(np.int64)[labelled]
        for split, fold in (("blocked 4x4", blocked), ("random pixels", random_folds)):
            t1 = time.perf_counter()
            pred, per_fold = grouped_predictions(
                lambda: LightGBMClassifier(num_threads=1), X[labelled], y, fold[labelled]
            )
            rows.append(
                {
                    "task": task,
                    "split": split,
                    "n": int(labelled.sum()),
                    "n_pos": int(y.sum()),
                    **scores(y, pred),
                    "constant_folds": int(per_fold["constant"].sum()),
                    "seconds": time.perf_counter() - t1,
                }
            )
            print(per_fold.assign(task=task, split=split).to_string(index=False))
    table = pd.DataFrame(rows)
    table["OA_over_majority"] = table["OA"] / table["majority_OA"]
    with pd.option_context("display.width", 200, "display.precision", 4):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
