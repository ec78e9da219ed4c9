"""A Snakemake job object for calling :mod:`agrifactory.classify.rules` entries in tests.

The entries take the job that Snakemake passes to a rule script: named lists
``input``, ``output``, ``params`` and ``wildcards`` (attribute and key access,
``items()``), ``log`` and ``threads``. Params default to the settings model's
defaults (:class:`~agrifactory.classify.rules.ClassifySettings`), so tests never
copy a default by hand.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from snakemake.iocontainers import Namedlist

from agrifactory.classify.rules import ClassifySettings

#: The ``classify`` section with every default, as the workflow passes it in params.
DEFAULTS: dict[str, Any] = ClassifySettings().model_dump()


def named(values: dict[str, Any]) -> Namedlist:
    """A Snakemake named list (paths as strings, as Snakemake gives them)."""
    return Namedlist(fromdict={k: str(v) if isinstance(v, Path) else v for k, v in values.items()})


def job(
    log: Path,
    *,
    input: dict[str, Any],
    output: dict[str, Any],
    params: dict[str, Any] | None = None,
    wildcards: dict[str, Any] | None = None,
    threads: int = 1,
) -> SimpleNamespace:
    """A job with these inputs, outputs, params and wildcards, logging to ``log``."""
    return SimpleNamespace(
        input=named(input),
        output=named(output),
        params=named(params or {}),
        wildcards=named({k: str(v) for k, v in (wildcards or {}).items()}),
        log=[str(log)],
        threads=threads,
        resources=named({}),
    )
