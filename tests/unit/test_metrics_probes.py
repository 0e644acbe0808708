"""The probe port (services/metrics/probes.py): what /health and /ready say from the event loop's heartbeat and
readiness, answered by its own thread while the loop is wedged; and deploy/k8s's probes ask it."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.metrics.probes import Heartbeat, ProbeServer, ProbeState, Readiness, answer
from services.metrics.settings import MetricsSettings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "metrics.yaml"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _state(clock: Clock, *, serving: bool = True, stall: float = 10.0) -> ProbeState:
    readiness = Readiness(clock)
    readiness.answer = (True, "indicators published")
    return ProbeState(Heartbeat(clock), readiness, serving=lambda: serving, stall=stall)


def _json(status_body: tuple[int, bytes]) -> tuple[int, dict[str, Any]]:
    status, body = status_body
    return status, json.loads(body)


def test_health_fails_once_the_loop_has_not_beaten_for_the_stall_and_recovers_with_a_beat() -> None:
    clock = Clock()
    state = _state(clock)
    assert _json(answer(state, "GET", "/health")) == (200, {"status": "ok", "detail": "event loop ran 0.0 s ago"})
    clock.now += 10.0
    assert _json(answer(state, "GET", "/health"))[0] == 200  # at the stall, not past it
    clock.now += 0.5
    assert _json(answer(state, "GET", "/health")) == (
        503,
        {"status": "unhealthy", "detail": "event loop has not run for 10.5 s"},
    )
    state.heartbeat.beat()
    assert _json(answer(state, "GET", "/health"))[0] == 200


def test_health_fails_when_the_api_server_has_stopped_though_the_loop_runs() -> None:
    status, body = _json(answer(_state(Clock(), serving=False), "GET", "/health"))
    assert (status, body["detail"]) == (503, "API server stopped")


def test_ready_is_the_loops_last_check_unless_the_loop_or_the_check_has_stalled() -> None:
    clock = Clock()
    state = _state(clock)
    assert _json(answer(state, "GET", "/ready")) == (200, {"status": "ready", "detail": "indicators published"})
    state.readiness.answer = (False, "clickhouse=down")
    assert _json(answer(state, "GET", "/ready")) == (503, {"status": "not ready", "detail": "clickhouse=down"})
    state.readiness.answer = (True, "indicators published")
    clock.now += 11.0
    state.heartbeat.beat()  # the loop runs, but the check (a ClickHouse ping) has not come back
    status, body = _json(answer(state, "GET", "/ready"))
    assert (status, body["detail"]) == (503, "readiness check has not finished for 11.0 s")
    state.readiness.at = clock.now
    assert answer(state, "GET", "/ready")[0] == 200
    clock.now += 11.0  # the loop itself stalled: not ready either
    status, body = _json(answer(state, "GET", "/ready"))
    assert (status, body["detail"]) == (503, "event loop has not run for 11.0 s")


def test_other_paths_and_methods_are_refused() -> None:
    state = _state(Clock())
    assert answer(state, "GET", "/indicators")[0] == 404
    assert answer(state, "POST", "/health")[0] == 405


async def test_readiness_keeps_the_checks_answer_and_when_it_came() -> None:
    clock = Clock()
    readiness = Readiness(clock)
    assert readiness.answer[0] is False  # nothing said before the first check
    checked = asyncio.Event()

    async def check() -> tuple[bool, str]:
        clock.now += 1.0
        checked.set()
        return True, "indicators published"

    task = asyncio.create_task(readiness.keep(check, every=60.0))
    await asyncio.wait_for(checked.wait(), 5)
    await asyncio.sleep(0)
    task.cancel()
    assert (readiness.answer, readiness.at) == ((True, "indicators published"), 101.0)


def _ask(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        raw = b""
        while chunk := sock.recv(4096):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    return _ask(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())


@pytest.fixture
def served() -> Iterator[tuple[ProbeServer, Clock]]:
    clock = Clock()
    server = ProbeServer(_state(clock), "127.0.0.1", 0).start()
    yield server, clock
    server.close()


def test_the_server_answers_json_with_a_length_nosniff_and_closes(served: tuple[ProbeServer, Clock]) -> None:
    server, clock = served
    status, headers, body = _get(server.port, "/health")
    assert (status, json.loads(body)["status"]) == (200, "ok")
    assert headers["Content-Length"] == str(len(body)) and headers["Content-Type"] == "application/json"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Connection"] == "close"
    assert _get(server.port, "/ready?verbose=1")[0] == 200
    status, headers, body = _ask(server.port, b"HEAD /health HTTP/1.1\r\n\r\n")
    assert (status, body, int(headers["Content-Length"]) > 0) == (200, b"", True)
    assert _get(server.port, "/metrics")[0] == 404
    assert _ask(server.port, b"nonsense\r\n\r\n")[0] == 400
    clock.now += 60
    assert _get(server.port, "/health")[0] == 503


def test_a_prober_that_sends_nothing_delays_the_next_by_at_most_a_second(served: tuple[ProbeServer, Clock]) -> None:
    server, _ = served
    with socket.create_connection(("127.0.0.1", server.port)):
        begin = time.perf_counter()
        assert _get(server.port, "/health")[0] == 200
        assert time.perf_counter() - begin < 3.0


def test_the_probe_thread_answers_while_the_event_loop_is_wedged_and_sees_it_stall() -> None:
    """A loop blocked in a task (as by a runaway computation) answers nothing, yet the probe port answers at once,
    alive until the stall has passed, dead after it, alive again once the loop beats."""
    clock = Clock()
    state = _state(clock, stall=5.0)
    server = ProbeServer(state, "127.0.0.1", 0).start()
    wedged, release = threading.Event(), threading.Event()

    async def main() -> None:
        beating = asyncio.create_task(state.heartbeat.keep(every=0.01))
        await asyncio.sleep(0.05)
        wedged.set()
        release.wait(30)  # blocks the loop's thread: no task runs, no beat
        await asyncio.sleep(0.05)
        beating.cancel()

    loop = threading.Thread(target=asyncio.run, args=(main(),))
    loop.start()
    try:
        assert wedged.wait(10)
        assert _get(server.port, "/health")[0] == 200
        clock.now += 6.0
        status, _, body = _get(server.port, "/health")
        assert (status, json.loads(body)["detail"]) == (503, "event loop has not run for 6.0 s")
        assert _get(server.port, "/ready")[0] == 503
        release.set()
        deadline = time.monotonic() + 10
        while state.heartbeat.last != clock.now and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _get(server.port, "/health")[0] == 200
    finally:
        release.set()
        loop.join(10)
        server.close()


def test_a_closed_server_no_longer_listens() -> None:
    server = ProbeServer(_state(Clock()), "127.0.0.1", 0).start()
    port = server.port
    server.close()
    with pytest.raises(OSError):
        _get(port, "/health")


def test_k8s_probes_ask_the_probe_port_the_container_sets_and_the_api_port_stays_first() -> None:
    (deployment,) = (d for d in yaml.safe_load_all(K8S.read_text(encoding="utf-8")) if d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert container["ports"][0]["name"] == "http" and ports["health"] == int(env["METRICS_HEALTH_PORT"])
    assert ports["health"] != ports["http"]
    assert MetricsSettings.model_fields["metrics_health_port"].default == 0  # off unless set, as k8s does
    for probe, path in (("startupProbe", "/health"), ("livenessProbe", "/health"), ("readinessProbe", "/ready")):
        assert container[probe]["httpGet"] == {"path": path, "port": "health"}, probe
