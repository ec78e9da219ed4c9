"""Training and prediction time of the 2-D CNN (kind ``cnn2d``) at the demo's size.

A synthetic set of the demo's size, not the demo itself: 2,000 training and 600
validation samples x 9 bands x 12 months (``monthly_{band}_{MM}``), 6 crop classes
whose NDVI peaks in a class month (jittered by up to half a month per sample,
0.04 noise), reflectances and indices derived from it, 10 % of the (sample, month) cells
missing (NaN, every band). The validation accuracies only show that each model
learns the set; they say nothing of the demo. Everything on one CPU thread; times
are wall clock and CPU time of the process (the CPU time is what an unshared core
would take); the prediction time is for one 500 x 500 px tile (the demo's 15 km
tiles).

    PYTHONPATH=src python benchmarks/bench_cnn2d.py [--train 2000] [--pixels 250000]
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # one core, before NumPy loads BLAS

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from agrifactory.classify.models import make_model  # noqa: E402

BANDS = ("blue", "green", "red", "nir", "swir1", "swir2", "ndvi", "ndwi", "evi")
NAMES = [f"monthly_{b}_{m:02d}" for b in BANDS for m in range(1, 13)]
PEAKS = (5.0, 6.0, 7.0, 7.5, 8.5, 9.5)  # a month per class; 7 and 7.5 overlap


def synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(PEAKS), n)
    peak = np.asarray(PEAKS)[y] + rng.uniform(-0.5, 0.5, n)
    months = np.arange(1, 13)[None, :]
    ndvi = 0.15 + 0.6 * np.exp(-0.5 * ((months - peak[:, None]) / 1.3) ** 2)
    ndvi += rng.normal(0, 0.04, ndvi.shape)
    red = 0.25 - 0.25 * ndvi
    nir = 0.15 + 0.35 * ndvi
    bands = {
        "blue": 0.6 * red + 0.02, "green": 0.8 * red + 0.03, "red": red, "nir": nir,
        "swir1": 0.3 - 0.15 * ndvi, "swir2": 0.25 - 0.15 * ndvi, "ndvi": ndvi,
        "ndwi": (nir - (0.3 - 0.15 * ndvi)) / (nir + 0.3 - 0.15 * ndvi), "evi": 0.8 * ndvi,
    }  # fmt: skip
    cube = np.stack([bands[b] for b in BANDS], axis=1)  # (n, 9, 12)
    cube += rng.normal(0, 0.01, cube.shape)
    gone = rng.random((n, 12)) < 0.10
    cube[np.broadcast_to(gone[:, None, :], cube.shape)] = np.nan
    return pd.DataFrame(cube.reshape(n, -1), columns=NAMES), y


def timed(label: str, model, X, y, Xv, yv) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(X, y, seed=0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    oa = float((model.predict(Xv) == yv).mean())
    size = f", {model.n_weights():,} weights" if hasattr(model, "n_weights") else ""
    print(f"{label:38s} fit {wall:6.1f} s wall {cpu:6.1f} s CPU   validation OA {oa:.3f}{size}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--pixels", type=int, default=250_000)
    args = parser.parse_args()
    X, y = synthetic(args.train, 0)
    Xv, yv = synthetic(600, 1)
    aug = {"augment_shift": 1, "augment_dropout": 0.1, "augment_scale": 0.1}
    cnn2d = make_model("cnn2d", {"num_threads": 1})
    timed("cnn2d (defaults)", cnn2d, X, y, Xv, yv)
    timed(
        "cnn2d + month augmentation", make_model("cnn2d", {"num_threads": 1, **aug}), X, y, Xv, yv
    )
    timed("lightgbm (same features, NaN kept)", make_model("lightgbm"), X, y, Xv, yv)
    ndvi = [n for n in NAMES if n.startswith("monthly_ndvi_")]
    filled = X[ndvi].interpolate(axis=1, limit_direction="both")
    filled_v = Xv[ndvi].interpolate(axis=1, limit_direction="both")
    timed("cnn1d (NDVI only, gaps interpolated)", make_model("cnn1d", {"num_threads": 1}),
          filled, y, filled_v, yv)  # fmt: skip
    pixels, _ = synthetic(args.pixels, 2)
    t0, c0 = time.perf_counter(), time.process_time()
    cnn2d.predict_proba(pixels)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"cnn2d prediction of {args.pixels:,} pixels: {wall:.1f} s wall {cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
