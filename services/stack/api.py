"""Python API of the local stack, used by the CLI, test fixtures, the demo and the benchmarks.

``ensure_up(settings)`` makes a ClickHouse (chdb-core child process; with ``shards``, one per shard of a
cluster) and a NATS server with JetStream answer on loopback and returns their URLs; ``down(settings)`` stops
what this stack folder started and nothing else; ``status(settings)`` reports each server. ``up`` and
``down`` hold a lock on the stack folder, so concurrent callers (parallel test sessions) do not start a
server twice.
"""

from __future__ import annotations

import fcntl
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from services.stack.errors import ExternalServerError, PortTakenError, ServerStartError, StackError
from services.stack.layout import ShardPaths, StackPaths
from services.stack.nats_server import binary_path, server_argv
from services.stack.ports import (
    clickhouse_answers,
    clickhouse_cluster_shards,
    clickhouse_serves_native,
    is_port_free,
    nats_info,
    wait_until,
)
from services.stack.process import is_alive, log_tail, owned_pid, rss_bytes, spawn, stop, write_pid
from services.stack.settings import CLUSTER, LOOPBACK, StackSettings

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
    """Where the services should connect; with several shards, the cluster and every shard's endpoint."""

    clickhouse_url: str
    broker_url: str
    clickhouse_cluster: str = ""
    clickhouse_shard_urls: tuple[str, ...] = ()

    def env(self) -> dict[str, str]:
        """The environment variables the services read: ``CLICKHOUSE_URL`` and ``BROKER_URL``, and on a cluster
        ``CLICKHOUSE_CLUSTER`` and ``CLICKHOUSE_SHARD_URLS``."""
        env = {"CLICKHOUSE_URL": self.clickhouse_url, "BROKER_URL": self.broker_url}
        if self.clickhouse_cluster:
            env["CLICKHOUSE_CLUSTER"] = self.clickhouse_cluster
            env["CLICKHOUSE_SHARD_URLS"] = ",".join(self.clickhouse_shard_urls)
        return env


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

    With ``shards`` > 1, that many ClickHouse servers forming the cluster ``CLUSTER`` (each has the same
    ``remote_servers`` section, so a Distributed table works from any of them); the services connect to
    the first. Idempotent: servers this stack folder already started are reused. Raises ``PortTakenError``
    when a needed port is held by something else, ``ServerStartError`` (with the log tail) when a started
    server dies or does not answer within ``start_timeout_s``, ``ExternalServerError`` when a server
    given by URL does not answer, ``StackError`` when running servers form another cluster than asked.
    ``report`` receives one human-readable line per server.
    """
    settings = settings or StackSettings()
    paths = StackPaths(settings.root)
    with _locked(paths):
        clickhouse_urls = _ensure_clickhouse(settings, paths, report)
        broker_url = _ensure_nats(settings, paths, report)
    if settings.shards == 1:
        return StackUrls(clickhouse_url=clickhouse_urls[0], broker_url=broker_url)
    return StackUrls(clickhouse_urls[0], broker_url, CLUSTER, tuple(clickhouse_urls))


def down(settings: StackSettings | None = None, report: Report = _quiet) -> list[str]:
    """Stop the servers this stack folder started (SIGTERM, wait, SIGKILL), every shard it started whatever
    ``shards`` says now; return their names.

    External servers and servers started from another stack folder are left running.
    """
    settings = settings or StackSettings()
    paths = StackPaths(settings.root)
    stopped: list[str] = []
    with _locked(paths):
        shards = sorted({1, *paths.shards_with_pid_files()})
        servers = [(_shard_name(k), paths.shard(k).pid, _clickhouse_markers(paths.shard(k).dir)) for k in shards]
        for name, pid_path, markers in [(NATS, paths.nats_pid, _nats_markers(paths)), *servers]:
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
    """ClickHouse (each shard: those of ``shards`` and any other this folder started) and NATS as seen from
    this stack folder: URL, who runs it, pid, RSS, answering."""
    settings = settings or StackSettings()
    paths = StackPaths(settings.root)
    if settings.clickhouse_url:
        return [_external_clickhouse_status(settings.clickhouse_url), _nats_status(settings, paths)]
    last = max([settings.shards, *paths.shards_with_pid_files()])
    shards = [_shard_status(settings, paths, k) for k in range(1, last + 1)]
    return [*shards, _nats_status(settings, paths)]


def clickhouse_local_url(settings: StackSettings, shard: int = 1) -> str:
    return f"http://{LOOPBACK}:{settings.shard_ports(shard)[0]}"


def nats_local_url(settings: StackSettings) -> str:
    return f"nats://{LOOPBACK}:{settings.nats_port}"


def _ensure_clickhouse(settings: StackSettings, paths: StackPaths, report: Report) -> list[str]:
    if settings.clickhouse_url:
        if settings.shards > 1:
            raise StackError(f"{CLICKHOUSE}: STACK_CLICKHOUSE_URL names a server; shards are started by the stack")
        if not clickhouse_answers(settings.clickhouse_url):
            raise ExternalServerError(f"{CLICKHOUSE}: nothing answers at {settings.clickhouse_url}")
        report(f"{CLICKHOUSE}: external server at {settings.clickhouse_url}")
        return [settings.clickhouse_url]
    shards = [_Shard(k, paths.shard(k), *settings.shard_ports(k)) for k in range(1, settings.shards + 1)]
    running = {shard.number: owned_pid(shard.paths.pid, _clickhouse_markers(shard.paths.dir)) for shard in shards}
    for shard in shards:
        pid = running[shard.number]
        if pid is not None:
            _await_answer(shard.child(pid), partial(_clickhouse_ready, shard), settings)
            _check_cluster(shard, settings.shards)
            report(f"{shard.name}: already running, pid {pid}, {shard.url}")
    starting = [shard for shard in shards if running[shard.number] is None]
    for shard in starting:
        for port in (shard.http_port, shard.tcp_port):
            if not is_port_free(port):
                raise PortTakenError(shard.name, port)
    began = time.monotonic()
    tcp_ports = [shard.tcp_port for shard in shards] if settings.shards > 1 else []
    children = [_start_shard(shard, tcp_ports) for shard in starting]  # all at once: they start in parallel
    for shard, child in zip(starting, children, strict=True):
        _await_answer(child, partial(_clickhouse_ready, shard), settings)
        report(f"{shard.name}: started pid {child.pid} in {time.monotonic() - began:.1f} s, {shard.url}")
    return [shard.url for shard in shards]


@dataclass(frozen=True)
class _Shard:
    number: int
    paths: ShardPaths
    http_port: int
    tcp_port: int

    @property
    def name(self) -> str:
        return _shard_name(self.number)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    def child(self, pid: int) -> _Child:
        return _Child(self.name, pid, self.paths.pid, self.paths.log)


def _shard_name(number: int) -> str:
    """``clickhouse`` for the first (or only) server, ``clickhouse-k`` for shard k."""
    return CLICKHOUSE if number == 1 else f"{CLICKHOUSE}-{number}"


def _start_shard(shard: _Shard, tcp_ports: list[int]) -> _Child:
    argv = _clickhouse_argv(shard, tcp_ports)
    pid = spawn(argv, shard.paths.log)
    write_pid(shard.paths.pid, pid)
    return shard.child(pid)


def _check_cluster(shard: _Shard, shards: int) -> None:
    """A running server must be a shard of the cluster asked for (or of none, for one server)."""
    found = clickhouse_cluster_shards(shard.url, CLUSTER)
    if found != (shards if shards > 1 else 0):
        raise StackError(
            f"{shard.name}: running as {_cluster_role(found)}, not as {_cluster_role(shards)}; "
            "run `workforce-stack down` first"
        )


def _cluster_role(shards: int | None) -> str:
    if shards is None:
        return "a server that does not say its cluster"
    return "a single server" if shards <= 1 else f"a shard of a {shards}-shard cluster `{CLUSTER}`"


def _clickhouse_argv(shard: _Shard, tcp_ports: list[int]) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "services.stack.clickhouse_server",
        "--dir",
        str(shard.paths.dir),
        "--http-port",
        str(shard.http_port),
        "--tcp-port",
        str(shard.tcp_port),
    ]
    if tcp_ports:
        argv += ["--cluster", CLUSTER, "--shard-tcp-ports", ",".join(map(str, tcp_ports))]
    return argv


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


def _clickhouse_ready(shard: _Shard) -> bool:
    return clickhouse_answers(shard.url) and clickhouse_serves_native(shard.url, shard.tcp_port)


def _nats_ready(settings: StackSettings) -> bool:
    return nats_info(LOOPBACK, settings.nats_port) is not None


def _external_clickhouse_status(url: str) -> ServerStatus:
    answering = clickhouse_answers(url)
    return ServerStatus(CLICKHOUSE, url, Origin.EXTERNAL if answering else Origin.DOWN, answering)


def _shard_status(settings: StackSettings, paths: StackPaths, number: int) -> ServerStatus:
    url = clickhouse_local_url(settings, number)
    pid = owned_pid(paths.shard(number).pid, _clickhouse_markers(paths.shard(number).dir))
    return _local_status(_shard_name(number), url, pid, clickhouse_answers(url))


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


def _clickhouse_markers(directory: Path) -> list[str]:
    return ["services.stack.clickhouse_server", str(directory)]


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
