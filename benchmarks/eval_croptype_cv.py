"""Crop-type models compared by 5-fold CV on a run's training split (no validation points).

Usage: ``PYTHONPATH=src python benchmarks/eval_croptype_cv.py [results]``. Reads
``results/training/2021/training_set.parquet`` of a finished demo run and prints the
pooled CV overall accuracy of LightGBM (every feature, ``monthly_*``, ``monthly_*`` +
``hants_*``) and of the 2-D CNN (``monthly_*``), per region and with regions pooled.
The numbers in docs/classification.md ("Choosing the crop-type model") come from it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from agrifactory.classify.models import make_model

META = ["sample_id", "tile_id", "region", "x", "y", "split", "cropland", "irrigation", "croptype"]


def cv_oa(train: pd.DataFrame, kind: str, features: list[str], pooled: bool) -> float:
    """Pooled 5-fold CV overall accuracy (seed 0), per region unless ``pooled``."""
    groups = [train] if pooled else [g for _, g in train.groupby("region")]
    right = n = 0
    for g in groups:
        y = np.asarray(g["croptype"].astype(int))
        X = g[features]
        for a, b in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
            model = make_model(kind, {"num_threads": 1})
            model.fit(X.iloc[a], y[a], seed=0)
            right += int((np.asarray(model.predict(X.iloc[b])) == y[b]).sum())
            n += len(b)
    return right / n


def main(results: Path) -> None:
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
    ]
    print(f"{len(train)} training points")
    for kind, label, features in cases:
        per_region = cv_oa(train, kind, features, pooled=False)
        pooled = cv_oa(train, kind, features, pooled=True)
        print(f"{kind:9s} {label:22s} per region {per_region:.3f}  pooled {pooled:.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "results"))
