"""CPU and wall time of ``fuse_tile`` on one tile-year, for several versions of the code.

Each run is a fresh process (``PYTHONPATH`` = the version's ``src``, one numba
thread) that fuses the tile from the ingest and quality outputs of a finished run
with ``FusionSettings()``'s defaults (those the version knows: ``fill`` and
``validation_stride`` only where its ``fuse_tile`` takes them). Versions run
alternately, ``--runs`` rounds. Each run's outputs stay in ``--out/<label>-<k>``.

    python benchmarks/bench_fuse_tile.py --tile-dir results/tiles/h249v098/2021 \\
        --code old=/path/to/old/src --code new=src --runs 3 --out /tmp/bench_fuse
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def _child(tile_dir: Path, out: Path, stride: int | None) -> None:
    import numba

    from agrifactory.fusion.rules import FusionSettings
    from agrifactory.fusion.tile import fuse_tile

    numba.set_num_threads(1)
    settings = FusionSettings()
    accepted = inspect.signature(fuse_tile).parameters
    extra = {}
    if "fill" in accepted:
        extra["fill"] = settings.fill
    if "validation_stride" in accepted:
        extra["validation_stride"] = stride or settings.validation_stride
    out.mkdir(parents=True, exist_ok=True)
    names = ["ndvi_8day.tif", "flags.tif", "qa.csv", "validation.csv", "validation_flags.csv"]
    outputs = dict(zip(["ndvi", "flags", "qa", "validation", "validation_flags"],
                       [out / n for n in names], strict=True))  # fmt: skip
    q = tile_dir / "quality"
    cpu, wall = time.process_time(), time.perf_counter()
    fuse_tile(tile_dir / "ingest" / "landsat_ndvi.tif", tile_dir / "ingest" / "modis_ndvi.tif",
              q / "pairs.csv", q / "validation_pairs.csv", int(tile_dir.name), outputs,
              settings.estarfm(), backend="numpy", quality_mask=q / "mask.tif", **extra)  # fmt: skip
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(json.dumps({"cpu_s": round(cpu, 1), "wall_s": round(wall, 1), **{
        k: v for k, v in extra.items() if k == "validation_stride"}}))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tile-dir", type=Path, required=True)
    ap.add_argument("--code", action="append", default=[], help="label=src[:stride]")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--stride", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(a.tile_dir, a.out, a.stride)
        return
    for k in range(1, a.runs + 1):
        for spec in a.code:
            label, _, rest = spec.partition("=")
            src, _, stride = rest.partition(":")
            env = {**os.environ, "PYTHONPATH": str(Path(src).resolve()),
                   "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}  # fmt: skip
            cmd = [sys.executable, __file__, "--child", "--tile-dir", str(a.tile_dir),
                   "--out", str(a.out / f"{label}-{k}")] + (["--stride", stride] if stride else [])  # fmt: skip
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            print(json.dumps({"run": k, "code": label, **json.loads(done.stdout.splitlines()[-1])}),
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
