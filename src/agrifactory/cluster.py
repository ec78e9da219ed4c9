"""Checks of the SLURM cluster a run is about to use, made before any job runs.

The SLURM executor plugin passes a rule's ``slurm_partition`` resource to
``sbatch -p`` without checking it, so a profile that names a partition the
cluster does not have would fail only when the first job is submitted (and
after the local rules have run). The workflow instead asks ``sinfo`` for the
cluster's partitions when it is parsed and stops with a clear error.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Mapping

from agrifactory.errors import ConfigError

log = logging.getLogger(__name__)


def slurm_partitions(sinfo: str = "sinfo", timeout: float = 30.0) -> set[str] | None:
    """The partition names of the cluster (``sinfo -h -o %R``), or ``None`` without ``sinfo``.

    Raises
    ------
    ConfigError
        When ``sinfo`` exists but fails (e.g. no controller answers).
    """
    exe = shutil.which(sinfo)
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, "--noheader", "--format=%R"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"'{sinfo}' did not answer within {timeout:.0f} s; is the SLURM controller up?"
        ) from None
    if done.returncode != 0:
        raise ConfigError(
            f"'{sinfo}' failed (exit {done.returncode}: {done.stderr.strip()}); "
            "is the SLURM controller up?"
        )
    return {line.strip() for line in done.stdout.splitlines() if line.strip()}


def check_partitions(requested: Mapping[str, str], available: set[str]) -> None:
    """Raise :class:`ConfigError` for every requested partition the cluster lacks.

    Parameters
    ----------
    requested
        Where each partition is asked for (e.g. ``"default-resources"`` or
        ``"rule ingest"``) -> partition name.
    available
        The cluster's partitions (:func:`slurm_partitions`).
    """
    unknown = {where: p for where, p in requested.items() if p not in available}
    if unknown:
        listed = "; ".join(f"{where} asks for {p!r}" for where, p in sorted(unknown.items()))
        raise ConfigError(
            f"unknown SLURM partition: {listed}. This cluster has {sorted(available)} "
            "(sinfo -s). Fix slurm_partition in the profile (profiles/slurm/config.yaml: "
            "default-resources or set-resources) or in the rule."
        )
