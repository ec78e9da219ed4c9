"""Trust at scale, on the small demo: determinism, kill and resume, incremental rebuilds.

The session's demo run (conftest.demo_run) is the reference. A second run is killed
with SIGKILL in the middle of the ingest (Snakemake and its running jobs at once, as
when a node dies) and resumed with --rerun-incomplete; it must end byte-identical to
the reference, which also shows that two runs of one config give the same products.
Dry runs on copies of the reference then check what a change reruns, against the DAG
itself, so the checks grow with the workflow.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import psutil
import pytest
import yaml
from workflow_helpers import REPO, SNAKEMAKE, prepare_workdir, snakemake

from agrifactory.manifest import (
    compare_manifests,
    product_files,
    read_manifest,
    sha256_file,
)

pytestmark = [pytest.mark.workflow, pytest.mark.early]
TILES = ["h625v245", "h626v245", "h625v246", "h626v246"]
WORKFLOW = ("Snakefile", "workflow", "scripts", "envs", "profiles")


def copy_workflow(dest: Path) -> Path:
    """A private copy of the workflow code (so a test may edit a caption); returns its Snakefile."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            shutil.copy2(src, dest / name)
    return dest / "Snakefile"


def job_key(rule: str, wildcards: dict[str, str]) -> str:
    """``rule[k=v,...]``: one job, the same whichever Snakemake output named it."""
    return rule + "[" + ",".join(f"{k}={v}" for k, v in sorted(wildcards.items())) + "]"


def dry_run_jobs(
    workdir: Path,
    snakefile: Path = REPO / "Snakefile",
    configfile: str = "config/test.yaml",
    args: tuple[str, ...] = (),
) -> set[str]:
    """The jobs a dry run (with extra ``args``) would execute."""
    done = snakemake(workdir, "-n", *args, snakefile=snakefile, configfile=configfile, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    jobs, rule = set(), None
    for line in done.stdout.splitlines():
        m = re.match(r"^\s*(?:local)?rule (\w+):$", line)
        if m:
            if rule is not None:
                jobs.add(job_key(rule, {}))
            rule = m[1]
            continue
        m = re.match(r"^\s+wildcards: (.*)$", line)
        if m and rule is not None:
            wc = dict(kv.split("=", 1) for kv in m[1].split(", "))
            jobs.add(job_key(rule, wc))
            rule = None
    if rule is not None:
        jobs.add(job_key(rule, {}))
    return jobs


def forced_jobs(workdir: Path, *targets: str, configfile: str = "config/test.yaml") -> set[str]:
    """What depends on ``targets`` (rules or files), by Snakemake's own DAG: ``--forcerun``.

    (``snakemake --dag`` labels a job only with the wildcards its inputs' jobs lack,
    so its labels cannot name jobs uniquely.)
    """
    return dry_run_jobs(workdir, configfile=configfile, args=("--forcerun", *targets))


def products(workdir: Path) -> dict[str, str]:
    """SHA-256 of every product file of a run (as the manifest defines them)."""
    results = workdir / "results"
    files = product_files(results, manifest=results / "manifest.sha256")
    return {f.relative_to(workdir).as_posix(): sha256_file(f) for f in files}


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL a process and all its descendants at once (no chance to clean up)."""
    parent = psutil.Process(proc.pid)
    for p in [*parent.children(recursive=True), parent]:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    proc.wait(timeout=60)


@pytest.fixture(scope="module")
def reference(demo_run) -> Path:
    """The session's uninterrupted demo run (shared; only ever read here)."""
    return demo_run


@pytest.fixture(scope="module")
def killed(tmp_path_factory) -> dict:
    """A second demo run, SIGKILLed mid-ingest, then resumed with --rerun-incomplete
    (independent of the reference run, so that under pytest-xdist both run at once)."""
    workdir = prepare_workdir(tmp_path_factory.mktemp("killed"))
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2"]
    cmd += ["--configfile", "config/test.yaml"]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    with open(workdir / "killed-run.log", "w") as out:
        proc = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, env=env)
    # Wait until an ingest job is part-way through its dates, then kill everything.
    logs = workdir / "results/logs/ingest"
    deadline = time.monotonic() + 1200
    while time.monotonic() < deadline and proc.poll() is None:
        if any("landsat 5/28" in f.read_text() for f in logs.glob("*.log")):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before the ingest could be killed"
    kill_tree(proc)
    after_kill = {
        "temporaries": sorted(p.name for p in (workdir / "results").rglob("*.tmp*")),
        "products": products(workdir),
        "ingested": [
            t for t in TILES if (workdir / f"results/tiles/{t}/2021/ingest/inventory.csv").exists()
        ],
    }
    unlock = snakemake(workdir, "--unlock")
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    resumed = snakemake(workdir, "--cores", "2", "--rerun-incomplete")
    assert resumed.returncode == 0, (resumed.stdout + resumed.stderr)[-4000:]
    return {"workdir": workdir, "after_kill": after_kill}


def test_the_kill_hit_the_ingest_mid_write(killed):
    # Writers were busy (their hidden temporaries were on disk) and tiles unfinished.
    assert any(".staging." in name for name in killed["after_kill"]["temporaries"])
    assert len(killed["after_kill"]["ingested"]) < len(TILES)


def test_no_product_was_half_written_when_killed(killed, reference):
    # Every file that carried its final name at the moment of the kill is complete:
    # byte-identical to the same file of the uninterrupted run.
    at_kill = killed["after_kill"]["products"]
    assert at_kill, "nothing was finished before the kill"
    ref = products(reference)
    assert {p: d for p, d in at_kill.items() if ref.get(p) != d} == {}


def test_resumed_run_is_complete_and_byte_identical(killed, reference):
    ref, got = products(reference), products(killed["workdir"])
    assert len(ref) > 250
    assert compare_manifests(ref, got) == []


def test_no_temporary_file_remains_after_resume(killed):
    left = [p for p in (killed["workdir"] / "results").rglob("*") if ".tmp" in p.name]
    assert left == []


def test_manifest_lists_every_product_and_two_runs_agree(killed, reference):
    manifest = read_manifest(reference / "results/manifest.sha256")
    assert manifest == products(reference)  # every product, checked against the files
    assert not any(p.startswith(("results/logs/", "results/benchmarks/")) for p in manifest)
    assert "results/tiles/h625v245/2021/ingest/landsat_ndvi.tif" in manifest
    assert "results/tiles.gpkg" in manifest
    # The workflow's own manifests of two runs (one of them killed and resumed) agree.
    second = read_manifest(killed["workdir"] / "results/manifest.sha256")
    assert compare_manifests(manifest, second) == []


def test_report_html_and_stray_files_leave_the_manifest_unchanged(reference_copy):
    # The manifest hashes declared outputs only: after `snakemake --report` into
    # results/ and a file of the user's there, a rerun of the manifest gives the same bytes.
    manifest = reference_copy / "results/manifest.sha256"
    before = manifest.read_bytes()
    done = snakemake(reference_copy, "--report", "results/report.html", timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert (reference_copy / "results/report.html").stat().st_size > 0
    (reference_copy / "results/notes.txt").write_text("a note of the user's")
    rerun = snakemake(reference_copy, "--cores", "2", "--forcerun", "manifest")
    assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-3000:]
    assert "rule manifest:" in rerun.stdout + rerun.stderr
    assert manifest.read_bytes() == before


@pytest.fixture(scope="module")
def provenance_jobs(reference) -> set[str]:
    """The provenance record (it holds the whole config) and what depends on it."""
    return forced_jobs(reference, "provenance")  # a dry run: the reference stays as it is


@pytest.fixture
def reference_copy(tmp_path, reference) -> Path:
    """A copy of the finished reference run (times and Snakemake's records kept)."""
    dest = tmp_path / "copy"
    shutil.copytree(reference, dest, symlinks=True)
    return dest


def test_nothing_to_do_after_a_complete_run(reference_copy):
    assert dry_run_jobs(reference_copy) == set()


def _change_tile_input(workdir: Path, tile: str) -> list[str]:
    """Change a tile's ingested stacks (the input of its whole chain); returns their paths.

    Their content changes (Snakemake compares checksums of files under 1 MB, so a bare
    touch of a small file would rerun nothing) and they become newer than what uses them.
    """
    later = time.time() + 5
    files = sorted((workdir / f"results/tiles/{tile}/2021/ingest").iterdir())
    for f in files:
        with open(f, "ab") as out:
            out.write(b"\n")
        os.utime(f, (later, later))
    return [f.relative_to(workdir).as_posix() for f in files]


def test_changing_one_tiles_input_reruns_exactly_what_depends_on_it(reference_copy):
    tile = TILES[1]
    changed = _change_tile_input(reference_copy, tile)
    expected = forced_jobs(reference_copy, *changed) - {
        job_key("ingest", {"tile": tile, "year": "2021"})
    }
    rerun = dry_run_jobs(reference_copy)
    assert rerun == expected
    assert job_key("manifest", {}) in rerun  # a fan-in
    # No other tile's ingest; other tiles' later jobs only through the fan-ins that
    # read every tile (the scorer trained on this tile, the classifiers' training set).
    assert not {j for j in rerun if j.startswith("ingest[")}
    assert job_key("quality_scorer", {"year": "2021"}) in rerun


def test_with_a_given_scorer_a_changed_tile_reruns_no_other_tiles_fusion(reference_copy):
    # quality.scorer_weights: the quality jobs read a scorer trained earlier, so the
    # only fan-ins left between a tile's input and other tiles are the classifiers'.
    shutil.copy2(
        reference_copy / "results/models/quality_scorer/2021/scorer.pt",
        reference_copy / "config/scorer.pt",
    )
    config = yaml.safe_load((reference_copy / "config/test.yaml").read_text())
    config["quality"] = {**config.get("quality", {}), "scorer_weights": "config/scorer.pt"}
    (reference_copy / "config/given.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    # Switching to the given scorer changes the quality jobs' inputs: accept the
    # existing products once (forget Snakemake's records of their inputs and params).
    outputs = [
        f"results/tiles/{t}/2021/quality/{n}"
        for t in TILES
        for n in (
            "scores.csv",
            "mask.tif",
            "pairs.csv",
            "nearest_pairs.csv",
            "validation_pairs.csv",
            "quicklook.png",
        )
    ]
    done = snakemake(reference_copy, "--cleanup-metadata", *outputs, configfile="config/given.yaml")
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    settled = dry_run_jobs(reference_copy, configfile="config/given.yaml")
    assert not {j for j in settled if j.split("[")[0] in ("quality", "fuse", "smooth", "features")}

    tile = TILES[1]
    _change_tile_input(reference_copy, tile)
    rerun = dry_run_jobs(reference_copy, configfile="config/given.yaml")
    assert job_key("quality_scorer", {"year": "2021"}) not in rerun
    per_tile_before_models = {
        j for j in rerun if j.split("[")[0] in ("quality", "fuse", "smooth", "features")
    }
    assert per_tile_before_models == {
        job_key(r, {"tile": tile, "year": "2021"})
        for r in ("quality", "fuse", "smooth", "features")
    }


@pytest.mark.parametrize(
    ("change", "stage"),
    [
        ({"ingest": {"resampling": "nearest"}}, "ingest"),
        ({"fusion": {"use_quality_mask": False}}, "fuse"),
        ({"manifest": {"exclude": ["logs/*", "benchmarks/*", "report/*"]}}, "manifest"),
    ],
)
def test_changing_a_stage_parameter_reruns_that_stage_and_what_depends_on_it(
    reference_copy, provenance_jobs, change, stage
):
    config = yaml.safe_load((reference_copy / "config/test.yaml").read_text())
    for section, values in change.items():
        config.setdefault(section, {}).update(values)
    # Key order kept: Snakemake compares dict params by their text.
    (reference_copy / "config/changed.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    expected = forced_jobs(reference_copy, stage)
    assert job_key(stage, {}) in {j.split("[")[0] + "[]" for j in expected}
    expected |= provenance_jobs  # it follows every config change
    rerun = dry_run_jobs(reference_copy, configfile="config/changed.yaml")
    assert rerun == expected


def test_changing_only_a_report_caption_reruns_no_job_and_changes_the_report(
    reference_copy, tmp_path
):
    # The report is `snakemake --report` over the finished run: captions are read
    # when it is built, they are no job's input. A caption-only change reruns no job,
    # and the next report shows the new caption.
    snakefile = copy_workflow(tmp_path / "workflow")
    captions = sorted((tmp_path / "workflow/workflow/report").glob("*.rst"))
    if not captions:
        pytest.skip("no report captions (workflow/report/*.rst)")
    caption = next(c for c in captions if c.name == "qa_summary.rst")
    caption.write_text(caption.read_text() + "\nCaption edited by test_workflow_scale.\n")
    assert dry_run_jobs(reference_copy, snakefile) == set()
    done = snakemake(reference_copy, "--report", "report.zip", snakefile=snakefile, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    with zipfile.ZipFile(reference_copy / "report.zip") as z:
        text = "".join(
            z.read(n).decode("utf-8", "replace")
            for n in z.namelist()
            if n.endswith((".html", ".js"))
        )
    assert "Caption edited by test_workflow_scale." in text
