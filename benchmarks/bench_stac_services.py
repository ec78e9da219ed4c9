"""Start-up time and memory of the local STAC services (docs/stac.md).

Starts `StacServices` REPEATS times on an empty folder; prints the seconds each start
took, then, for the last one, the resident memory (VmRSS) of each service with its
child processes (PostgreSQL's checkpointer, walwriter, backends, ...).

    PYTHONPATH=src python benchmarks/bench_stac_services.py [REPEATS]
"""

import sys
import tempfile
from pathlib import Path

from agrifactory.testing.stac_services import StacServices


def tree(pid: int) -> list[int]:
    """`pid` and its descendants."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    children = [int(p) for p in path.read_text().split()] if path.exists() else []
    return [pid] + [d for c in children for d in tree(c)]


def rss_mib(pid: int) -> float:
    """VmRSS of a process in MiB (0 when it has gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0.0
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return kib / 1024


repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
with tempfile.TemporaryDirectory() as root:
    for i in range(repeats):
        services = StacServices(Path(root)).start()
        print(f"start {i + 1}: {services.start_seconds:.2f} s")
        if i < repeats - 1:
            services.stop()
    total = 0.0
    for name, pid in services.pids.items():
        pids = tree(pid)
        mib = sum(rss_mib(p) for p in pids)
        total += mib
        print(f"{name:16s} {len(pids):2d} processes {mib:7.1f} MiB")
    print(f"{'all':16s}             {total:7.1f} MiB (RSS; shared pages counted per process)")
    services.stop()
