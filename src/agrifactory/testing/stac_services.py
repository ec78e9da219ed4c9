"""A real local STAC API and COG server for tests: `StacServices`.

Each service is its own process, on 127.0.0.1 at a free port, with its files in one
temporary folder:

* PostgreSQL with PostGIS (Debian's postgresql-15, postgresql-15-postgis-3), a fresh
  ``initdb`` (as the ``postgres`` OS user when running as root: initdb refuses root),
  a ``pgstac`` database migrated by pypgstac;
* stac-fastapi-pgstac (the API the Planetary Computer runs) served by uvicorn;
* nginx serving a folder of COGs, plus the connection-dropping server behind it
  (`agrifactory.testing.cog_server`).

``stop()`` stops each by its PID (fast-shutdown signal, wait, SIGKILL) and removes the
folder; it is registered with atexit, so a crashed session leaves no servers behind.
Missing software raises `ServicesUnavailable` naming what to install
(``tools/install_stac_services.sh`` and the ``stac-server`` extra); docs/stac.md.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agrifactory.testing.cog_server import (
    nginx_binary,
    start_dropping_server,
    start_nginx,
)
from agrifactory.testing.processes import (
    Service,
    ServiceStartError,
    ServicesUnavailable,
    free_port,
    spawn,
    wait_until,
)

__all__ = ["ServiceStartError", "ServicesUnavailable", "StacServices"]

PG_USER = "postgres"  # the database superuser the services connect as (trust auth)
DATABASE = "pgstac"
PYTHON_MODULES = {
    "pypgstac": "pypgstac",
    "psycopg": "pypgstac[psycopg]",
    "stac_fastapi.pgstac": "stac-fastapi-pgstac",
    "uvicorn": "uvicorn",
}
# A throw-away cluster: trust auth on 127.0.0.1, no durability.
INITDB_OPTIONS = ["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]
PG_SETTINGS = ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
_EXTRA_HINT = "pip install -e '.[stac-server]' (make install does)"
_APT_HINT = "run tools/install_stac_services.sh as root"


def postgres_bindir() -> Path:
    """The folder of initdb and postgres: on PATH, else Debian's newest
    /usr/lib/postgresql/<version>/bin."""
    on_path = shutil.which("initdb")
    if on_path is not None:
        return Path(on_path).resolve().parent  # past symlinks to the real bin folder
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if not debian:
        raise ServicesUnavailable(f"PostgreSQL is not installed: {_APT_HINT}")
    return debian[-1].parent


def check_prerequisites() -> Path:
    """Raise ServicesUnavailable naming what is missing; the PostgreSQL bin folder."""
    missing = [pip for module, pip in PYTHON_MODULES.items() if not _importable(module)]
    if missing:
        raise ServicesUnavailable(f"Python packages missing: {', '.join(missing)}: {_EXTRA_HINT}")
    bindir = postgres_bindir()
    pg_config = (
        bindir / "pg_config" if (bindir / "pg_config").exists() else shutil.which("pg_config")
    )
    if pg_config is None:
        raise ServicesUnavailable(f"no pg_config beside {bindir}/initdb nor on PATH: {_APT_HINT}")
    sharedir = subprocess.run(
        [pg_config, "--sharedir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not (Path(sharedir) / "extension" / "postgis.control").is_file():
        raise ServicesUnavailable(f"PostGIS is not installed in {sharedir}: {_APT_HINT}")
    nginx_binary()
    if os.geteuid() == 0 and not _os_user_exists(PG_USER):
        raise ServicesUnavailable(f"running as root but there is no OS user {PG_USER!r}")
    return bindir


class StacServices:
    """PostgreSQL + pgstac, stac-fastapi-pgstac and nginx, started together.

    Parameters
    ----------
    cog_root
        The folder nginx serves (``http_url + "/" + relative path``).
    drop_after
        Body bytes the dropping paths send before they close the connection.

    Attributes (after `start`)
    --------------------------
    api_url, http_url
        Base URLs of the STAC API and of nginx.
    access_log
        nginx's access log (`agrifactory.testing.cog_server.access_records`).
    dsn
        libpq connection string of the pgstac database.
    """

    def __init__(self, cog_root: Path, drop_after: int = 1024) -> None:
        self.cog_root = Path(cog_root)
        self.drop_after = drop_after
        self.services: list[Service] = []
        self.base: Path | None = None
        self.api_url = self.http_url = self.dsn = ""
        self.access_log = Path()
        self.pgstac_version = ""
        self.start_seconds = 0.0

    @property
    def pids(self) -> dict[str, int]:
        """PID of each running service, by name."""
        return {s.name: s.pid for s in self.services}

    def start(self) -> StacServices:
        """Start every service (stopping those already started if one fails)."""
        bindir = check_prerequisites()
        t0 = time.monotonic()
        self.base = Path(tempfile.mkdtemp(prefix="agrifactory-stac-"))
        atexit.register(self.stop)
        try:
            pg_port = self._start_postgres(bindir)
            self._start_api(pg_port)
            drop, drop_port = start_dropping_server(self.base, self.cog_root, self.drop_after)
            self.services.append(drop)
            nginx, self.http_url, self.access_log = start_nginx(self.base, self.cog_root, drop_port)
            self.services.append(nginx)
        except BaseException:
            self.stop(keep_files=True)
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def stop(self, keep_files: bool = False) -> None:
        """Stop every service by its PID, last started first; remove the folder."""
        while self.services:
            self.services.pop().stop()
        if self.base is not None and not keep_files:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None
        atexit.unregister(self.stop)

    def load(self, collections: Iterable[dict[str, Any]], items: Iterable[dict[str, Any]]) -> None:
        """Insert (or replace) STAC collections, then items, with pypgstac's loader."""
        from pypgstac.db import PgstacDB
        from pypgstac.load import Loader, Methods

        db = PgstacDB(dsn=self.dsn)
        try:
            loader = Loader(db)
            loader.load_collections(iter(list(collections)), Methods.upsert)
            loader.load_items(iter(list(items)), Methods.upsert)
        finally:
            db.disconnect()
            db.close()

    def __enter__(self) -> StacServices:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_postgres(self, bindir: Path) -> int:
        """initdb, start the server, create and migrate the pgstac database; the port."""
        assert self.base is not None
        folder = self.base / "postgres"
        folder.mkdir()
        user = None
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            user = PG_USER
            self.base.chmod(0o755)
            shutil.chown(folder, user, user)
        data = folder / "data"
        initdb = [bindir / "initdb", f"--pgdata={data}", f"--username={PG_USER}", *INITDB_OPTIONS]
        _run_as(user, initdb, folder / "initdb.log")
        port = free_port()
        argv = [bindir / "postgres", "-D", data, "-k", folder, "-h", "127.0.0.1", "-p", port]
        argv += [arg for setting in PG_SETTINGS for arg in ("-c", setting)]
        service = spawn(
            "postgres", argv, self.base / "postgres.log", user=user, stop_signal=signal.SIGINT
        )
        self.services.append(service)
        admin = f"postgresql://{PG_USER}@127.0.0.1:{port}/postgres"
        wait_until(service, lambda: _connects(admin), timeout=60)
        self.dsn = f"postgresql://{PG_USER}@127.0.0.1:{port}/{DATABASE}"
        self.pgstac_version = _create_pgstac(admin, self.dsn)
        return port

    def _start_api(self, pg_port: int) -> None:
        """stac-fastapi-pgstac under uvicorn on a free port."""
        assert self.base is not None
        port = free_port()
        env = {
            **os.environ,
            "PGHOST": "127.0.0.1",
            "PGPORT": str(pg_port),
            "PGUSER": PG_USER,
            "PGPASSWORD": "unused-trust-auth",
            "PGDATABASE": DATABASE,
            "DB_MIN_CONN_SIZE": "1",
            "DB_MAX_CONN_SIZE": "4",
        }
        app = "stac_fastapi.pgstac.app:create_app"
        argv = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1"]
        argv += ["--port", port]
        # cwd: the temporary folder, so no stray .env file configures the API.
        service = spawn("stac-api", argv, self.base / "stac_api.log", env=env, cwd=self.base)
        self.services.append(service)
        self.api_url = f"http://127.0.0.1:{port}"
        wait_until(service, lambda: _ok(self.api_url + "/"), timeout=60)


def _create_pgstac(admin_dsn: str, dsn: str) -> str:
    """Create the pgstac database and migrate it with pypgstac; the pgstac version."""
    import psycopg
    from pypgstac.db import PgstacDB
    from pypgstac.migrate import Migrate

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE}")
    db = PgstacDB(dsn=dsn)
    try:
        return Migrate(db).run_migration()
    finally:
        db.disconnect()
        db.close()


def _run_as(user: str | None, argv: list, log: Path) -> None:
    with log.open("w") as out:
        done = subprocess.run(
            [str(a) for a in argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            user=user,
            group=user,
            extra_groups=[] if user else None,
            check=False,
        )
    if done.returncode != 0:
        raise ServiceStartError(f"{argv[0]} failed ({done.returncode}):\n{log.read_text()}")


def _connects(dsn: str) -> bool:
    import psycopg

    try:
        psycopg.connect(dsn, connect_timeout=1).close()
    except psycopg.OperationalError:
        return False
    return True


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _os_user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
