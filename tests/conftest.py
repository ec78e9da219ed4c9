"""Shared fixtures: the real data in ../shared/data and small helpers."""

from __future__ import annotations

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
    workflow test modules so the whole factory runs once per session."""
    from workflow_helpers import prepare_workdir, snakemake

    workdir = prepare_workdir(tmp_path_factory.mktemp("demo"))
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return workdir
