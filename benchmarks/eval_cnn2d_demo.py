"""The crop-type models side by side on the demo's samples, with stand-in monthly
composites built from a finished demo run's Landsat ingest stacks.

Until the ``composites`` rule runs in the demo, this builds ``monthly_{band}_{MM}``
for the bands the ingest writes today (blue, red, nir, ndvi) and EVI from them: per
pixel and calendar month of the year, the median of the clear observations
(quality ``mask.tif`` = 0), NaN in a month without one (no gap filling). The values
are taken at the training table's sample points and appended to it; then each
model is trained per region on the training samples and scored on the validation
samples (``fit_product``, as the ``train_croptype`` rule does), once per seed; the
table gives the mean over the seeds and, for OA, the range.

    PYTHONPATH=src python benchmarks/eval_cnn2d_demo.py [RESULTS] [--year 2021] [--seeds 2021 1 2]

RESULTS: the results folder of a finished demo run (default /work/base/results).
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # one core, before NumPy loads BLAS

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import rasterio  # noqa: E402

from agrifactory.classify.dataset import fit_product  # noqa: E402

BANDS = ("blue", "red", "nir", "ndvi")
MODELS = {
    "cnn1d on ndvi_med_* (product today)": ("cnn1d", ["ndvi_med_*"], {}),
    "lightgbm on every feature": ("lightgbm", None, {}),
    "lightgbm on monthly_*": ("lightgbm", ["monthly_*"], {}),
    "cnn2d on monthly_*": ("cnn2d", ["monthly_*"], {}),
    "cnn2d on monthly_* + month augmentation": (
        "cnn2d",
        ["monthly_*"],
        {"augment_shift": 1, "augment_dropout": 0.1, "augment_scale": 0.1},
    ),
}


def monthly_stack(folder: Path, year: int) -> tuple[np.ndarray, list[str], rasterio.Affine]:
    """``(bands x 12, rows, cols)`` monthly medians of clear observations, and names."""
    with rasterio.open(folder / "quality/mask.tif") as src:
        clear = src.read() == 0
        dates = pd.to_datetime(list(src.descriptions))
        transform = src.transform
    cubes = {}
    for band in BANDS:
        with rasterio.open(folder / f"ingest/landsat_{band}.tif") as src:
            assert list(pd.to_datetime(list(src.descriptions))) == list(dates)
            cubes[band] = np.where(clear, src.read(), np.nan)
    b, r, n = cubes["blue"], cubes["red"], cubes["nir"]
    with np.errstate(divide="ignore", invalid="ignore"):
        cubes["evi"] = 2.5 * (n - r) / (n + 6 * r - 7.5 * b + 1)
    out, names = [], []
    for band, cube in cubes.items():
        for month in range(1, 13):
            pick = (dates.year == year) & (dates.month == month)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN months
                out.append(np.nanmedian(cube[pick], axis=0) if pick.any() else cube[0] * np.nan)
            names.append(f"monthly_{band}_{month:02d}")
    return np.stack(out), names, transform


def with_monthly(table: pd.DataFrame, results: Path, year: int) -> pd.DataFrame:
    parts = []
    for tile, rows in table.groupby("tile_id"):
        data, names, transform = monthly_stack(results / "tiles" / tile / str(year), year)
        cols, rws = ~transform * (rows["x"].to_numpy(), rows["y"].to_numpy())
        values = data[:, np.floor(rws).astype(int), np.floor(cols).astype(int)].T
        parts.append(pd.DataFrame(values, columns=names, index=rows.index))
    return table.join(pd.concat(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="/work/base/results", type=Path)
    parser.add_argument("--year", type=int, default=2021)
    parser.add_argument("--seeds", type=int, nargs="+", default=[2021, 1, 2])
    args = parser.parse_args()
    table = pd.read_parquet(args.results / f"training/{args.year}/training_set.parquet")
    table = with_monthly(table, args.results, args.year)
    crop = table[table["croptype"].notna()]
    monthly = [c for c in table.columns if c.startswith("monthly_")]
    missing = crop[monthly].isna().to_numpy().reshape(len(crop), len(BANDS) + 1, 12)[:, 0]
    print(f"crop-type samples {len(crop)}; months without a clear value per sample: ", end="")
    print(f"mean {missing.sum(axis=1).mean():.1f}, share per month {missing.mean(axis=0).round(2)}")
    rows = []
    for label, (kind, features, params) in MODELS.items():
        for region in sorted(table["region"].unique()):
            for seed in args.seeds:
                t0 = time.process_time()
                _, report, _ = fit_product(
                    table, "croptype", region, kind=kind, params=params, features=features,
                    seed=seed, min_count=3,
                )  # fmt: skip
                value = report.set_index(["metric", "class_code"])["value"]
                rows.append({
                    "model": label, "region": region, "n": int(report["n"].iloc[0]),
                    "OA": value[("overall_accuracy", -1)], "kappa": value[("kappa", -1)],
                    "macro_F1": value[("macro_f1", -1)], "fit_cpu_s": time.process_time() - t0,
                })  # fmt: skip
    runs = pd.DataFrame(rows).groupby(["model", "region", "n"], sort=False)
    summary = runs.mean().assign(OA_min=runs["OA"].min(), OA_max=runs["OA"].max())
    print(summary.reset_index().to_string(index=False, float_format="%.3f"))


if __name__ == "__main__":
    main()
