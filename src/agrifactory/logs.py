"""Logging set-up shared by rule scripts and the command line."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> None:
    """Send the ``agrifactory`` loggers to ``log_file`` (if given) and to stderr.

    Rule scripts call this first with ``snakemake.log[0]`` so progress and every
    skipped or repaired item end up in the rule's log. A log file's first line says
    where the job runs: the SLURM job id when it runs under SLURM (``SLURM_JOB_ID``),
    so a cluster run can be checked job by job (see docs/scaling.md).
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    if log_file is not None:
        logging.getLogger("agrifactory").info("%s", where_running())


def where_running() -> str:
    """``SLURM_JOB_ID=<id> on <host>`` under SLURM, else ``not under SLURM, on <host>``."""
    host = socket.gethostname()
    job = os.environ.get("SLURM_JOB_ID")
    if job:
        return f"SLURM_JOB_ID={job} on {host}"
    return f"not under SLURM, on {host}"


def _log_uncaught(exc_type: type[BaseException], exc: BaseException, tb: object) -> None:
    """Put an uncaught error with its traceback into the log, so a rule's log explains its failure."""
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logging.getLogger("agrifactory").critical("failed: %s", exc, exc_info=(exc_type, exc, tb))
