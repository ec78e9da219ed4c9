"""Shared fixtures: the real data in ../shared/data and small helpers."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The `stac_services` fixture (a real STAC API and COG server, docs/stac.md).
pytest_plugins = ["_stac_fixtures"]

SHARED_DATA = Path(os.environ.get("AGRIFACTORY_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real third-party data; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real data folder {SHARED_DATA} is absent (clone with ../shared beside the repo)"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """One real Snakemake run of the test config (config/test.yaml), shared by the
    workflow test modules so the whole factory runs once per session.

    Under pytest-xdist (``make test`` runs two workers) the run is shared by all
    workers: the first to ask runs it in the session's common temporary folder while
    the others wait on a lock, then read it. Tests only ever read this folder.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return _run_demo(tmp_path_factory.mktemp("demo"))
    workdir = tmp_path_factory.getbasetemp().parent / "demo_run"
    with open(f"{workdir}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        failed = workdir / ".run-failed"
        if failed.exists():
            pytest.fail(f"the shared demo run failed in another worker:\n{failed.read_text()}")
        if not (workdir / ".run-complete").exists():
            workdir.mkdir(exist_ok=True)
            try:
                _run_demo(workdir)
            except Exception as exc:  # a failed run or a timeout: the others report it
                failed.write_text(f"{type(exc).__name__}: {exc}")
                raise
            (workdir / ".run-complete").touch()
    return workdir


def _run_demo(workdir: Path) -> Path:
    from workflow_helpers import prepare_workdir, snakemake

    prepare_workdir(workdir)
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return workdir


def pytest_collection_modifyitems(config, items) -> None:
    """Module order for pytest-xdist (``make test``: ``-n 2 --dist loadscope
    --no-loadscope-reorder``, which keeps a module on one worker and hands modules out
    in this order): modules marked ``early`` first, so that their long workflow runs
    (the shared demo run, the killed run, soil moisture) start at once on different
    workers; then the rest; the modules that read the demo run last, when it is done.
    Stable within each rank; a module stays whole (its module fixtures are built once).
    """
    fixtures: dict[str, set[str]] = {}
    early: set[str] = set()
    for item in items:
        fixtures.setdefault(item.module.__name__, set()).update(item.fixturenames)
        if item.get_closest_marker("early"):
            early.add(item.module.__name__)

    def rank(item) -> int:
        module = item.module.__name__
        if module in early:
            return 0
        return 2 if "demo_run" in fixtures[module] else 1

    items.sort(key=rank)
