"""nginx serving a folder of COGs for tests, and the access log it writes.

nginx answers Range requests on static files itself (206, ``Content-Range``, exactly
the asked bytes). The generated config logs one tab-separated line per request:
method, URI, status, body bytes sent and the request's ``Range`` header, so a test
can count the requests and bytes of each file (`access_records`, `served_bytes`).

Paths served:

* ``/<file>``: the file under the root folder; a missing file answers 404;
* ``/drop/<file>``, ``/drop-once/<token>/<file>``: proxied, unbuffered, to
  `agrifactory.testing.dropping_server`, which announces the full length and closes
  the connection after a fixed number of body bytes (every time, or the first time
  for each path); nginx then closes the client's connection after passing those
  bytes on, as a CDN does when its origin fails.
"""

from __future__ import annotations

import os
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

import agrifactory
from agrifactory.testing.processes import (
    Service,
    ServicesUnavailable,
    accepts,
    free_port,
    spawn,
    wait_until,
)

LOG_FORMAT = r"$request_method\t$uri\t$status\t$body_bytes_sent\t$http_range"

_CONFIG = """\
daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
    types {{ image/tiff tif tiff; application/json json; }}
    default_type application/octet-stream;
    log_format ranges "{log_format}";
    access_log {access_log} ranges;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
        location /drop/ {{ proxy_pass http://127.0.0.1:{drop_port}; proxy_buffering off; }}
        location /drop-once/ {{ proxy_pass http://127.0.0.1:{drop_port}; proxy_buffering off; }}
    }}
}}
"""


class AccessRecord(NamedTuple):
    """One request in the nginx access log."""

    method: str
    uri: str
    status: int
    body_bytes: int
    range: str | None  # the Range header as sent, None when there was none


def nginx_binary() -> Path:
    """The nginx executable (Debian puts it in /usr/sbin, not on a user's PATH)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise ServicesUnavailable("nginx is not installed: run tools/install_stac_services.sh")
    return Path(found)


def start_dropping_server(base: Path, root: Path, cut: int) -> tuple[Service, int]:
    """`agrifactory.testing.dropping_server` on a free port; (service, port)."""
    port = free_port()
    argv = [sys.executable, "-m", "agrifactory.testing.dropping_server", root, port, cut]
    service = spawn("dropping-server", argv, base / "dropping_server.log", env=_python_env())
    wait_until(service, lambda: accepts(port), timeout=30)
    return service, port


def start_nginx(base: Path, root: Path, drop_port: int) -> tuple[Service, str, Path]:
    """nginx serving `root` on a free port; (service, base URL, access log)."""
    folder = base / "nginx"
    folder.mkdir()
    port = free_port()
    access_log = folder / "access.log"
    config = folder / "nginx.conf"
    config.write_text(
        _CONFIG.format(
            dir=folder,
            access_log=access_log,
            log_format=LOG_FORMAT,
            port=port,
            root=root.resolve(),
            drop_port=drop_port,
        )
    )
    argv = [nginx_binary(), "-p", folder, "-e", folder / "error.log", "-c", config]
    service = spawn("nginx", argv, folder / "stdout.log")
    url = f"http://127.0.0.1:{port}"
    wait_until(service, lambda: _answers(url), timeout=30)
    return service, url, access_log


def access_records(access_log: Path) -> list[AccessRecord]:
    """The requests in an access log written with `LOG_FORMAT`, in order.

    nginx writes a request's line after sending the response, so a client can read
    the response a moment before its line is there.
    """
    records = []
    for line in access_log.read_text().splitlines():
        method, uri, status, sent, range_ = line.split("\t")
        records.append(
            AccessRecord(method, uri, int(status), int(sent), None if range_ == "-" else range_)
        )
    return records


def served_bytes(access_log: Path, path: str) -> int:
    """Body bytes nginx sent for the URI `path` (e.g. ``/scene/B4.tif``), all requests."""
    return sum(r.body_bytes for r in access_records(access_log) if r.uri == path)


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1).close()
    except urllib.error.HTTPError:
        return True  # any HTTP status (403 for the bare root) means it serves
    except OSError:
        return False
    return True


def _python_env() -> dict[str, str]:
    """This environment, with the folder agrifactory is imported from on PYTHONPATH."""
    src = str(Path(agrifactory.__file__).resolve().parents[1])
    paths = [src, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
