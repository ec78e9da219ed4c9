"""ESTARFM speed: the fast back ends against the per-pixel baseline, measured in one run.

(a) The BOREAS experiment (400 x 400 px, 3 bands, w = 25, reference layout): the CPU
    back end's ``fuse`` against the per-pixel reference (timed on a pixel subset and
    reported as pixels per second). Goal: >= 50x.
(b) One 1000 x 1000 NDVI tile x 46 target dates (synthetic, MODIS blocky 8 x 8 px):
    ``prepare`` once + ``predict`` per date on the CPU and, when a GPU is usable, with
    CuPy; baseline: ``fuse`` once per date on the CPU (timed for a few dates and
    scaled to the year). Goals on an H100: <= 1 s per tile-year, >= 100x the CPU.
(c) The floor of (a) on this machine (one thread): the scan's stages timed alone (the
    pre-test; + compaction; + float64 confirmation and weights; the whole scan), a
    kernel that streams the pre-test's float32 rows with one compare per value, the
    per-band sums on ideal data (contiguous records, long loops) and the bound of
    their 11 dependent float64 additions, next to the counts of window pixels and
    similar pixels. It says how far (a)'s goal is from what this algorithm can do here.

Times are CPU seconds of this process (``time.process_time``) next to wall-clock
seconds; with one thread (the default here) the CPU seconds are the better measure on
a shared machine. With ``--threads 2`` the CPU seconds add up both threads, so the
wall-clock ratio is the one that shows what the second thread buys. Run from the repository root:

    PYTHONPATH=src python benchmarks/bench_estarfm.py [--threads 1] [--size 1000] [--dates 46]
        [--repeat 1] [--skip a|b] [--floor]

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
from agrifactory.fusion import (
    EstarfmParams,
    coarse_cell_labels,
    estarfm,
    fuse,
    kernels,
    predict,
    prepare,
)
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


def boreas_images() -> list[np.ndarray] | None:
    """fine 1, coarse 1, fine 2, coarse 2, coarse 0 of the BOREAS experiment (None: absent)."""
    import rasterio

    if not BOREAS.is_dir():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        images = []
        for name in ("tm0524", "modis0524", "tm0812", "modis0812", "modis0711"):
            with rasterio.open(BOREAS / name) as src:
                images.append(src.read().astype(np.float64))
    return images


def bench_boreas(subset_rows: int, repeat: int) -> tuple[float, float] | None:
    """Print (a); return the median CPU-time ratio and the median ``fuse`` CPU seconds."""
    images = boreas_images()
    if images is None:
        print(f"(a) skipped: {BOREAS} is absent")
        return None
    params = EstarfmParams(layout="reference")
    npx = images[0].shape[1] * images[0].shape[2]
    fuse(*(a[:, :60, :60] for a in images), params)  # compile (or load the cache) first
    rows = images[0].shape[1]
    step = rows // subset_rows
    region = (slice(step // 2, rows, step), slice(0, images[0].shape[2]))  # rows spread evenly
    nsub = len(range(step // 2, rows, step)) * images[0].shape[2]
    print(f"(a) BOREAS 400x400x3, w=25, reference layout, numba threads: {numba.get_num_threads()}")
    cpu_ratios, wall_ratios, fuse_cpu = [], [], []
    for _ in range(repeat):
        with Clock() as fast:
            fuse(*images, params)
        with Clock() as ref:
            fuse_reference(*images, params, region=region)
        fast_rate, ref_rate = npx / fast.cpu, nsub / ref.cpu
        fuse_cpu.append(fast.cpu)
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
    return float(np.median(cpu_ratios)), float(np.median(fuse_cpu))


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


@numba.njit(error_model="numpy")
def _stage_scan(stage, rlo, rhi, clo, chi, fv, th, fv32, th32, rec, valid, dist, w):
    """The scan's centre and window-row loops (same order as ``scan_rows_serial``) up to
    ``stage``: 0 streams the pre-test's rows (one compare per value, no threshold), 1 the
    pre-test, 2 + compaction, 3 + float64 confirmation and weights. Returns the number of
    window pixels, of kept columns and of similar pixels (so nothing is optimised away)."""
    nplanes, cols = fv.shape[0], fv.shape[2]
    scratch = np.empty(kernels._scratch_size(nplanes // 2, w))
    mask = np.zeros(kernels._mask_size(w), dtype=np.int32)
    dummy_i, dummy_w = np.zeros((1, 1), dtype=np.int32), np.zeros((1, 1))
    counts = np.zeros(3, dtype=np.int64)
    for ca in range(0, cols, kernels.STRIP):
        for r in range(fv.shape[1]):
            for c in range(ca, min(cols, ca + kernels.STRIP)):
                if valid[r, c] == 0:
                    continue
                q0, width = clo[c], chi[c] - clo[c]
                wpad = (width + kernels.PAD - 1) // kernels.PAD * kernels.PAD
                kernels.load_centre(r, c, fv, th, scratch)
                run = (-1, -1, 0.0, 0, False)
                for i in range(rlo[r], rhi[r]):
                    counts[0] += width
                    if stage == 0:
                        for p in range(nplanes):
                            row, cp = fv32[p, i, q0 : q0 + wpad], fv32[p, r, c]
                            for jj in range(wpad):
                                mask[jj] |= 1 if row[jj] < cp else 0
                        counts[1] += mask[0]
                        continue
                    kernels.pretest_row(i, r, c, q0, wpad, fv32, th32, valid, mask)
                    if stage == 1:
                        counts[1] += mask[0]
                        continue
                    count = kernels.compact_row(mask, width)
                    counts[1] += count
                    if stage == 3:
                        kept, _, run = kernels.weigh_row(
                            i, r, c, q0, count, w, fv, rec, dist, scratch, 2 * nplanes +
                            kernels.N_SUMS * (nplanes // 2), mask, 0.0, False, dummy_i, 0,
                            dummy_i, dummy_w, dummy_i[0], run,
                        )  # fmt: skip
                        counts[2] += kept
    return counts


@numba.njit(error_model="numpy")
def _ideal_sums(rec, nb, pixels, width):
    """``add_row_sums`` (the kernel's step) over ``pixels`` similar pixels in rows of
    ``width`` contiguous records that stay in L1: the sums' cost without gathers."""
    o_sum = 4 * nb
    o_w = o_sum + kernels.N_SUMS * nb
    scratch = np.zeros(o_w + width)
    scratch[o_w:] = 0.5
    mask = np.arange(width).astype(np.int32)
    for _ in range(pixels // width):
        kernels.add_row_sums(0, width, nb, mask, rec, scratch, o_sum, o_w)
    return scratch[o_sum]


@numba.njit(error_model="numpy")
def _add_chains(values, repeats):
    """11 independent chains of float64 additions over ``values``: the sums' bound."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = s9 = s10 = 0.0
    for _ in range(repeats):
        for t in range(values.shape[0]):
            x = values[t]
            s0 += x
            s1 += x
            s2 += x
            s3 += x
            s4 += x
            s5 += x
            s6 += x
            s7 += x
            s8 += x
            s9 += x
            s10 += x
    return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7 + s8 + s9 + s10


def _cpu_median(func, repeat: int) -> tuple[float, object]:
    """Median CPU seconds of ``func()`` over ``repeat`` runs, and its last result."""
    times, out = [], None
    for _ in range(repeat):
        with Clock() as clock:
            out = func()
        times.append(clock.cpu)
    return float(np.median(times)), out


def _scan_inputs(images: list[np.ndarray], params: EstarfmParams) -> tuple:
    """What ``fuse`` hands the window scan (a fresh model; outputs ``n`` and ``par``)."""
    xp, model = estarfm._setup(*images[:4], params, estarfm.INPUT_NAMES[:4])
    c0 = estarfm._target(model, images[4], xp)
    valid = model.base_valid & estarfm.valid_mask([c0], params.background)
    estarfm._put_target(model.rec, c0)
    return estarfm._scan_args(model, xp, valid), model


def bench_floor(repeat: int, measured: tuple[float, float] | None) -> None:
    """Print (c); ``measured``: (a)'s median ratio and ``fuse`` CPU seconds, if it ran."""
    images = boreas_images()
    if images is None:
        print(f"(c) skipped: {BOREAS} is absent")
        return
    params = EstarfmParams(layout="reference")
    fuse(*images, params)  # compile the kernels
    args, model = _scan_inputs(images, params)
    dummy = (np.zeros((1, 1), np.int32), False, np.zeros((1, 1), np.int32), np.zeros((1, 1)),
             np.zeros(1, np.int32), model.n, model.par)  # fmt: skip
    pairs = []  # fuse and its scan alone, back to back: the rest is their difference
    for _ in range(repeat):
        t_fuse, _ = _cpu_median(lambda: fuse(*images, params), 1)
        t_scan, _ = _cpu_median(
            lambda: kernels.scan_rows_serial(0, model.shape[1], *args, *dummy), 1
        )
        pairs.append((t_fuse, t_scan, t_fuse - t_scan))
    t_fuse, t_scan, rest = (float(v) for v in np.median(pairs, axis=0))
    stage_args = (*args[:12],)  # bounds .. w
    stages = []
    for stage in range(4):
        _stage_scan(stage, *stage_args)  # compile
        stages.append(_cpu_median(lambda st=stage: _stage_scan(st, *stage_args), repeat))
    window_px, kept, similar = (int(v) for v in stages[3][1])
    nb = model.shape[0]
    rec = args[8]
    _ideal_sums(rec, nb, 64, 64)
    t_ideal, _ = _cpu_median(lambda: _ideal_sums(rec, nb, similar, 64), repeat)
    values = np.random.default_rng(0).random(4096)
    _add_chains(values, 1)
    reps = max(1, similar * nb // values.size)
    t_adds, _ = _cpu_median(lambda: _add_chains(values, reps), repeat)
    _print_floor((t_fuse, t_scan, rest), [t for t, _ in stages], t_ideal, t_adds, window_px,
                 kept, similar, nb, repeat)  # fmt: skip
    if measured is not None:
        ratio, fuse_a = measured
        floor = rest + stages[0][0] + t_adds
        scalar = rest + stages[3][0] + t_ideal
        print(
            f"    vs (a): 50x needs fuse <= {fuse_a * ratio / 50:.3f} s CPU ({ratio:.1f}x at "
            f"{fuse_a:.3f} s); the floor would give {ratio * fuse_a / floor:.0f}x, the "
            f"scalar ceiling {ratio * fuse_a / scalar:.0f}x"
        )


def _print_floor(totals, stages, t_ideal, t_adds, window_px, kept, similar, nb,
                 repeat) -> None:  # fmt: skip
    """The figures of (c)."""
    t_fuse, t_scan, rest = totals
    t_stream, t_pre, t_comp, t_weigh = stages
    print(f"(c) floor of (a), one thread, medians of {repeat} runs (CPU seconds)")
    print(
        f"    counts: {window_px:,} window pixels, {kept:,} kept by the float32 pre-test, "
        f"{similar:,} similar ({similar / window_px:.1%}; {kept - similar:,} kept ones "
        f"rejected in float64), {nb} bands x 11 sums"
    )
    print(
        f"    fuse {t_fuse:.3f} s, its scan alone {t_scan:.3f} s, the rest {rest:.3f} s "
        "(thresholds, records, window means, combination; median of the differences)"
    )
    print(
        f"    scan stages: stream rows {t_stream:.3f} s | pre-test {t_pre:.3f} s | "
        f"+ compaction {t_comp:.3f} s | + confirmation, weights {t_weigh:.3f} s | "
        f"+ band sums (whole scan) {t_scan:.3f} s"
    )
    print(
        f"    band sums: in the scan {t_scan - t_weigh:.3f} s; on ideal data (contiguous, "
        f"long loops) {t_ideal:.3f} s; bound of their {similar * nb * 11:,} dependent "
        f"additions {t_adds:.3f} s"
    )
    floor = rest + t_stream + t_adds
    print(
        f"    floor (rest + streamed rows + the additions' bound): {floor:.3f} s, "
        f"{t_fuse / floor:.2f}x below today's fuse"
    )
    scalar = rest + t_weigh + t_ideal
    print(
        f"    scalar ceiling (rest + scan without the sums + sums on ideal data): {scalar:.3f} s, "
        f"{t_fuse / scalar:.2f}x below today's fuse"
    )


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
    ap.add_argument("--floor", action="store_true", help="also run (c), the floor of (a)")
    ap.add_argument("--repeat", type=int, default=1, help="repeats of (a) and of (b)")
    args = ap.parse_args()
    numba.set_num_threads(args.threads)
    print(f"numba threads: {numba.get_num_threads()}")
    measured = None
    if args.skip != "a":
        measured = bench_boreas(args.subset_rows, args.repeat)
    if args.skip != "b":
        bench_tile_year(args.size, args.dates, args.baseline_dates, args.repeat)
    if args.floor:
        bench_floor(args.repeat, measured)


if __name__ == "__main__":
    main()
