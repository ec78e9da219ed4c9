"""A local cache of remote files: whole downloads, resumable, checked by SHA-256.

With ``acquire.cache_dir`` set, every asset URL the ingest opens is first copied
whole into the cache, and later reads (another tile, another run) use the copy. A
download goes to ``<name>.part`` and continues where it stopped (an HTTP Range request
from the part's size) after an interruption; when complete, its SHA-256 is written
beside it (``<name>.sha256``) and checked again before each reuse, so a damaged copy is
fetched anew rather than read. Files are keyed by the URL without its query (signing
tokens change, the file does not).
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from agrifactory.errors import InputError

log = logging.getLogger(__name__)

CHUNK = 1 << 20


def cache_path(cache_dir: str | Path, url: str) -> Path:
    """Where the copy of ``url`` lives: a folder per URL (hash of it), the file's own name."""
    parsed = urlparse(url)
    key = f"{parsed.scheme}://{parsed.netloc}{parsed.path}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(cache_dir) / digest / PurePosixPath(parsed.path).name


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


#: Copies checked in this process, by (path, size, mtime): a tile job opens the same
#: asset several times, and hashing a whole scene on every open would cost more than
#: the read; a copy changed since (size or mtime) is checked again.
_VERIFIED: set[tuple[str, int, int]] = set()


def _is_complete(path: Path) -> bool:
    """The copy exists and still has the checksum recorded when it was downloaded."""
    sidecar = path.with_name(path.name + ".sha256")
    if not (path.exists() and sidecar.exists()):
        return False
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _VERIFIED:
        return True
    if sha256_of(path) == sidecar.read_text().split()[0]:
        _VERIFIED.add(key)
        return True
    log.warning("%s: does not match its recorded SHA-256; downloading it again", path)
    path.unlink()
    sidecar.unlink()
    return False


def _download(url: str, part: Path, timeout_s: float) -> None:
    """Append the rest of ``url`` to ``part`` (all of it when the server ignores Range)."""
    start = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            resumed = answer.status == 206
            total = answer.headers.get("Content-Length")
            expected = (start if resumed else 0) + int(total) if total else None
            with part.open("ab" if resumed else "wb") as out:
                for block in iter(lambda: answer.read(CHUNK), b""):
                    out.write(block)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # the part is already whole
            return
        raise
    if expected is not None and part.stat().st_size != expected:
        raise OSError(f"got {part.stat().st_size} of {expected} bytes")


def cached(url: str, signed_url: str, cache_dir: str | Path, timeout_s: float = 60) -> Path:
    """The local copy of ``url`` (downloaded from ``signed_url`` if it is not complete yet).

    Raises :class:`InputError` naming the URL when the download fails; what was
    received stays in ``<name>.part`` for the next try to continue.
    """
    path = cache_path(cache_dir, url)
    if _is_complete(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    from agrifactory.io.remote import http_problem

    try:
        _download(signed_url, part, timeout_s)
    except urllib.error.HTTPError as exc:
        raise InputError(url, *http_problem(f"HTTP response code: {exc.code}")) from None
    except (urllib.error.URLError, OSError) as exc:
        raise InputError(url, *http_problem(f"download cut ({exc})")) from None
    path.with_name(path.name + ".sha256").write_text(f"{sha256_of(part)}  {path.name}\n")
    os.replace(part, path)
    log.info("cached %s (%d bytes)", url, path.stat().st_size)
    return path
