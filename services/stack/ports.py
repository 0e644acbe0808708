"""Probing loopback ports: is a port free, does a NATS or ClickHouse server answer there."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from services.stack.settings import LOOPBACK


def is_port_free(port: int, host: str = LOOPBACK) -> bool:
    """True when a listening socket could be bound to ``host:port`` now.

    SO_REUSEADDR makes connections in TIME_WAIT (left by a server just stopped) not count as taken,
    which is how the servers themselves bind.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOOPBACK) -> int:
    """A port the kernel reports free right now (for throw-away servers of tests and benchmarks)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def accepts_connections(port: int, host: str = LOOPBACK, timeout_s: float = 1.0) -> bool:
    """True when something accepts a TCP connection on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def nats_info(host: str, port: int, timeout_s: float = 1.0) -> dict[str, Any] | None:
    """The INFO a NATS server greets every client with, or None if no NATS server answers there."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            line = _read_line(sock)
    except OSError:
        return None
    if not line.startswith(b"INFO "):
        return None
    try:
        info = json.loads(line[5:])
    except ValueError:
        return None
    return info if isinstance(info, dict) else None


def _read_line(sock: socket.socket, limit: int = 65536) -> bytes:
    data = b""
    while b"\r\n" not in data and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0]


def clickhouse_answers(url: str, timeout_s: float = 1.0) -> bool:
    """True when ``GET {url}/ping`` returns ClickHouse's ``Ok.``."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/ping", timeout=timeout_s) as response:
            return bool(response.read().strip() == b"Ok.")
    except (OSError, urllib.error.URLError):
        return False


def clickhouse_serves_native(url: str, tcp_port: int, timeout_s: float = 2.0) -> bool:
    """True when the ClickHouse at ``url`` reaches itself over the native protocol on ``tcp_port``.

    Proves the native port is served by that server, not merely held by some process.
    """
    sql = (
        f"SELECT count() FROM remote('{LOOPBACK}:{tcp_port}', system.one) SETTINGS "
        "handshake_timeout_ms = 1000, connect_timeout_with_failover_ms = 1000, "
        "connections_with_failover_max_tries = 1"
    )
    request = urllib.request.Request(url.rstrip("/") + "/", data=sql.encode())
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return bool(response.read().strip() == b"1")
    except (OSError, urllib.error.URLError):
        return False


def clickhouse_cluster_shards(url: str, cluster: str, timeout_s: float = 2.0) -> int | None:
    """How many shards the ClickHouse at ``url`` lists for ``cluster`` (0: no such cluster); None without answer."""
    sql = f"SELECT count() FROM system.clusters WHERE cluster = '{cluster}' AND replica_num = 1"
    request = urllib.request.Request(url.rstrip("/") + "/", data=sql.encode())
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.read().strip())
    except (OSError, urllib.error.URLError, ValueError):
        return None


def free_port_block(count: int, host: str = LOOPBACK, avoid: frozenset[int] = frozenset()) -> int:
    """A port p such that p .. p + count - 1 are free now and none is in ``avoid`` (for the shards of a stack
    started by tests: shard k listens on the first port + k - 1)."""
    for _ in range(100):
        first = free_port(host)
        block = range(first, first + count)
        if first + count <= 65536 and not avoid & set(block) and all(is_port_free(p, host) for p in block):
            return first
    raise OSError(f"no block of {count} free ports found on {host}")


def wait_until(
    ready: Callable[[], bool],
    timeout_s: float,
    *,
    gave_up: Callable[[], bool] = lambda: False,
    interval_s: float = 0.05,
) -> bool:
    """Poll ``ready`` until it is true (True), the deadline passes or ``gave_up`` is true (False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if ready():
            return True
        if gave_up() or time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)
