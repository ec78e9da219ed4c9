"""HANTS speed: batched (all pixels of a tile together) vs the per-series loop baseline.

46 dates (the 8-day grid of a year), 3 frequencies, default parameters (reject low,
single worst per round). Synthetic tile with realistic clouds: blobs covering 0-60 %
of the tile on about half the dates; 90 % of cloudy samples are masked, 10 % slip
through as low dips; 1 % NaN. Both are timed in this run on one CPU thread; the
baseline runs on a subset of the same series (it is too slow for the whole tile).
Best of --repeat runs for the batched fit, best of 2 for the loop.

    PYTHONPATH=src python benchmarks/bench_hants.py [--size 256] [--loop 1500] [--repeat 3]
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # one core, before NumPy loads BLAS

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

from agrifactory.backend import gpu_available  # noqa: E402
from agrifactory.timeseries.hants import HantsParams, hants_fit  # noqa: E402
from agrifactory.timeseries.hants_reference import hants_fit_loop  # noqa: E402


def synthetic_tile(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(46) * 8.0
    sos = rng.uniform(90, 150, (size, size))
    eos = sos + rng.uniform(80, 160, (size, size))
    base, amp = rng.uniform(0.1, 0.3, (size, size)), rng.uniform(0.2, 0.6, (size, size))
    tt = t[:, None, None]
    y = base + amp * (1 / (1 + np.exp(-0.08 * (tt - sos))) - 1 / (1 + np.exp(-0.08 * (tt - eos))))
    y += 0.02 * rng.standard_normal(y.shape)
    cloud = np.zeros(y.shape, bool)
    for i in range(46):
        if rng.random() < 0.5:
            field = ndimage.gaussian_filter(rng.standard_normal((size, size)), size / 16)
            cloud[i] = field > np.quantile(field, 1 - rng.uniform(0, 0.6))
    y[cloud] -= rng.uniform(0.1, 0.4, cloud.sum())
    mask = cloud & (rng.random(y.shape) < 0.9)
    y[rng.random(y.shape) < 0.01] = np.nan
    return y.astype(np.float32), mask, t


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256, help="tile edge in pixels")
    ap.add_argument("--loop", type=int, default=1500, help="series timed with the loop")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    y, mask, t = synthetic_tile(args.size)
    n = y.shape[1] * y.shape[2]
    params = HantsParams()
    shared = (~mask & np.isfinite(y)).all(axis=0).mean()
    print(
        f"{n} series of 46 dates, 3 frequencies; {mask.mean():.1%} of samples masked, "
        f"{shared:.1%} of series without any masked sample"
    )

    result = hants_fit(y, t, mask=mask, params=params)
    print(f"mean rejected samples per series: {result.n_outliers.mean():.2f}")
    t_batch = best_time(lambda: hants_fit(y, t, mask=mask, params=params), args.repeat)
    rate_batch = n / t_batch

    sub = np.s_[:, : args.loop // args.size + 1, :]
    n_loop = y[sub].shape[1] * y[sub].shape[2]
    t_loop = best_time(lambda: hants_fit_loop(y[sub], t, mask=mask[sub], params=params), 2)
    rate_loop = n_loop / t_loop
    print(f"batched NumPy (1 thread): {rate_batch:12,.0f} series/s  ({t_batch:.3f} s for {n})")
    print(f"per-series loop baseline: {rate_loop:12,.0f} series/s  ({t_loop:.3f} s for {n_loop})")
    print(f"ratio batched / loop: {rate_batch / rate_loop:.0f}x")

    if gpu_available():
        import cupy

        yg, mg = cupy.asarray(y), cupy.asarray(mask)

        def on_gpu():
            hants_fit(yg, t, mask=mg, params=params)
            cupy.cuda.Device().synchronize()

        on_gpu()  # warm-up: kernel compilation
        t_gpu = best_time(on_gpu, args.repeat)
        print(f"batched CuPy (GPU):       {n / t_gpu:12,.0f} series/s  ({t_gpu:.3f} s for {n})")
        print(
            f"ratio GPU / loop: {n / t_gpu / rate_loop:.0f}x; GPU / batched CPU: "
            f"{t_batch / t_gpu:.1f}x"
        )
    else:
        print("no GPU: CuPy timing skipped")


if __name__ == "__main__":
    main()
