"""A profile naming an unknown SLURM partition stops the run before any job."""

import os
import re
import stat
import subprocess
import sys

import pytest
from workflow_helpers import REPO, prepare_workdir, snakemake

from agrifactory.cluster import check_partitions, slurm_partitions
from agrifactory.errors import ConfigError


def fake_sinfo(folder, output="debug\ngpu\n", exit_code=0):
    """A stand-in `sinfo` that prints partition names (as `sinfo -h -o %R` does)."""
    folder.mkdir(exist_ok=True)
    exe = folder / "sinfo"
    exe.write_text(f"#!/bin/sh\nprintf '{output}'\necho 'sinfo says no' >&2\nexit {exit_code}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return folder


def test_partitions_are_read_from_sinfo(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{fake_sinfo(tmp_path / 'bin')}{os.pathsep}{os.environ['PATH']}")
    assert slurm_partitions() == {"debug", "gpu"}


def test_failing_sinfo_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "PATH", f"{fake_sinfo(tmp_path / 'bin', '', 1)}{os.pathsep}{os.environ['PATH']}"
    )
    with pytest.raises(ConfigError, match="'sinfo' failed \\(exit 1: sinfo says no\\)"):
        slurm_partitions()


def test_no_sinfo_means_no_cluster(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert slurm_partitions() is None


def test_unknown_partition_is_named_with_where_it_was_asked_for():
    check_partitions({"default-resources": "debug"}, {"debug", "gpu"})
    with pytest.raises(ConfigError) as err:
        check_partitions({"default-resources": "debgu", "fusion (rule)": "gpu"}, {"debug", "gpu"})
    message = str(err.value)
    assert "default-resources asks for 'debgu'" in message
    assert "fusion" not in message and "['debug', 'gpu']" in message


@pytest.mark.workflow
def test_workflow_stops_before_any_job_on_an_unknown_partition(tmp_path):
    workdir = prepare_workdir(tmp_path / "run")
    path = f"{fake_sinfo(tmp_path / 'bin')}{os.pathsep}{os.environ['PATH']}"
    os.environ["PATH"], before = path, os.environ["PATH"]
    try:
        bad = snakemake(workdir, "--cores", "1", "--default-resources", "slurm_partition=nosuch")
        good = snakemake(workdir, "-n", "--default-resources", "slurm_partition=gpu")
    finally:
        os.environ["PATH"] = before
    assert bad.returncode != 0
    text = bad.stdout + bad.stderr
    assert "unknown SLURM partition: default-resources asks for 'nosuch'" in text
    assert "This cluster has ['debug', 'gpu']" in text
    assert not (workdir / "results").exists()  # no job ran, not even a local one
    assert good.returncode == 0, (good.stdout + good.stderr)[-2000:]


@pytest.mark.workflow
def test_gpu_rules_ask_for_no_gpu_where_the_run_grants_none(tmp_path):
    workdir = prepare_workdir(tmp_path / "run")
    probe = workdir / "Snakefile.probe"
    probe.write_text(
        f'include: "{REPO / "Snakefile"}"\n\n'
        "rule gpu_probe:\n"
        '    output: "results/gpu_probe.txt"\n'
        "    resources: gpu=gpus(1)\n"
        '    shell: "echo {resources.gpu} > {output}"\n'
    )
    asked = {}
    for granted in (None, "0", "2"):
        extra = ["--resources", f"gpu={granted}"] if granted else []
        done = snakemake(workdir, "-n", "gpu_probe", *extra, snakefile=probe)
        assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
        asked[granted] = re.search(r"resources: .*gpu=(\d+)", done.stdout)[1]
    assert asked == {None: "1", "0": "0", "2": "1"}


def test_the_workflow_imports_no_deep_learning_library():
    # Every cluster job runs a Snakemake that parses the workflow; what the .smk files
    # import counts against each job's memory (JOB_MB in common/resources.smk). PyTorch alone
    # would add about 200 MB to every job.
    smk = "\n".join(p.read_text() for p in sorted((REPO / "workflow/rules").rglob("*.smk")))
    imports = sorted(set(re.findall(r"^\s*(from agrifactory[\w.]* import .+)$", smk, re.M)))
    assert "from agrifactory.soil_moisture import rules as sm_rules" in imports
    code = "import sys\n" + "".join(f"{line}\n" for line in imports)
    code += "print(sorted(m for m in ('torch', 'lightgbm', 'sklearn') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# A run's Snakemake log, cut down: one local rule, a SLURM job, and a SLURM job whose
# first attempt failed, its SLURM log (with the inner Snakemake's `localrule` line)
# copied in by show-failed-logs, then resubmitted.
RUN_LOG = """localrule demo_inventory:
    output: results/demo/inventory.csv
rule fuse:
Job 7 has been submitted with SLURM jobid 401 (log: /w/.snakemake/slurm_logs/group_tile_features/x/401.log).
rule training_set:
Job 60 has been submitted with SLURM jobid 410 (log: /w/.snakemake/slurm_logs/rule_training_set/2021/410.log).
Error in rule training_set:
    log: /w/.snakemake/slurm_logs/rule_training_set/2021/410.log (check log file(s) for error details)
Logfile /w/.snakemake/slurm_logs/rule_training_set/2021/410.log:
localrule training_set:
    output: results/training/2021/training_set.parquet
Trying to restart job 60.
Job 60 has been submitted with SLURM jobid 415 (log: /w/.snakemake/slurm_logs/rule_training_set/2021/415.log).
"""


def test_cluster_check_tells_local_rules_from_copied_slurm_logs():
    import importlib.util

    spec = importlib.util.spec_from_file_location("check", REPO / "tools/check_cluster_run.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    assert check.local_rules(RUN_LOG) == {"demo_inventory"}
    assert check.retried_jobs(RUN_LOG) == {"60": ["410", "415"]}
