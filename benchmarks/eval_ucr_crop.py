"""Crop-type models on real NDVI series: UCR "Crop" (7,200 series, 46 dates, 24 classes).

Stratified k-fold cross-validation, all models on the same folds in one run:
1-nearest-neighbour (Euclidean) and LightGBM on the raw values as baselines, and the
factory's 1-D CNN (with and without temporal augmentation). Prints OA and macro-F1
(pooled out-of-fold predictions, and fold mean +- sd), seconds, and the ratios of
each model to the 1-NN baseline.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/eval_ucr_crop.py              # 5 folds, all data
    PYTHONPATH=src python benchmarks/eval_ucr_crop.py --per-class 50 --folds 2   # quick
    PYTHONPATH=src python benchmarks/eval_ucr_crop.py --cnn '{"n_members": 1}'  # other params
    PYTHONPATH=src python benchmarks/eval_ucr_crop.py --fold 0 --cnn ...        # fold 0 only
    PYTHONPATH=src python benchmarks/eval_ucr_crop.py --jobs 2   # two fits at a time
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import platform
import sys
from pathlib import Path

import numpy as np

from agrifactory.classify.cnn import CNNClassifier
from agrifactory.classify.evaluation import (
    NearestNeighbour,
    cross_validate,
    read_ucr_tsv,
    stratified_subset,
)
from agrifactory.classify.models import LightGBMClassifier

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "ucr_crop" / "Crop_TRAIN.tsv"

#: The augmentation tried on top of the CNN (the CropGlobe transforms, mild strengths).
AUGMENT = {"augment_shift": 0.5, "augment_scale": 0.05, "augment_magnitude": 0.05, "augment_p": 0.3}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--fold", type=int, action="append", default=None, help="run only this fold (repeatable)"
    )
    ap.add_argument("--per-class", type=int, default=None, help="stratified subset size per class")
    ap.add_argument("--threads", type=int, default=1, help="threads of each fit")
    ap.add_argument("--jobs", type=int, default=1, help="fits at a time, each in its own process")
    ap.add_argument("--epochs", type=int, default=None, help="override the CNN epochs")
    ap.add_argument(
        "--cnn",
        type=json.loads,
        default={},
        help='CNN params over the defaults, JSON: {"hidden": 64}',
    )
    ap.add_argument("--no-augmented", action="store_true", help="skip the augmented CNN")
    ap.add_argument("--csv", type=Path, default=None, help="write per-fold results here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

    import torch

    torch.set_num_threads(args.threads)
    X, y = read_ucr_tsv(args.data)
    if args.per_class:
        keep = stratified_subset(y, args.per_class, args.seed)
        X, y = X[keep], y[keep]
    cnn = {**args.cnn, "num_threads": args.threads}
    if args.epochs:
        cnn["epochs"] = args.epochs
    models = {
        "1-NN (Euclidean)": NearestNeighbour,
        "LightGBM (raw values)": functools.partial(LightGBMClassifier, num_threads=args.threads),
        "CNN": functools.partial(CNNClassifier, **cnn),
    }
    if not args.no_augmented:
        models["CNN + augmentation"] = functools.partial(CNNClassifier, **cnn, **AUGMENT)
    print(
        f"UCR Crop: {len(y)} series x {X.shape[1]} dates, {len(np.unique(y))} classes; "
        f"{args.folds}-fold stratified CV, seed {args.seed}, {args.threads} thread(s) per "
        f"fit, {args.jobs} fit(s) at a time; "
        f"python {platform.python_version()}, torch {torch.__version__}"
    )
    per_fold, summary = cross_validate(
        models, X, y, folds=args.folds, seed=args.seed, only=args.fold, jobs=args.jobs
    )
    if args.csv:
        per_fold.to_csv(args.csv, index=False)
    base = summary.set_index("model").loc["1-NN (Euclidean)"]
    summary["oa_vs_1nn"] = summary["overall_accuracy"] / base["overall_accuracy"]
    summary["f1_vs_1nn"] = summary["macro_f1"] / base["macro_f1"]
    summary["time_vs_1nn"] = summary["seconds"] / base["seconds"]
    summary["s_per_fit"] = summary["seconds"] / (len(args.fold) if args.fold else args.folds)
    with np.printoptions(precision=4):
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(per_fold.pivot(index="model", columns="fold", values="overall_accuracy").round(4))
    best = summary.sort_values("overall_accuracy", ascending=False)["model"].iloc[0]
    print(f"best by OA: {best}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
