"""Check that every job of a finished Snakemake run in WORKDIR ran under SLURM.

Snakemake's records (.snakemake/metadata) name the rule and log of every output.
Each rule script's log begins with the line agrifactory.logs.setup_logging writes:
``SLURM_JOB_ID=<id> on <host>`` inside a SLURM job, ``not under SLURM`` outside.
Every job must carry a SLURM job id, except the local rules (those the run's
Snakemake log shows as ``localrule`` and never submitted), which must say they ran
outside SLURM. Jobs that SLURM ran more than once (a failed attempt, resubmitted
under the profile's ``retries``) are named in a NOTE line.
Every id must be known to SLURM as COMPLETED (``squeue --states=all``; the
one-node cluster of tools/slurm_local.sh keeps finished jobs for an hour).
Prints one line per job and exits 1 on any failure.

    python tools/check_cluster_run.py WORKDIR
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path


def jobs_of_run(workdir: Path) -> dict[str, str]:
    """``{log file: rule}`` of every job that wrote outputs, from Snakemake's metadata."""
    jobs = {}
    for record in (workdir / ".snakemake/metadata").iterdir():
        meta = json.loads(record.read_text())
        output = base64.b64decode(record.name.replace("@", "/")).decode()
        for log in meta.get("log") or [f"(no log; output {output})"]:
            jobs[log] = meta["rule"]
    return jobs


def run_log(workdir: Path) -> str:
    """The text of the latest run's Snakemake log."""
    latest = max(
        (workdir / ".snakemake/log").glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime
    )
    return latest.read_text()


def local_rules(log: str) -> set[str]:
    """Rules the run executed on the submit host: those of its ``localrule <name>:`` lines
    that it never submitted to SLURM.

    The run's log also holds the SLURM log of every failed attempt (the profile's
    ``show-failed-logs``), and in there the Snakemake that ran the job inside SLURM
    calls it ``localrule``: such a rule ran under SLURM all the same.
    """
    named = set(re.findall(r"^localrule (\w+):$", log, re.M))
    return named - set(re.findall(r"slurm_logs/rule_(\w+)/", log))


def retried_jobs(log: str) -> dict[str, list[str]]:
    """``{Snakemake job id: [SLURM job ids]}`` of the jobs submitted more than once
    (a failed attempt resubmitted under the profile's ``retries``)."""
    ids: dict[str, list[str]] = {}
    for job, slurm in re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log):
        ids.setdefault(job, []).append(slurm)
    return {job: slurm for job, slurm in ids.items() if len(slurm) > 1}


def slurm_states() -> dict[str, str]:
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i %T"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


def main() -> int:
    workdir = Path(sys.argv[1])
    run_text = run_log(workdir)
    jobs, local, states = jobs_of_run(workdir), local_rules(run_text), slurm_states()
    failures, ids = [], set()
    print(f"{'rule':<22} {'SLURM job':>9}  {'state':<10} log")
    for log, rule in sorted(jobs.items(), key=lambda kv: (kv[1], kv[0])):
        path = workdir / log
        text = path.read_text() if path.exists() else ""
        m = re.search(r"SLURM_JOB_ID=(\d+) on (\S+)", text)
        if rule in local:
            ok = "not under SLURM" in text and m is None
            print(f"{rule:<22} {'local':>9}  {'-':<10} {log}")
            if not ok:
                failures.append(f"{log}: local rule {rule} has no 'not under SLURM' line")
            continue
        if m is None:
            failures.append(f"{log}: rule {rule} ran without a SLURM job id")
            print(f"{rule:<22} {'MISSING':>9}  {'-':<10} {log}")
            continue
        state = states.get(m[1], "unknown")
        ids.add(m[1])
        print(f"{rule:<22} {m[1]:>9}  {state:<10} {log}")
        if state != "COMPLETED":
            failures.append(f"{log}: SLURM job {m[1]} is {state}, not COMPLETED")
    ran_local = sorted({r for r in jobs.values() if r in local})
    n_slurm = sum(1 for r in jobs.values() if r not in local)
    print(
        f"{len(jobs)} jobs: {n_slurm} under SLURM in {len(ids)} SLURM jobs "
        f"(grouped jobs share one), {len(jobs) - n_slurm} local ({', '.join(ran_local)})"
    )
    for job, slurm in retried_jobs(run_text).items():
        print(f"NOTE Snakemake job {job} was submitted {len(slurm)} times (SLURM jobs "
              f"{', '.join(slurm)}): an attempt failed and the profile's retries resubmitted it; "
              "its SLURM log is in the run's log above")  # fmt: skip
    for f in failures:
        print("FAIL", f)
    return 1 if failures or not ids else 0


if __name__ == "__main__":
    sys.exit(main())
