"""Server processes for tests: started with a log file, waited for, stopped by PID."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class ServicesUnavailable(RuntimeError):
    """Something the services need is not installed; the message says what to run."""


class ServiceStartError(RuntimeError):
    """A service was installed but did not come up; the message ends with its log."""


@dataclass
class Service:
    """One running server process.

    Attributes
    ----------
    name
        What it is ("postgres", "stac-api", "nginx", ...).
    process
        The process; its PID is the server's own (no shell or su in between).
    log
        The file its stdout and stderr go to.
    stop_signal
        The signal asking it to shut down fast (PostgreSQL: SIGINT, "fast shutdown";
        its SIGTERM waits for every client to disconnect).
    """

    name: str
    process: subprocess.Popen
    log: Path
    stop_signal: int = signal.SIGTERM

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the service's log (empty when there is none yet)."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the process to stop, wait up to `timeout` s, then kill it (SIGKILL)."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def spawn(
    name: str,
    argv: Sequence[str | Path | int],
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    stop_signal: int = signal.SIGTERM,
) -> Service:
    """Start `argv` as its own process (as OS `user` when given), logging to `log`."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            user=user,
            group=user,
            extra_groups=[] if user else None,
            start_new_session=True,  # a Ctrl-C in the test session reaches pytest only
        )
    return Service(name, process, log, stop_signal)


def wait_until(service: Service, ready: Callable[[], bool], timeout: float = 60.0) -> float:
    """Poll `ready()` until it is true; the seconds it took.

    Raises ServiceStartError, with the service's log, when the process exits or
    `timeout` seconds pass first.
    """
    start = time.monotonic()
    while not ready():
        code = service.process.poll()
        waited = time.monotonic() - start
        if code is not None or waited > timeout:
            why = f"exited with code {code}" if code is not None else f"not ready in {timeout} s"
            raise ServiceStartError(
                f"{service.name} (pid {service.pid}) {why}; log {service.log}:\n"
                f"{service.log_tail()}"
            )
        time.sleep(0.1)
    return time.monotonic() - start


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
