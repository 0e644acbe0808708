"""Python API of the local stack, used by the CLI, test fixtures, the demo and the benchmarks.

``ensure_up(settings)`` makes a ClickHouse (chdb-core child process) and a NATS server with JetStream
answer on loopback and returns their URLs; ``down(settings)`` stops what this stack folder started and
nothing else; ``status(settings)`` reports each server. ``up`` and ``down`` hold a lock on the stack
folder, so concurrent callers (parallel test sessions) do not start a server twice.
"""

from __future__ import annotations

import fcntl
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from services.stack.errors import ExternalServerError, PortTakenError, ServerStartError
from services.stack.layout import StackPaths
from services.stack.nats_server import binary_path, server_argv
from services.stack.ports import (
    clickhouse_answers,
    clickhouse_serves_native,
    is_port_free,
    nats_info,
    wait_until,
)
from services.stack.process import is_alive, log_tail, owned_pid, rss_bytes, spawn, stop, write_pid
from services.stack.settings import LOOPBACK, StackSettings

Report = Callable[[str], None]

CLICKHOUSE = "clickhouse"
NATS = "nats"


class Origin(StrEnum):
    """Who runs a server."""

    STARTED = "started"  # started by this stack folder (its pid file names a live process)
    EXTERNAL = "external"  # answering, but not started by this stack folder
    DOWN = "down"  # nothing answers


@dataclass(frozen=True)
class StackUrls:
    """Where the services should connect."""

    clickhouse_url: str
    broker_url: str

    def env(self) -> dict[str, str]:
        """The environment variables the services read: ``CLICKHOUSE_URL`` and ``BROKER_URL``."""
        return {"CLICKHOUSE_URL": self.clickhouse_url, "BROKER_URL": self.broker_url}


@dataclass(frozen=True)
class ServerStatus:
    """One server as ``status`` sees it."""

    name: str
    url: str
    origin: Origin
    answering: bool
    pid: int | None = None
    rss_bytes: int | None = None


def _quiet(message: str) -> None:
    pass


def ensure_up(settings: StackSettings | None = None, report: Report = _quiet) -> StackUrls:
    """Make ClickHouse and NATS answer, starting the ones that are neither running nor given by URL.

    Idempotent: servers this stack folder already started are reused. Raises ``PortTakenError`` when a
    needed port is held by something else, ``ServerStartError`` (with the log tail) when a started
    server dies or does not answer within ``start_timeout_s``, ``ExternalServerError`` when a server
    given by URL does not answer. ``report`` receives one human-readable line per server.
    """
    settings = settings or StackSettings()
    paths = StackPaths(settings.root)
    with _locked(paths):
        clickhouse_url = _ensure_clickhouse(settings, paths, report)
        broker_url = _ensure_nats(settings, paths, report)
    return StackUrls(clickhouse_url=clickhouse_url, broker_url=broker_url)


def down(settings: StackSettings | None = None, report: Report = _quiet) -> list[str]:
    """Stop the servers this stack folder started (SIGTERM, wait, SIGKILL); return their names.

    External servers and servers started from another stack folder are left running.
    """
    settings = settings or StackSettings()
    paths = StackPaths(settings.root)
    stopped: list[str] = []
    with _locked(paths):
        for name, pid_path, markers in (
            (NATS, paths.nats_pid, _nats_markers(paths)),
            (CLICKHOUSE, paths.clickhouse_pid, _clickhouse_markers(paths)),
        ):
            pid = owned_pid(pid_path, markers)
            if pid is None:
                report(f"{name}: not started by this stack, nothing to stop")
                continue
            polite = stop(pid, settings.stop_timeout_s)
            pid_path.unlink(missing_ok=True)
            stopped.append(name)
            report(f"{name}: stopped pid {pid}" + ("" if polite else " (needed SIGKILL)"))
    return stopped


def status(settings: StackSettings | None = None) -> list[ServerStatus]:
    """ClickHouse and NATS as seen from this stack folder: URL, who runs it, pid, RSS, answering."""
    settings = settings or StackSettings()
    paths = StackPaths(settings.root)
    return [_clickhouse_status(settings, paths), _nats_status(settings, paths)]


def clickhouse_local_url(settings: StackSettings) -> str:
    return f"http://{LOOPBACK}:{settings.clickhouse_http_port}"


def nats_local_url(settings: StackSettings) -> str:
    return f"nats://{LOOPBACK}:{settings.nats_port}"


def _ensure_clickhouse(settings: StackSettings, paths: StackPaths, report: Report) -> str:
    if settings.clickhouse_url:
        if not clickhouse_answers(settings.clickhouse_url):
            raise ExternalServerError(f"{CLICKHOUSE}: nothing answers at {settings.clickhouse_url}")
        report(f"{CLICKHOUSE}: external server at {settings.clickhouse_url}")
        return settings.clickhouse_url
    url = clickhouse_local_url(settings)
    pid = owned_pid(paths.clickhouse_pid, _clickhouse_markers(paths))
    if pid is not None:
        _await_answer(
            _Child(CLICKHOUSE, pid, paths.clickhouse_pid, paths.clickhouse_log),
            lambda: _clickhouse_ready(settings),
            settings,
        )
        report(f"{CLICKHOUSE}: already running, pid {pid}, {url}")
        return url
    for port in (settings.clickhouse_http_port, settings.clickhouse_tcp_port):
        if not is_port_free(port):
            raise PortTakenError(CLICKHOUSE, port)
    began = time.monotonic()
    pid = spawn(_clickhouse_argv(settings, paths), paths.clickhouse_log)
    write_pid(paths.clickhouse_pid, pid)
    _await_answer(
        _Child(CLICKHOUSE, pid, paths.clickhouse_pid, paths.clickhouse_log),
        lambda: _clickhouse_ready(settings),
        settings,
    )
    report(f"{CLICKHOUSE}: started pid {pid} in {time.monotonic() - began:.1f} s, {url}")
    return url


def _clickhouse_argv(settings: StackSettings, paths: StackPaths) -> list[str]:
    return [
        sys.executable,
        "-m",
        "services.stack.clickhouse_server",
        "--dir",
        str(paths.clickhouse_dir),
        "--http-port",
        str(settings.clickhouse_http_port),
        "--tcp-port",
        str(settings.clickhouse_tcp_port),
    ]


def _ensure_nats(settings: StackSettings, paths: StackPaths, report: Report) -> str:
    if settings.nats_url:
        host, port = _host_port(settings.nats_url, default_port=4222)
        if nats_info(host, port) is None:
            raise ExternalServerError(f"{NATS}: no NATS server answers at {settings.nats_url}")
        report(f"{NATS}: external server at {settings.nats_url}")
        return settings.nats_url
    url = nats_local_url(settings)
    pid = owned_pid(paths.nats_pid, _nats_markers(paths))
    if pid is not None:
        _await_answer(_Child(NATS, pid, paths.nats_pid, paths.nats_log), lambda: _nats_ready(settings), settings)
        report(f"{NATS}: already running, pid {pid}, {url}")
        return url
    info = nats_info(LOOPBACK, settings.nats_port)
    if info is not None:
        jetstream = "JetStream on" if info.get("jetstream") else "WARNING: JetStream is off"
        report(f"{NATS}: external server {info.get('version', '?')} answering at {url} ({jetstream})")
        return url
    if not is_port_free(settings.nats_port):
        raise PortTakenError(NATS, settings.nats_port)
    began = time.monotonic()
    paths.nats_store.mkdir(parents=True, exist_ok=True)
    pid = spawn(server_argv(binary_path(), settings.nats_port, paths.nats_store), paths.nats_log)
    write_pid(paths.nats_pid, pid)
    _await_answer(_Child(NATS, pid, paths.nats_pid, paths.nats_log), lambda: _nats_ready(settings), settings)
    report(f"{NATS}: started pid {pid} in {time.monotonic() - began:.1f} s, {url}")
    return url


@dataclass(frozen=True)
class _Child:
    name: str
    pid: int
    pid_path: Path
    log_path: Path


def _await_answer(child: _Child, ready: Callable[[], bool], settings: StackSettings) -> None:
    """Wait until ``ready``; on death or timeout stop the child, drop its pid file and raise."""
    pid, log_path = child.pid, child.log_path
    if wait_until(ready, settings.start_timeout_s, gave_up=lambda: not is_alive(pid)):
        return
    alive = is_alive(pid)
    tail = log_tail(log_path)
    if alive:
        stop(pid, settings.stop_timeout_s)
    child.pid_path.unlink(missing_ok=True)
    reason = (
        f"did not answer within {settings.start_timeout_s:.0f} s (stopped it)" if alive else "exited before answering"
    )
    raise ServerStartError(child.name, f"{reason}; log: {log_path}", tail)


def _clickhouse_ready(settings: StackSettings) -> bool:
    url = clickhouse_local_url(settings)
    return clickhouse_answers(url) and clickhouse_serves_native(url, settings.clickhouse_tcp_port)


def _nats_ready(settings: StackSettings) -> bool:
    return nats_info(LOOPBACK, settings.nats_port) is not None


def _clickhouse_status(settings: StackSettings, paths: StackPaths) -> ServerStatus:
    if settings.clickhouse_url:
        answering = clickhouse_answers(settings.clickhouse_url)
        origin = Origin.EXTERNAL if answering else Origin.DOWN
        return ServerStatus(CLICKHOUSE, settings.clickhouse_url, origin, answering)
    url = clickhouse_local_url(settings)
    pid = owned_pid(paths.clickhouse_pid, _clickhouse_markers(paths))
    answering = clickhouse_answers(url)
    return _local_status(CLICKHOUSE, url, pid, answering)


def _nats_status(settings: StackSettings, paths: StackPaths) -> ServerStatus:
    if settings.nats_url:
        answering = nats_info(*_host_port(settings.nats_url, default_port=4222)) is not None
        origin = Origin.EXTERNAL if answering else Origin.DOWN
        return ServerStatus(NATS, settings.nats_url, origin, answering)
    pid = owned_pid(paths.nats_pid, _nats_markers(paths))
    answering = _nats_ready(settings)
    return _local_status(NATS, nats_local_url(settings), pid, answering)


def _local_status(name: str, url: str, pid: int | None, answering: bool) -> ServerStatus:
    if pid is not None:
        return ServerStatus(name, url, Origin.STARTED, answering, pid, rss_bytes(pid))
    return ServerStatus(name, url, Origin.EXTERNAL if answering else Origin.DOWN, answering)


def _clickhouse_markers(paths: StackPaths) -> list[str]:
    return ["services.stack.clickhouse_server", str(paths.clickhouse_dir)]


def _nats_markers(paths: StackPaths) -> list[str]:
    return ["--jetstream", str(paths.nats_store)]


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or LOOPBACK, parts.port or default_port


@contextmanager
def _locked(paths: StackPaths) -> Iterator[None]:
    paths.root.mkdir(parents=True, exist_ok=True)
    with Path(paths.lock).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
