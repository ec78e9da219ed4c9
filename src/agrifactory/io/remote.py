"""Reading rasters where they lie: HTTP(S) URLs through GDAL's range requests.

A Cloud-Optimized GeoTIFF is read block by block: GDAL asks the server for the
byte ranges of the blocks a window needs (``/vsicurl/``), so warping one tile out of a
scene fetches that tile's blocks and the file's header, not the whole file.
:func:`remote_reads` sets the GDAL options that make this cheap and robust (no
directory listing per file, merged ranges, a block cache, timeouts and GDAL's own
retries of HTTP 429/5xx) and the policy of :func:`reading` for the code inside it:
each read of a URL is tried again after a failure (a dropped connection, a timeout),
with doubling waits, and URLs are signed just before they are opened where the
provider needs it (Planetary Computer's short-lived tokens).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import rasterio

from agrifactory.errors import InputError

log = logging.getLogger(__name__)

T = TypeVar("T")

_SCHEMES = ("http://", "https://", "/vsicurl/", "s3://", "gs://", "az://")
_HTTP_CODE = re.compile(r"HTTP (?:response )?code:? (\d{3})", re.IGNORECASE)


def is_url(path: object) -> bool:
    """Whether ``path`` names a remote file (a URL or a GDAL ``/vsicurl/`` path)."""
    return isinstance(path, str) and path.startswith(_SCHEMES)


@dataclass(frozen=True)
class RemotePolicy:
    """How remote reads are retried and signed (set by :func:`remote_reads`)."""

    retries: int = 3
    retry_wait_s: float = 1.0
    timeout_s: int = 60
    signing: str = "none"
    cache_dir: str | None = None


_POLICY: contextvars.ContextVar[RemotePolicy] = contextvars.ContextVar(
    "remote_policy",
    default=RemotePolicy(),  # noqa: B039 - a frozen dataclass
)


def gdal_options(policy: RemotePolicy) -> dict[str, str | int | bool]:
    """GDAL configuration for reading COGs over HTTP."""
    return {
        # Opening a URL must not list its "directory" (a request per file, often a 403).
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff,.TIFF,.jp2,.hdf",
        "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
        "GDAL_HTTP_MULTIPLEX": "YES",
        "GDAL_HTTP_TIMEOUT": str(policy.timeout_s),
        "GDAL_HTTP_MAX_RETRY": str(policy.retries),
        "GDAL_HTTP_RETRY_DELAY": str(policy.retry_wait_s),
        "VSI_CACHE": True,
    }


@contextlib.contextmanager
def remote_reads(policy: RemotePolicy | None = None) -> Iterator[RemotePolicy]:
    """GDAL options and the retry/signing policy for every read inside the block."""
    policy = policy or RemotePolicy()
    token = _POLICY.set(policy)
    try:
        with rasterio.Env(**gdal_options(policy)):
            yield policy
    finally:
        _POLICY.reset(token)


def signed(url: str) -> str:
    """The URL to open: signed with a short-lived token where the provider needs one."""
    if _POLICY.get().signing == "planetary-computer":
        import planetary_computer

        return planetary_computer.sign(url)
    return url


def local_copy(url: str) -> str:
    """What to open for ``url``: its copy in the cache where one is set (downloaded first
    if needed, :mod:`agrifactory.io.cache`), else the signed URL itself."""
    policy = _POLICY.get()
    if policy.cache_dir is None:
        return signed(url)
    from agrifactory.io.cache import cached

    return str(cached(url, signed(url), policy.cache_dir, policy.timeout_s))


def http_problem(message: str) -> tuple[str, str]:
    """What a GDAL/curl error message says went wrong, and what to do about it."""
    m = _HTTP_CODE.search(message)
    code = int(m.group(1)) if m else None
    if code == 404:
        return "HTTP 404: the server has no such file", (
            "the asset is gone or the item is stale: run the acquisition again "
            "(rule acquire, or 'agrifactory acquire')"
        )
    if code in (401, 403):
        return f"HTTP {code}: access refused", (
            "the URL needs signing or credentials: check acquire.providers.<name>.signing "
            "(Planetary Computer) or your cloud credentials (requester-pays buckets)"
        )
    if code is not None:
        return f"HTTP {code} ({message})", "the server failed: try again later"
    return f"could not be read ({message})", (
        "the connection failed or was cut: check the network and the server, then run again "
        "(acquire.retries sets how often a read is tried)"
    )


def retried(
    call: Callable[[], T],
    what: str,
    *,
    retries: int,
    wait_s: float,
    errors: tuple[type[BaseException], ...] = (Exception,),
    permanent: Callable[[BaseException], bool] = lambda exc: False,
) -> T:
    """``call()``, tried again up to ``retries`` times after one of ``errors``, waiting
    ``wait_s`` and doubling the wait each time; the last error (or a permanent one) is raised."""
    for attempt in range(retries + 1):
        try:
            return call()
        except errors as exc:
            if attempt == retries or permanent(exc):
                raise
            wait = wait_s * 2**attempt
            log.warning(
                "%s: %s; attempt %d failed, retrying in %.1f s", what, exc, attempt + 1, wait
            )
            time.sleep(wait)
    raise AssertionError("unreachable")


class _ReadFailure(Exception):
    """A failed read of a URL: what went wrong and what to do (from :func:`http_problem`)."""

    def __init__(self, problem: str, hint: str) -> None:
        super().__init__(problem)
        self.problem, self.hint = problem, hint

    @property
    def permanent(self) -> bool:
        return self.problem.startswith(("HTTP 404", "HTTP 401", "HTTP 403"))


def reading(path: str, read: Callable[[], T], what: str = "") -> T:
    """``read()``; for a URL, tried again after a failure, then an :class:`InputError`.

    ``what`` names the item or scene in the message. A local file is read once: a
    corrupt file does not get better by reading it again, nor does an HTTP 404.
    """
    if not is_url(path):
        return read()
    policy = _POLICY.get()
    failed = False

    def attempt() -> T:
        nonlocal failed
        # After a failure GDAL must not answer from what it cached of the URL.
        fresh = {"CPL_VSIL_CURL_NON_CACHED": f"/vsicurl/{path}"} if failed else {}
        try:
            with rasterio.Env(**fresh):
                return read()
        except InputError as exc:  # already says what went wrong (open_raster)
            failed = True
            raise _ReadFailure(exc.problem, exc.hint) from None
        except rasterio.errors.RasterioError as exc:
            failed = True
            raise _ReadFailure(*http_problem(str(exc))) from None

    try:
        return retried(
            attempt,
            path,
            retries=policy.retries,
            wait_s=policy.retry_wait_s,
            errors=(_ReadFailure,),
            permanent=lambda exc: getattr(exc, "permanent", False),
        )
    except _ReadFailure as exc:
        where = f" ({what})" if what else ""
        tries = "" if exc.permanent else f" after {policy.retries + 1} attempt(s)"
        raise InputError(path, f"{exc.problem}{tries}{where}", exc.hint) from None


def read_text(url: str) -> str:
    """A small text file (a metadata file) at ``url``, signed and retried as raster reads are."""
    import urllib.error
    import urllib.request

    def get() -> str:
        try:
            if _POLICY.get().cache_dir is not None:
                with open(local_copy(url), encoding="utf-8") as f:
                    return f.read()
            with urllib.request.urlopen(signed(url), timeout=_POLICY.get().timeout_s) as answer:
                return answer.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            raise InputError(url, *http_problem(f"HTTP response code: {exc.code}")) from None
        except (urllib.error.URLError, OSError, UnicodeDecodeError) as exc:
            raise InputError(url, *http_problem(str(exc))) from None

    return reading(url, get)
