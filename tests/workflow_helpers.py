"""Running the workflow for real in a temporary directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def prepare_workdir(workdir: Path) -> Path:
    """A working directory with the repository's config folder (as a new user has it)."""
    shutil.copytree(REPO / "config", workdir / "config")
    return workdir


def snakemake(
    workdir: Path,
    *args: str,
    configfile: str = "config/test.yaml",
    timeout: int = 1500,
    snakefile: Path = REPO / "Snakefile",
) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile (or another one) in ``workdir``."""
    cmd = [
        SNAKEMAKE,
        "-s",
        str(snakefile),
        "-d",
        str(workdir),
        "--configfile",
        configfile,
        *args,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(
        cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env
    )
