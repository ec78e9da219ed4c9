"""Crop-type models compared by 5-fold CV on a run's training split (no validation points).

Usage: ``PYTHONPATH=src python benchmarks/eval_croptype_cv.py [results] [--draws N]``. Reads
``results/training/2021/training_set.parquet`` of a finished demo run and prints the
pooled CV overall accuracy of LightGBM (every feature, every feature but the NBR, NDTI
and GRVI composites, ``monthly_*``, ``monthly_*`` + ``hants_*``), of the 2-D CNN
(``monthly_*``) and of the ensemble of LightGBM (every feature) and the 2-D CNN (the
product's model since 2026-12-07), per region and with regions pooled, for each of
``--draws`` fold draws (seeds 0, 1, ...).
The numbers in docs/classification.md ("Choosing the crop-type model") come from it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from agrifactory.classify.models import make_model

META = ["sample_id", "tile_id", "region", "x", "y", "split", "cropland", "irrigation", "croptype"]


def cv_oa(
    train: pd.DataFrame, kind: str, features: list[str], pooled: bool, draw: int = 0
) -> float:
    """Pooled 5-fold CV overall accuracy (folds drawn with seed ``draw``, models fitted
    with seed 0), per region unless ``pooled``."""
    groups = [train] if pooled else [g for _, g in train.groupby("region")]
    right = n = 0
    for g in groups:
        y = np.asarray(g["croptype"].astype(int))
        X = g[features]
        for a, b in StratifiedKFold(5, shuffle=True, random_state=draw).split(X, y):
            model = make_model(kind, {"num_threads": 1})
            model.fit(X.iloc[a], y[a], seed=0)
            right += int((np.asarray(model.predict(X.iloc[b])) == y[b]).sum())
            n += len(b)
    return right / n


def main(results: Path, draws: int = 1) -> None:
    table = pd.read_parquet(results / "training/2021/training_set.parquet")
    crop = table[table["croptype"].notna() & (table["croptype"] != "")]
    train = crop[crop["split"] == "train"]
    feats = [c for c in table.columns if c not in META]
    monthly = [c for c in feats if c.startswith("monthly_")]
    cases = [
        ("lightgbm", "every feature", feats),
        ("lightgbm", "monthly_*", monthly),
        (
            "lightgbm",
            "monthly_* + hants_*",
            [c for c in feats if c.startswith(("monthly_", "hants_"))],
        ),
        ("cnn2d", "monthly_*", monthly),
        ("ensemble", "lightgbm + cnn2d", feats),
    ]
    new = ("monthly_nbr_", "monthly_ndti_", "monthly_grvi_")
    if any(c.startswith(new) for c in feats):
        older = [c for c in feats if not c.startswith(new)]
        cases.insert(1, ("lightgbm", "all but nbr, ndti, grvi", older))
    print(f"{len(train)} training points, {draws} fold draw(s)")
    for kind, label, features in cases:
        for draw in range(draws):
            per_region = cv_oa(train, kind, features, pooled=False, draw=draw)
            pooled = cv_oa(train, kind, features, pooled=True, draw=draw)
            print(
                f"{kind:9s} {label:24s} draw {draw}  per region {per_region:.3f}  "
                f"pooled {pooled:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="?", default="results", type=Path)
    parser.add_argument("--draws", type=int, default=1, help="fold draws (seeds 0, 1, ...)")
    args = parser.parse_args()
    main(args.results, args.draws)
