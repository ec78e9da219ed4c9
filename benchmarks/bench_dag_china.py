"""All-China DAG: how long ``snakemake -n`` takes over every mainland tile, and why.

Builds placeholder inventories (Landsat 8 and 9 on a WRS-2-like lattice, MODIS
8-day composites) for the tiles of config/china.yaml in a temporary folder, then
times a dry run of the real workflow (``snakemake -n --quiet rules``) and prints
the jobs per rule. With ``--stages N`` it also times the DAG as it will be once
the stage rules land: N chained per-tile rules after the ingest (one job per
tile-year each) with a fan-in after the third, like training, and one at the end,
like aggregation. With ``--floor`` it also times two partial DAGs of the same
workflow that bound any per-tile design from below: the parse alone (target the
tile index: 2 jobs) and the ingest alone (one job per tile-year, the fewest a
workflow with per-tile jobs can have).

The run plan's share is measured in-process: building it (reading and checking
the inventories) and answering every tile's scene lookups, against the baseline
of the same lookups done the naive way (a pandas filter and sort per call, as
the plan first did), measured in the same run. Each dry run's CPU time (user +
system) is printed beside its wall time: on a machine shared with other work the
wall time can be several times longer.

    PYTHONPATH=src python benchmarks/bench_dag_china.py [--stages 6] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from agrifactory.grid import Tile
from agrifactory.ingest.rules import OUTPUTS as INGEST_OUTPUTS
from agrifactory.io import inventory
from agrifactory.plan import build_plan, read_tile_list
from agrifactory.synthetic.placeholders import placeholder_config

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
GOAL_S = 30.0


def merged_config(*files: Path) -> dict:
    """The config Snakemake sees: config/config.yaml updated by each file in turn."""
    cfg: dict = {}

    def update(a: dict, b: dict) -> None:
        for k, v in b.items():
            if isinstance(v, dict) and isinstance(a.get(k), dict):
                update(a[k], v)
            else:
                a[k] = v

    for f in (REPO / "config/config.yaml", *files):
        update(cfg, yaml.safe_load(f.read_text()))
    return cfg


def stage_rules(n: int) -> str:
    """N chained per-tile rules after the ingest, a fan-in after the third and one at the end."""
    tile = "results/tiles/{tile}/{year}"
    text = [f'include: "{REPO / "Snakefile"}"\n']
    prev = f'"{tile}/ingest/landsat_ndvi.tif"'
    for k in range(1, n + 1):
        extra = ', "results/bench/model.bin"' if k == 4 else ""
        # Per-tile rules before the fan-in are grouped, those after it are not.
        group = "    group: TILE_GROUP\n" if k <= 3 else ""
        text.append(
            f"rule bench_stage_{k}:\n    input: {prev}{extra}\n"
            f'    output: "{tile}/bench{k}/out.tif"\n{group}'
            '    shell: "touch {output}"\n'
        )
        prev = f'"{tile}/bench{k}/out.tif"'
        if k == 3:
            text.append(
                "rule bench_train:\n"
                f'    input: per_tile("{tile}/bench3/out.tif")\n'
                '    output: "results/bench/model.bin"\n    shell: "touch {output}"\n'
            )
    text.append(
        f"rule bench_aggregate:\n    input: per_tile({prev})\n"
        '    output: "results/bench/areas.csv"\n    shell: "touch {output}"\n'
    )
    return "\n".join(text)


def dry_run(
    workdir: Path, snakefile: Path, configs: list[str], targets: list[str]
) -> tuple[float, float, dict[str, int]]:
    """Wall and CPU time of ``snakemake -n --quiet rules``, and the jobs per rule it reports."""
    cmd = [SNAKEMAKE, "-s", str(snakefile), "-d", str(workdir), "-n", "--quiet", "rules"]
    cmd += ["--configfile", *configs, "--", *targets]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    t0, cpu0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env, check=False)
    elapsed, cpu1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    if done.returncode != 0:
        sys.exit(f"dry run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    counts = {}
    for line in done.stdout.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m:
            counts[m[1]] = int(m[2])
    return elapsed, cpu, counts


def naive_scenes(plan, tile_id: str, year: int, sensor: str):
    """The plan's first lookup: filter and sort the tile's rows with pandas on every call."""
    start, end = inventory.year_window(year, int(plan.config["ingest"]["margin_days"]))
    rows = plan.inventory.iloc[plan._by_tile.get(tile_id, [])]
    sel = (rows["sensor"] == sensor) & (rows["date"] >= start) & (rows["date"] <= end)
    return rows[sel].sort_values(["date", "id"]).drop(columns=["geometry", "footprint"])


def time_plan(configs: list[Path]) -> None:
    cfg = merged_config(*configs)
    t0 = time.perf_counter()
    plan = build_plan(cfg)
    t1 = time.perf_counter()
    plan._index()
    t2 = time.perf_counter()
    year = plan.years[0]
    for tid in plan.tile_ids:
        for sensor in ("landsat", "modis"):
            plan.scene_records(tid, year, sensor)
    t3 = time.perf_counter()
    for tid in plan.tile_ids:
        for sensor in ("landsat", "modis"):
            naive_scenes(plan, tid, year, sensor).astype(str).to_dict("records")
    t4 = time.perf_counter()
    n = len(plan.tile_ids)
    print(f"run plan: {len(plan.inventory):,} inventory rows, {n} tiles")
    print(f"  build (read + check inventories): {t1 - t0:6.2f} s")
    print(f"  spatial index (one query, all tiles): {t2 - t1:6.2f} s")
    print(f"  lookups, indexed (all tiles, both sensors): {t3 - t2:6.2f} s")
    print(f"  lookups, naive baseline (pandas per call):  {t4 - t3:6.2f} s")
    print(f"  speed-up of the lookups: {(t4 - t3) / max(t3 - t2, 1e-9):.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--stages", type=int, default=6, help="synthetic per-tile stage rules (0: none)"
    )
    ap.add_argument(
        "--repeat", type=int, default=2, help="dry runs per DAG (best and median shown)"
    )
    ap.add_argument(
        "--satellites", type=int, default=2, help="Landsat satellites (16-day revisit each)"
    )
    ap.add_argument(
        "--floor", action="store_true", help="also time the parse alone and the ingest alone"
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="agrifactory-dag-"))
    try:
        shutil.copytree(REPO / "config", tmp / "config")
        china = tmp / "config/china.yaml"
        cfg = merged_config(china)
        tiles = [
            Tile.from_id(t, cfg["grid"]["tile_km"])
            for t in read_tile_list(tmp / cfg["grid"]["tiles_file"])
        ]
        t0 = time.perf_counter()
        os.chdir(tmp)
        inputs = placeholder_config(
            tiles,
            cfg["years"][0],
            cfg["ingest"]["margin_days"],
            "placeholders",
            satellites=args.satellites,
        )
        over = tmp / "placeholders.yaml"
        over.write_text(yaml.safe_dump(inputs))
        print(
            f"{len(tiles)} tiles of {cfg['grid']['tile_km']} km, year {cfg['years'][0]}; "
            f"placeholder inputs in {time.perf_counter() - t0:.1f} s"
        )
        time_plan([china, over])

        configs = [str(china), str(over)]
        dags = [("workflow as it is", REPO / "Snakefile", ["all"])]
        if args.floor:
            year = cfg["years"][0]
            table = INGEST_OUTPUTS["inventory"]
            ingest = [f"results/tiles/{t.id}/{year}/ingest/{table}" for t in tiles]
            dags.append(("the parse alone (target: the tile index)", REPO / "Snakefile",
                         ["results/tiles.gpkg"]))  # fmt: skip
            dags.append(("the ingest alone (one job per tile-year)", REPO / "Snakefile", ingest))
        if args.stages:
            wrapper = tmp / "Snakefile.stages"
            wrapper.write_text(stage_rules(args.stages))
            dags.append(
                (
                    f"+ {args.stages} per-tile stages and 2 fan-ins",
                    wrapper,
                    ["all", "bench_aggregate"],
                )
            )
        for name, snakefile, targets in dags:
            times, cpus = [], []
            for _ in range(args.repeat):
                elapsed, cpu, counts = dry_run(tmp, snakefile, configs, targets)
                times.append(elapsed)
                cpus.append(cpu)
            total = counts.pop("total", sum(counts.values()))
            best = min(times)
            print(f"\nDAG, {name}: {total:,} jobs")
            print("  " + ", ".join(f"{rule} {n}" for rule, n in counts.items()))
            print(
                f"  snakemake -n: best {best:.1f} s, median {statistics.median(times):.1f} s "
                f"of {len(times)} (CPU time {min(cpus):.1f} s); "
                f"goal {GOAL_S:.0f} s -> {GOAL_S / best:.2f}x headroom"
            )
    finally:
        os.chdir(REPO)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
