"""Peak memory of the per-tile stages (fuse, smooth, features) by tile size and block size.

Writes a synthetic tile-year in the files the stages read (Landsat NDVI stack of 28
dates with clouds, 56 blocky MODIS composites of 6 x 6 pixels, the quality mask,
the pairs tables, a 46-date fused stack), then runs each stage in a fresh Python
process and reports that process's peak resident memory (``ru_maxrss``, which
includes the interpreter and the imported libraries), its wall time and its CPU
time (all threads). The
baseline is the same stage on the same tile with no blocks (``--tile-block none``
/ ``--block-rows none``); the ratio printed is peak(blocks) / peak(whole tile).

Memory does not depend on the number of pair sets (one prepared model is kept at
a time), only time does, so ``--pair-sets`` can be small for large tiles; the
held-out validation adds two pair sets.

    PYTHONPATH=src python benchmarks/memory_tiles.py make DIR --size 2000 [--pair-sets 2]
    PYTHONPATH=src python benchmarks/memory_tiles.py stage fuse DIR [--tile-block 1000|none]
    PYTHONPATH=src python benchmarks/memory_tiles.py stage smooth DIR [--block-rows 256|none]
    PYTHONPATH=src python benchmarks/memory_tiles.py stage features DIR [--block-rows 256|none]
    PYTHONPATH=src python benchmarks/memory_tiles.py compare DIR STAGE --blocks 1000 [--whole]

``stage`` prints one JSON line. A directory made elsewhere (e.g. a demo tile's
ingest and quality outputs) works if it holds the same file names.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

YEAR = 2021
MODIS_CELL = 6  # fine pixels per MODIS cell edge: as many cells per window as the demo


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def _classes(size: int, rng: np.random.Generator) -> np.ndarray:
    """Parcels of 12 pixels (shifted every other row), five crop calendars."""
    out = np.empty((size, size), dtype=np.int8)
    edge = 12
    n = -(-size // edge)
    coarse = rng.integers(0, 5, (n, n)).astype(np.int8)
    out[:] = np.kron(coarse, np.ones((edge, edge), np.int8))[:size, :size]
    # Shift every other parcel row so that parcel borders are not all on one lattice.
    for r in range(0, size, 2 * edge):
        out[r : r + edge] = np.roll(out[r : r + edge], edge // 2, axis=1)
    return out


CALENDARS = np.array(  # base, amplitude, peak day, width (days)
    [[0.15, 0.05, 200, 60], [0.2, 0.55, 190, 40], [0.2, 0.6, 230, 35], [0.25, 0.45, 160, 45],
     [0.3, 0.5, 210, 70]]
)  # fmt: skip


def _truth(
    classes: np.ndarray, offset: np.ndarray, day: dt.date, rng: np.random.Generator
) -> np.ndarray:
    """NDVI of the crop calendars plus each pixel's own lasting offset and some noise."""
    doy = (day - dt.date(YEAR, 1, 1)).days
    c = CALENDARS[classes]
    v = c[..., 0] + c[..., 1] * np.exp(-(((doy - c[..., 2]) / c[..., 3]) ** 2)) + offset
    return (v + 0.01 * rng.standard_normal(classes.shape)).astype(np.float32)


def _clouds(size: int, rng: np.random.Generator, cover: float) -> np.ndarray:
    """Blocky clouds covering about ``cover`` of the tile."""
    edge = max(size // 16, 1)
    n = -(-size // edge)
    coarse = rng.random((n, n)) < cover
    return np.kron(coarse, np.ones((edge, edge), bool))[:size, :size]


def _cell_means(a: np.ndarray) -> np.ndarray:
    s = a.shape[0]
    n = -(-s // MODIS_CELL) * MODIS_CELL
    pad = np.pad(a, ((0, n - s), (0, n - s)), mode="edge")
    m = pad.reshape(n // MODIS_CELL, MODIS_CELL, n // MODIS_CELL, MODIS_CELL).mean(axis=(1, 3))
    return np.kron(m, np.ones((MODIS_CELL, MODIS_CELL), np.float32))[:s, :s]


def make(directory: Path, size: int, pair_sets: int, seed: int = 0) -> None:
    """Write the synthetic tile-year into ``directory``."""
    from agrifactory.io.modis import composite_starts
    from agrifactory.io.pairs import PAIR_COLUMNS, write_pairs_table
    from agrifactory.io.raster import stack_writer

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    grid = _grid(size)
    classes = _classes(size, rng)
    # A lasting offset per pixel: a landscape-scale wave (600 px) plus pixel noise. The
    # wave dominates each 500 px threshold square, so, as in the demo tiles, most of a
    # window is similar and its weights spread over ~45 coarse cells (memory's worst case).
    wave = np.sin(np.arange(size) * (2 * np.pi / 600)).astype(np.float32)
    offset = 0.25 * wave[:, None] * wave[None, :]
    offset += (0.03 * rng.standard_normal((size, size))).astype(np.float32)
    landsat = [dt.date(2020, 12, 4) + dt.timedelta(days=16 * i) for i in range(28)]
    names = [d.isoformat() for d in landsat]
    with (
        stack_writer(directory / "landsat_ndvi.tif", grid, count=28, dtype=np.float32,
                     nodata=np.nan, band_names=names, units="NDVI") as ndvi,
        stack_writer(directory / "mask.tif", grid, count=28, dtype=np.uint8, nodata=None,
                     band_names=names) as mask,
    ):  # fmt: skip
        for i, d in enumerate(landsat, start=1):
            band = _truth(classes, offset, d, rng)
            band[_clouds(size, rng, rng.uniform(0.0, 0.3))] = np.nan
            ndvi.write_band(i, band)
            mask.write_band(i, (rng.random((size, size)) < 0.02).astype(np.uint8))
    starts = [d for y in (2020, 2021, 2022) for d in composite_starts(y)]
    modis = [d for d in starts if dt.date(2020, 11, 24) <= d <= dt.date(2022, 2, 2)]
    with stack_writer(directory / "modis_ndvi.tif", grid, count=len(modis), dtype=np.float32,
                      nodata=np.nan, band_names=[d.isoformat() for d in modis]) as out:  # fmt: skip
        for i, d in enumerate(modis, start=1):
            out.write_band(
                i, _cell_means(_truth(classes, offset, d + dt.timedelta(days=4), rng)) + 0.02
            )
    targets = composite_starts(YEAR)
    with stack_writer(directory / "fused.tif", grid, count=46, dtype=np.float32, nodata=np.nan,
                      band_names=[d.isoformat() for d in targets], units="NDVI") as out:  # fmt: skip
        for i, d in enumerate(targets, start=1):
            band = _truth(classes, offset, d, rng)
            band[rng.random(band.shape) < 0.15] = np.nan
            out.write_band(i, band)
    in_year = [i for i, d in enumerate(landsat) if d.year == YEAR]
    # `pair_sets` consecutive pairs of the year's scenes, each driving a run of targets.
    sets = [(landsat[in_year[k]], landsat[in_year[k] + 1]) for k in range(pair_sets)]
    rows = []
    for j, t in enumerate(targets):
        p1, p2 = sets[j * pair_sets // len(targets)]
        rows.append(_pairs_row(t, p1, p2, "quality"))
    write_pairs_table(pd.DataFrame(rows, columns=PAIR_COLUMNS), directory / "pairs.csv")
    # Two held-out scenes, each predicted from the scenes either side of it (one more
    # pair set each) by both selectors.
    rows = [
        _pairs_row(landsat[i + 1], landsat[i], landsat[i + 2], m)
        for i in in_year[:2]
        for m in ("quality", "nearest")
    ]
    write_pairs_table(pd.DataFrame(rows, columns=PAIR_COLUMNS), directory / "validation_pairs.csv")


def _pairs_row(target: dt.date, p1: dt.date, p2: dt.date, method: str) -> dict:
    return {
        "target_date": target, "target_doy": target.timetuple().tm_yday, "status": "ok",
        "pair1_date": p1, "pair1_score": 0.9, "pair1_gap_days": (p1 - target).days,
        "pair2_date": p2, "pair2_score": 0.9, "pair2_gap_days": (p2 - target).days,
        "reason": "", "method": method,
    }  # fmt: skip


def _grid(size: int):
    from agrifactory.grid import PixelGrid

    return PixelGrid(x_min=1_000_020.0, y_max=4_620_000.0, res=30.0, width=size, height=size)


def _block(value: str) -> int | None:
    return None if value.lower() == "none" else int(value)


def stage(name: str, directory: Path, tile_block: int | None, block_rows: int | None) -> dict:
    """Run one stage on ``directory`` in this process; its peak memory and wall time."""
    from agrifactory.logs import setup_logging

    setup_logging(directory / f"{name}.log")
    base = _rss_mb()
    tag = f"{tile_block if name == 'fuse' else block_rows}"
    out = directory / f"out_{name}_{tag}"
    out.mkdir(exist_ok=True)
    t0, c0 = time.perf_counter(), _cpu_s()
    if name == "fuse":
        from agrifactory.fusion.rules import FusionSettings
        from agrifactory.fusion.tile import fuse_tile

        kwargs = {} if tile_block == "legacy" else {"tile_block": tile_block}
        fuse_tile(
            directory / "landsat_ndvi.tif", directory / "modis_ndvi.tif", directory / "pairs.csv",
            directory / "validation_pairs.csv", YEAR,
            {k: out / f"{k}.{'csv' if k in ('qa', 'validation') else 'tif'}"
             for k in ("ndvi", "flags", "qa", "validation")},
            FusionSettings().estarfm(), backend="numpy", quality_mask=directory / "mask.tif", **kwargs,
        )  # fmt: skip
    elif name == "smooth":
        from agrifactory.timeseries.tile import smooth_tile

        kwargs = {} if block_rows == "legacy" else {"block_rows": block_rows}
        smooth_tile(
            directory / "fused.tif", smoothed=out / "smoothed.tif", qa=out / "qa.tif",
            coefficients=directory / "coefficients.tif", year=YEAR, backend="numpy", **kwargs,
        )  # fmt: skip
    else:
        from agrifactory.timeseries.tile import features_tile

        kwargs = {} if block_rows == "legacy" else {"block_rows": block_rows}
        features_tile(
            directory / "fused.tif", directory / "coefficients.tif", features=out / "features.tif",
            year=YEAR, base_period=365.0, backend="numpy", **kwargs,
        )  # fmt: skip
    return {
        "stage": name,
        "tile_block": tile_block,
        "block_rows": block_rows,
        "peak_mb": round(_rss_mb()),
        "after_imports_mb": round(base),
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(_cpu_s() - c0, 1),
    }


def compare(directory: Path, name: str, blocks: str, whole: bool) -> None:
    """Run ``name`` with ``blocks`` (and with no blocks) in fresh processes; print the ratio."""
    option = "--tile-block" if name == "fuse" else "--block-rows"
    runs = {}
    for label, value in [("blocks", blocks)] + ([("whole", "none")] if whole else []):
        cmd = [sys.executable, __file__, "stage", name, str(directory), option, value]
        line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()
        runs[label] = json.loads(line.splitlines()[-1])
        print(json.dumps(runs[label]))
    if whole:
        ratio = runs["blocks"]["peak_mb"] / runs["whole"]["peak_mb"]
        print(f"{name}: peak in blocks of {blocks} / whole tile (baseline) = {ratio:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir", type=Path)
    m.add_argument("--size", type=int, required=True)
    m.add_argument("--pair-sets", type=int, default=2)
    s = sub.add_parser("stage")
    s.add_argument("name", choices=["fuse", "smooth", "features"])
    s.add_argument("dir", type=Path)
    s.add_argument(
        "--tile-block", default="1000", help="fusion block edge, 'none', or 'legacy' (old API)"
    )
    s.add_argument("--block-rows", default="256", help="rows per block, 'none' or 'legacy'")
    c = sub.add_parser("compare")
    c.add_argument("dir", type=Path)
    c.add_argument("name", choices=["fuse", "smooth", "features"])
    c.add_argument("--blocks", default="1000")
    c.add_argument("--whole", action="store_true", help="also run the whole tile (baseline)")
    a = ap.parse_args()
    if a.cmd == "make":
        make(a.dir, a.size, a.pair_sets)
    elif a.cmd == "stage":
        tb = "legacy" if a.tile_block == "legacy" else _block(a.tile_block)
        br = "legacy" if a.block_rows == "legacy" else _block(a.block_rows)
        print(json.dumps(stage(a.name, a.dir, tb, br)))
    else:
        compare(a.dir, a.name, a.blocks, a.whole)


if __name__ == "__main__":
    main()
