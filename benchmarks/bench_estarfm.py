"""ESTARFM speed: the fast back ends against the per-pixel baseline, measured in one run.

(a) The BOREAS experiment (400 x 400 px, 3 bands, w = 25, reference layout): the CPU
    back end's ``fuse`` against the per-pixel reference (timed on a pixel subset and
    reported as pixels per second). Goal: >= 50x.
(b) One 1000 x 1000 NDVI tile x 46 target dates (synthetic, MODIS blocky 8 x 8 px):
    ``prepare`` once + ``predict`` per date on the CPU and, when a GPU is usable, with
    CuPy; baseline: ``fuse`` once per date on the CPU (timed for a few dates and
    scaled to the year). Goals on an H100: <= 1 s per tile-year, >= 100x the CPU.

Times are CPU seconds of this process (``time.process_time``) next to wall-clock
seconds; with one thread (the default here) the CPU seconds are the better measure on
a shared machine. With ``--threads 2`` the CPU seconds add up both threads, so the
wall-clock ratio is the one that shows what the second thread buys. Run from the repository root:

    PYTHONPATH=src python benchmarks/bench_estarfm.py [--threads 1] [--size 1000] [--dates 46]
        [--repeat 1] [--skip a|b]

With ``--repeat N`` each part runs N times and the median and range are printed (the
machine these figures come from is shared, so single runs scatter).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numba
import numpy as np

from agrifactory.backend import gpu_available
from agrifactory.fusion import EstarfmParams, coarse_cell_labels, fuse, predict, prepare
from agrifactory.fusion.reference import fuse_reference

BOREAS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "estarfm_boreas"


class Clock:
    """Process CPU time and wall time of a block."""

    def __enter__(self) -> Clock:
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = time.process_time() - self.cpu
        self.wall = time.perf_counter() - self.wall


def _spread(values: list[float], fmt: str = "{:.1f}") -> str:
    """Median and range of repeated measurements."""
    med = float(np.median(values))
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} (range {fmt.format(min(values))}-{fmt.format(max(values))})"


def bench_boreas(subset_rows: int, repeat: int) -> None:
    import rasterio

    if not BOREAS.is_dir():
        print(f"(a) skipped: {BOREAS} is absent")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        images = []
        for name in ("tm0524", "modis0524", "tm0812", "modis0812", "modis0711"):
            with rasterio.open(BOREAS / name) as src:
                images.append(src.read().astype(np.float64))
    params = EstarfmParams(layout="reference")
    npx = images[0].shape[1] * images[0].shape[2]
    fuse(*(a[:, :60, :60] for a in images), params)  # compile (or load the cache) first
    rows = images[0].shape[1]
    step = rows // subset_rows
    region = (slice(step // 2, rows, step), slice(0, images[0].shape[2]))  # rows spread evenly
    nsub = len(range(step // 2, rows, step)) * images[0].shape[2]
    print(f"(a) BOREAS 400x400x3, w=25, reference layout, numba threads: {numba.get_num_threads()}")
    cpu_ratios, wall_ratios = [], []
    for _ in range(repeat):
        with Clock() as fast:
            fuse(*images, params)
        with Clock() as ref:
            fuse_reference(*images, params, region=region)
        fast_rate, ref_rate = npx / fast.cpu, nsub / ref.cpu
        cpu_ratios.append(fast_rate / ref_rate)
        wall_ratios.append((npx / fast.wall) / (nsub / ref.wall))
        print(
            f"    per-pixel reference: {nsub} px in {ref.cpu:.2f} s CPU ({ref.wall:.2f} s wall): "
            f"{ref_rate:,.0f} px/s | CPU back end fuse: {npx} px in {fast.cpu:.2f} s CPU "
            f"({fast.wall:.2f} s wall): {fast_rate:,.0f} px/s | ratio {cpu_ratios[-1]:.1f}x CPU, "
            f"{wall_ratios[-1]:.1f}x wall"
        )
    print(f"    ratio vs reference, CPU time: {_spread(cpu_ratios)}x; wall time: "
          f"{_spread(wall_ratios)}x  (goal >= 50x)")  # fmt: skip


def synthetic_tile(size: int, dates: int, seed: int = 0):
    """NDVI of fields with class phenologies; Landsat at two dates, MODIS 8 x 8 blocky."""
    rng = np.random.default_rng(seed)
    fields = rng.integers(0, 5, (size // 16 + 1, size // 16 + 1))
    land = np.repeat(np.repeat(fields, 16, 0), 16, 1)[:size, :size]
    t = np.linspace(0, 1, dates)
    peak = np.array([0.25, 0.45, 0.55, 0.65, 0.8])
    phase = np.array([0.0, 0.35, 0.5, 0.6, 0.45])
    curves = 0.15 + (peak[:, None] - 0.15) * np.exp(-((t[None, :] - phase[:, None]) ** 2) / 0.02)

    def fine(d: int) -> np.ndarray:
        return (curves[land, d] + rng.normal(0, 0.03, land.shape)).astype(np.float32)

    def coarse(img: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(img[::8, ::8], 8, 0), 8, 1)[:size, :size].copy()

    d1, d2 = dates // 4, 3 * dates // 4
    f1, f2 = fine(d1), fine(d2)
    modis = np.stack([coarse(fine(d)) + np.float32(0.01) for d in range(dates)])
    return f1, modis[d1], f2, modis[d2], modis


def bench_tile_year(size: int, dates: int, baseline_dates: int, repeat: int) -> None:
    f1, c1, f2, c2, modis = synthetic_tile(size, dates)
    params = EstarfmParams.ndvi()
    small = (slice(0, 64), slice(0, 64))
    prepare(
        f1[small],
        c1[small],
        f2[small],
        c2[small],
        params,
        coarse_cells=coarse_cell_labels(modis[:, small[0], small[1]]),
    )
    print(f"(b) one {size}x{size} NDVI tile x {dates} dates, w=25, halo layout, "
          f"numba threads: {numba.get_num_threads()}")  # fmt: skip
    totals, walls, ratios, preps, preds = [], [], [], [], []
    for _ in range(repeat):
        with Clock() as base:
            for d in range(baseline_dates):
                fuse(f1, c1, f2, c2, modis[d], params)
        per_date = base.cpu / baseline_dates
        with Clock() as lab:
            cells = coarse_cell_labels(modis)
        with Clock() as prep:
            model = prepare(f1, c1, f2, c2, params, coarse_cells=cells)
        with Clock() as pred:
            for d in range(dates):
                predict(model, modis[d])
        cpu_total = lab.cpu + prep.cpu + pred.cpu
        totals.append(cpu_total)
        walls.append(lab.wall + prep.wall + pred.wall)
        ratios.append(per_date * dates / cpu_total)
        preps.append(prep.cpu)
        preds.append(pred.cpu / dates)
        print(f"    baseline fuse per date {per_date:.2f} s CPU ({per_date * dates:.1f} s per "
              f"tile-year) | labels {lab.cpu:.2f} s, prepare {prep.cpu:.2f} s, predict "
              f"{pred.cpu / dates:.3f} s/date: {cpu_total:.1f} s CPU per tile-year "
              f"({walls[-1]:.1f} s wall), {ratios[-1]:.1f}x the baseline")  # fmt: skip
    print(f"    CPU tile-year: {_spread(totals)} s CPU, {_spread(walls)} s wall; prepare "
          f"{_spread(preps, '{:.2f}')} s, predict {_spread(preds, '{:.3f}')} s/date; "
          f"{_spread(ratios)}x fuse per date")  # fmt: skip
    cpu_total = float(np.median(totals))
    if not gpu_available():
        print("    CuPy: no usable GPU here; the GPU figures need a CUDA machine")
        return
    import cupy

    g = [cupy.asarray(a) for a in (f1, c1, f2, c2, modis)]
    sync = cupy.cuda.Device().synchronize
    model = prepare(*g[:4], params, coarse_cells=coarse_cell_labels(g[4]))  # compile
    predict(model, g[4][0])
    sync()
    start = time.perf_counter()
    gcells = coarse_cell_labels(g[4])
    model = prepare(*g[:4], params, coarse_cells=gcells)
    sync()
    mid = time.perf_counter()
    for d in range(dates):
        predict(model, g[4][d])
    sync()
    end = time.perf_counter()
    gpu_total = end - start
    print(f"    CuPy prepare+predict: prepare {mid - start:.3f} s, predict {(end - mid) / dates:.4f} s/date; "
          f"{gpu_total:.2f} s per tile-year (goal <= 1 s)")  # fmt: skip
    print(f"    ratio GPU vs CPU back end: {cpu_total / gpu_total:.0f}x (goal >= 100x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="numba threads (default 1)")
    ap.add_argument("--size", type=int, default=1000, help="tile edge for (b)")
    ap.add_argument("--dates", type=int, default=46, help="target dates for (b)")
    ap.add_argument(
        "--baseline-dates", type=int, default=2, help="dates timed for the (b) baseline"
    )
    ap.add_argument(
        "--subset-rows", type=int, default=8, help="rows of BOREAS timed for the reference"
    )
    ap.add_argument("--skip", choices=("a", "b"), help="skip one part")
    ap.add_argument("--repeat", type=int, default=1, help="repeats of (a) and of (b)")
    args = ap.parse_args()
    numba.set_num_threads(args.threads)
    print(f"numba threads: {numba.get_num_threads()}")
    if args.skip != "a":
        bench_boreas(args.subset_rows, args.repeat)
    if args.skip != "b":
        bench_tile_year(args.size, args.dates, args.baseline_dates, args.repeat)


if __name__ == "__main__":
    main()
