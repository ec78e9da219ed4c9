"""Atomic file writing: a killed job never leaves a file that looks complete.

A writer that is killed (SIGKILL, node failure) leaves its hidden temporary
behind; the next writer of the same path removes it, so a rerun leaves no
``*.tmp*`` files. Only one writer per path at a time is assumed, as Snakemake
guarantees for rule outputs.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path


def in_folder(folder: str, names: Mapping[str, str]) -> dict[str, str]:
    """``{key: folder/name}``: a rule's named outputs (a contract's ``{key: file}``) in
    ``folder``, e.g. ``in_folder("results/tiles/{tile}/{year}/fusion", FUSE_OUTPUTS)``."""
    return {key: f"{folder}/{name}" for key, name in names.items()}


def temporary_sibling(path: Path, tag: str | None = None) -> Path:
    """A unique hidden name beside ``path`` that keeps its suffix (``.x.<id>.tmp.tif``).

    ``tag`` marks a second kind of temporary of the same path (``.x.<tag>.<id>.tmp.tif``).
    """
    middle = f"{tag}." if tag else ""
    return path.with_name(f".{path.stem}.{middle}{uuid.uuid4().hex[:12]}.tmp{path.suffix}")


def stale_temporaries(path: str | Path, tag: str | None = None) -> list[Path]:
    """Temporaries of ``path`` (of one ``tag``) that a killed writer left behind."""
    path = Path(path)
    middle = rf"\.{re.escape(tag)}" if tag else ""
    pattern = re.compile(
        rf"^\.{re.escape(path.stem)}{middle}\.[0-9a-f]{{12}}\.tmp{re.escape(path.suffix)}$"
    )
    if not path.parent.is_dir():
        return []
    return sorted(p for p in path.parent.iterdir() if pattern.match(p.name))


def remove_stale_temporaries(path: str | Path, tag: str | None = None) -> None:
    """Delete the temporaries of ``path`` (of one ``tag``) left by a killed writer."""
    for stale in stale_temporaries(path, tag):
        stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    The temporary file lives in the same directory, so the rename is atomic on one
    file system, and keeps the suffix, so writers that pick a format by extension
    still work. On any exception the temporary file is removed and ``path`` is left
    untouched. Temporaries of ``path`` left by an earlier, killed writer are removed
    first.

    Examples
    --------
    >>> with atomic_path("out.csv") as tmp:  # doctest: +SKIP
    ...     table.to_csv(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def for_year(path: str | Path, year: int) -> str:
    """``path`` with ``{year}`` replaced by ``year`` (config paths of one run year)."""
    return str(path).replace("{year}", str(int(year)))
