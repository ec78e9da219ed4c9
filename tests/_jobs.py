"""A stand-in for the Snakemake job object the rules' run functions take."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from snakemake.iocontainers import Namedlist


def fake_job(
    *,
    input: dict[str, Any],
    output: dict[str, Any],
    params: dict[str, Any],
    log: str,
    wildcards: dict[str, Any] | None = None,
    resources: dict[str, Any] | None = None,
) -> SimpleNamespace:
    """``input``, ``output``, ``params``, ``wildcards`` as Snakemake's named lists."""
    return SimpleNamespace(
        input=Namedlist(fromdict={k: str(v) for k, v in input.items()}),
        output=Namedlist(fromdict={k: str(v) for k, v in output.items()}),
        params=Namedlist(fromdict=params),
        wildcards=Namedlist(fromdict=wildcards or {}),
        log=[str(log)],
        resources=Namedlist(fromdict=resources or {}),
        threads=1,
    )
