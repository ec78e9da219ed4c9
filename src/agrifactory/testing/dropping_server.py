"""A real HTTP server that drops the connection mid-body, for tests of remote reads.

Run as its own process (``python -m agrifactory.testing.dropping_server ROOT PORT
CUT``); `agrifactory.testing.stac_services` puts it behind nginx at ``/drop/`` and
``/drop-once/``. For a file under ROOT it answers like a static server (200, or 206
with ``Content-Range`` for a single ``Range: bytes=...``), announcing the full
``Content-Length``, then sends at most CUT bytes of the body and closes the socket.
A client therefore sees a response that ends early, exactly after CUT bytes:

* ``/drop/<file>``: every request is cut;
* ``/drop-once/<token>/<file>``: the first request for each path is cut, the later
  ones are served in full (a token per test keeps tests apart), for retry tests.

Missing files answer 404. Python's standard library only.
"""

from __future__ import annotations

import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single-range ``Range`` header.

    None for no header (the whole file). Raises ValueError for a range this server
    does not serve (several ranges, unsatisfiable).
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        raise ValueError(f"unsupported Range {header!r}")
    first, last = match.groups()
    if first == "":  # suffix: the last n bytes
        return max(size - int(last), 0), size - 1
    last_byte = min(int(last), size - 1) if last else size - 1
    if int(first) > last_byte:
        raise ValueError(f"unsatisfiable Range {header!r} for {size} bytes")
    return int(first), last_byte


class DroppingHandler(BaseHTTPRequestHandler):
    """Serves files under ``server.root``; cuts bodies after ``server.cut`` bytes."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (the name http.server dispatches to)
        server: DroppingServer = self.server  # type: ignore[assignment]
        cut_this, relative = server.route(self.path)
        if relative is None or not (server.root / relative).is_file():
            self.send_error(404)
            return
        data = (server.root / relative).read_bytes()
        try:
            span = byte_range(self.headers.get("Range"), len(data))
        except ValueError:
            self.send_error(416)
            return
        first, last = span if span is not None else (0, len(data) - 1)
        self.send_response(206 if span is not None else 200)
        if span is not None:
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        body = data[first : last + 1]
        self.wfile.write(body[: server.cut] if cut_this else body)
        self.close_connection = True

    def do_HEAD(self) -> None:  # noqa: N802 (the name http.server dispatches to)
        """The file's length, as GDAL asks before its range requests (never cut, never
        counted as a /drop-once/ path's first request)."""
        server: DroppingServer = self.server  # type: ignore[assignment]
        relative = server.relative(self.path)
        if relative is None or not (server.root / relative).is_file():
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str((server.root / relative).stat().st_size))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


class DroppingServer(ThreadingHTTPServer):
    """The server: its root folder, the cut, and the paths already served once."""

    def __init__(self, root: Path, port: int, cut: int) -> None:
        super().__init__(("127.0.0.1", port), DroppingHandler)
        self.root = root
        self.cut = cut
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def relative(self, url_path: str) -> str | None:
        """The file path relative to root that a /drop/ or /drop-once/ path names."""
        path = url_path.split("?", 1)[0]
        if path.startswith("/drop/"):
            return path.removeprefix("/drop/")
        parts = path.removeprefix("/drop-once/").split("/", 1)
        return parts[1] if path.startswith("/drop-once/") and len(parts) == 2 else None

    def route(self, url_path: str) -> tuple[bool, str | None]:
        """(cut this response?, file path relative to root) for a request path."""
        path = url_path.split("?", 1)[0]
        if path.startswith("/drop/"):
            return True, path.removeprefix("/drop/")
        if path.startswith("/drop-once/"):
            parts = path.removeprefix("/drop-once/").split("/", 1)
            if len(parts) < 2:
                return False, None
            with self._lock:
                first_time = path not in self._seen
                self._seen.add(path)
            return first_time, parts[1]
        return False, None


def main(argv: list[str]) -> None:
    """``ROOT PORT CUT``: serve ROOT on 127.0.0.1:PORT, cutting bodies at CUT bytes."""
    root, port, cut = Path(argv[0]), int(argv[1]), int(argv[2])
    with DroppingServer(root, port, cut) as server:
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
