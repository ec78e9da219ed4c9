"""The run manifest: the SHA-256 checksum of every product file of a run.

Two runs of the same config must give byte-identical products; the manifest
lets anyone check that by comparing two small text files, and
``sha256sum -c results/manifest.sha256`` verifies a results folder against it.

What is in it: every file under the results folder that a rule of the workflow
declares as an output (``declared``: the rules' output patterns, such as
``results/tiles/{tile}/{year}/fusion/ndvi_8day.tif``, or a folder's pattern
ending in ``/`` for a ``directory()`` output), except

- hidden files (names starting with ``.``: temporaries of a writer, Snakemake's
  ``.snakemake_timestamp`` markers),
- the manifest itself,
- files matching one of the ``exclude`` patterns (config ``manifest.exclude``;
  by default the logs, the benchmark records and the provenance record, which
  describe how and when a run went: times, hosts, versions).

Files no rule declares are left out whatever their name: ``report.html`` written
by ``snakemake --report results/report.html``, a file copied into results/ by hand,
a GIS's side-car file. So two runs of one config have identical manifests whether
or not ``--report`` ran. Wildcards of the output patterns match as in Snakemake
(``{name}`` any text, ``{name,regex}`` the regex).

Exclude patterns are matched with :func:`fnmatch.fnmatchcase` against the path relative
to the results folder, where ``*`` also crosses ``/`` (``logs/*`` is every log).
Lines are ``<sha256>  <path>`` (the ``sha256sum`` format), paths relative to the
working directory, sorted by path.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agrifactory.errors import InputError
from agrifactory.io.files import write_text_atomic
from agrifactory.report.rules import ManifestSettings

log = logging.getLogger(__name__)

#: Excluded by default (config ``manifest.exclude``): records of how a run went
#: (times, hosts), not what it made.
DEFAULT_EXCLUDE = tuple(ManifestSettings().exclude)

_CHUNK = 1 << 20

#: A wildcard of a Snakemake file pattern: ``{name}`` or ``{name,constraint}``
#: (the constraint may hold one level of braces, as in ``{w,a{3,5}}``).
_WILDCARD = re.compile(
    r"\{\s*(?P<name>[.\w]+)(?:\s*,\s*(?P<constraint>(?:[^{}]+|\{\d+(?:,\d+)?\})*))?\s*\}"
)


def pattern_regex(pattern: str) -> str:
    """The regex of one declared output pattern (a folder's pattern ends with ``/``)."""
    parts, last = [], 0
    for m in _WILDCARD.finditer(pattern):
        parts.append(re.escape(pattern[last : m.start()]))
        parts.append(f"(?:{m['constraint']})" if m["constraint"] else ".+")
        last = m.end()
    parts.append(re.escape(pattern[last:]))
    if pattern.endswith("/"):
        parts.append(".+")  # every file inside a directory() output
    return "".join(parts)


def declared_matcher(declared: Sequence[str]) -> re.Pattern[str]:
    """One regex that matches a path exactly when a declared output pattern does."""
    alternatives = sorted({pattern_regex(p) for p in declared})
    return re.compile("(?:" + "|".join(alternatives) + ")" if alternatives else "(?!)")


def product_files(
    results: str | Path,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    manifest: str | Path = "",
    declared: Sequence[str] | None = None,
) -> list[Path]:
    """The product files under ``results`` (see the module docstring), sorted.

    ``declared``: the workflow's output patterns, relative to the working directory
    as ``results`` is (None: every file, for checks of a results folder by hand).
    """
    results = Path(results)
    skip = Path(manifest).resolve() if manifest else None
    matcher = declared_matcher(declared) if declared is not None else None
    out = []
    for path in results.rglob("*"):
        rel = path.relative_to(results)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if skip is not None and path.resolve() == skip:
            continue
        if any(fnmatch.fnmatchcase(rel.as_posix(), pat) for pat in exclude):
            continue
        if matcher is not None and not matcher.fullmatch(path.as_posix()):
            continue
        out.append(path)
    return sorted(out, key=lambda p: p.as_posix())


def sha256_file(path: str | Path) -> str:
    """The hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksums(paths: Iterable[str | Path], threads: int = 1) -> dict[str, str]:
    """``{path: sha256}`` of files (hashed in ``threads`` threads; hashlib releases the GIL)."""
    paths = [Path(p) for p in paths]
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        digests = list(pool.map(sha256_file, paths))
    return {p.as_posix(): d for p, d in zip(paths, digests, strict=True)}


def write_manifest(
    results: str | Path,
    manifest: str | Path,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    threads: int = 1,
    declared: Sequence[str] | None = None,
) -> dict[str, str]:
    """Hash every product under ``results`` and write the manifest; returns the checksums.

    ``declared``: the workflow's output patterns (see :func:`product_files`).
    """
    files = product_files(results, exclude, manifest, declared)
    sums = checksums(files, threads)
    total_mb = sum(f.stat().st_size for f in files) / 1e6
    write_text_atomic(manifest, "".join(f"{d}  {p}\n" for p, d in sums.items()))
    log.info("manifest: %d files, %.1f MB, written to %s", len(sums), total_mb, manifest)
    return sums


def read_manifest(path: str | Path) -> dict[str, str]:
    """``{path: sha256}`` from a manifest file."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "manifest not found", "run the workflow to its end first")
    out = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            raise InputError(path, f"line {i} is not '<sha256>  <path>': {line!r}")
        out[name] = digest
    return out


def compare_manifests(a: Mapping[str, str], b: Mapping[str, str]) -> list[str]:
    """Human-readable differences between two manifests (empty when they agree)."""
    diffs = [f"only in the first: {p}" for p in sorted(set(a) - set(b))]
    diffs += [f"only in the second: {p}" for p in sorted(set(b) - set(a))]
    diffs += [f"content differs: {p}" for p in sorted(set(a) & set(b)) if a[p] != b[p]]
    return diffs
