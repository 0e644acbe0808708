"""`/health` and `/ready` on a port of their own (METRICS_HEALTH_PORT), answered by one thread that never waits
for the API's event loop.

Why (issue 15, measured in `bench.api_load`): under 50 API clients the service's single event loop is saturated,
and a probe's new connection waits for its accept, its read and its answer behind every queued request: `/health`
on the API port took 100-600 ms at the 99th percentile. Kubernetes' probes ask this port instead.

Liveness stays honest: the event loop stamps a `Heartbeat` every BEAT_SECONDS, and `/health` here fails once the
loop has not stamped it for `stall` seconds (a wedged loop answers nothing on the API port either), or once the
API's server has stopped. `/ready` answers the loop's latest readiness check (`Readiness`, run on the loop every
READY_EVERY seconds), failing as well when the loop has stalled or the check has not finished for `stall` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

BEAT_SECONDS: Final = 0.5
READY_EVERY: Final = 1.0
STALL_SECONDS: Final = 10.0
"""A loop that has not run for this long is reported dead (Kubernetes restarts the pod after its own threshold)."""
READ_SECONDS: Final = 1.0
"""How long a probe connection may take to send its request; the next one waits meanwhile."""
MAX_HEAD: Final = 8192

Clock = Callable[[], float]
Check = Callable[[], Awaitable[tuple[bool, str]]]


@dataclass(eq=False)
class Heartbeat:
    """The last time the event loop ran a task of ours; read from any thread."""

    clock: Clock = time.monotonic
    last: float = field(init=False)

    def __post_init__(self) -> None:
        self.last = self.clock()

    def beat(self) -> None:
        self.last = self.clock()

    def age(self) -> float:
        return self.clock() - self.last

    async def keep(self, every: float = BEAT_SECONDS) -> None:
        """Until cancelled: stamp, sleep `every` seconds."""
        while True:
            self.beat()
            await asyncio.sleep(every)


@dataclass(eq=False)
class Readiness:
    """The latest answer of a readiness check run on the event loop; read from any thread."""

    clock: Clock = time.monotonic
    answer: tuple[bool, str] = (False, "not checked yet")
    at: float = field(init=False)

    def __post_init__(self) -> None:
        self.at = self.clock()

    async def keep(self, check: Check, every: float = READY_EVERY) -> None:
        """Until cancelled: run `check`, keep its answer, sleep `every` seconds."""
        while True:
            self.answer = await check()
            self.at = self.clock()
            await asyncio.sleep(every)


@dataclass(frozen=True, eq=False)
class ProbeState:
    """What the probe thread answers from: the loop's heartbeat, its readiness and whether the API serves."""

    heartbeat: Heartbeat
    readiness: Readiness
    serving: Callable[[], bool]
    stall: float = STALL_SECONDS

    def live(self) -> tuple[bool, str]:
        age = self.heartbeat.age()
        if age > self.stall:
            return False, f"event loop has not run for {age:.1f} s"
        if not self.serving():
            return False, "API server stopped"
        return True, f"event loop ran {age:.1f} s ago"

    def ready(self) -> tuple[bool, str]:
        ok, why = self.live()
        if not ok:
            return ok, why
        age = self.readiness.clock() - self.readiness.at
        if age > self.stall:
            return False, f"readiness check has not finished for {age:.1f} s"
        return self.readiness.answer


def answer(state: ProbeState, method: str, path: str) -> tuple[int, bytes]:
    """Status and JSON body for one request line, as `services.common.http.operator_routes` words them."""
    if path == "/health":
        ok, why = state.live()
        body: dict[str, str] = {"status": "ok" if ok else "unhealthy", "detail": why}
    elif path == "/ready":
        ok, why = state.ready()
        body = {"status": "ready" if ok else "not ready", "detail": why}
    else:
        return 404, b'{"error":"not found: this port serves /health and /ready"}'
    if method not in ("GET", "HEAD"):
        return 405, b'{"error":"GET or HEAD"}'
    return (200 if ok else 503), json.dumps(body, separators=(",", ":")).encode()


REASONS: Final = {
    200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"
}  # fmt: skip


def response(status: int, body: bytes, *, head: bool = False) -> bytes:
    lines = [
        f"HTTP/1.1 {status} {REASONS[status]}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "X-Content-Type-Options: nosniff",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if head else body)


def reply(state: ProbeState, head: bytes) -> bytes:
    """The whole answer to a request head (its request line read; headers and any body ignored)."""
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return response(400, b'{"error":"bad request line"}')
    method, target = parts[0], parts[1]
    status, body = answer(state, method, target.split("?", 1)[0])
    return response(status, body, head=method == "HEAD")


class ProbeServer:
    """A listening socket and one daemon thread answering it, a connection at a time, closed after each answer.
    The thread holds the GIL only to parse a request line and read the state: never for the API's work."""

    def __init__(self, state: ProbeState, host: str, port: int) -> None:
        self.state = state
        self._socket = socket.create_server((host, port), backlog=64)
        self.port: int = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="metrics-probes", daemon=True)

    def start(self) -> ProbeServer:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening; a probe being answered is finished first."""
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return  # closed
            with connection:
                self._answer(connection)

    def _answer(self, connection: socket.socket) -> None:
        connection.settimeout(READ_SECONDS)
        head = b""
        try:
            while b"\r\n\r\n" not in head and len(head) < MAX_HEAD:
                chunk = connection.recv(MAX_HEAD)
                if not chunk:
                    return
                head += chunk
            connection.sendall(reply(self.state, head))
        except OSError:  # a timeout, or the prober went away
            return
