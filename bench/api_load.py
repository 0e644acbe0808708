"""The indicator API under concurrent readers: 50 clients on filtered `/indicators` queries, `/health` probed beside.

The clients replay a fixed mix of the queries the analyst pages make (one indicator, one period kind, one
dimension, one category, one to three years of periods; one in five as CSV), built from `/indicators/facets`
with a seeded random choice, each client over its own kept-alive connection, for a bounded time and count: first
the mix as the pages repeat it (each query asked once beforehand), then every request a target never asked (no kept
answer: each is looked up and written anew, from the service's in-memory snapshot of the published table, or by a
ClickHouse query where it holds none). Meanwhile a prober asks `/health` every 50 ms on a new connection each time
(as a Kubernetes probe does), from a process of its own (as the kubelet is: its timings never wait for the load's
event loop), on the API port and on the service's probe port (METRICS_HEALTH_PORT, the one deploy/k8s probes ask),
each reported. Everything goes to 127.0.0.1 only. The suite waits for the service to have read its snapshot (or
given up on one) after its first publish, as a service at rest has, and says which it answered from.

`python -m bench.api_load http://127.0.0.1:8082 [--probe-port 8083] [--clients 50] [--seconds 20]` measures a
service already running; `python -m bench.api_load` alone runs this suite as `make bench` does (~2 min).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import random
import socket
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.connection import Connection as Pipe
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from services.common.clickhouse import ConnectClickHouse
from services.common.migrations import migrate
from services.stack.ports import free_port

from .later import END, ROOT, Context, _fill, _ready, _service, _stop, _wait, progress
from .report import Figure, Report, Target

CLIENTS = 50
SECONDS = {True: 10.0, False: 20.0}
MAX_REQUESTS = 200_000
"""A bound on the whole run whatever the rate."""
REQUEST_TIMEOUT = 30.0
HEALTH_EVERY = 0.05
MIX_SIZE = 400
MAX_ROWS = 100_000
"""The pages ask for pages of this many rows."""
CSV_SHARE = 0.2
YEARS = (1, 1, 2, 3)
P99_TARGET_MS = 300.0
HEALTH_TARGET_MS = 50.0


@dataclass
class Samples:
    """Latencies (ms) of answered requests and the count of failed ones (non-200, timeouts, resets)."""

    ms: list[float] = field(default_factory=list)
    failed: int = 0
    rows: int = 0

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile; None with no samples."""
        if not self.ms:
            return None
        ordered = sorted(self.ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class LoadResult:
    queries: Samples
    health: Samples
    """/health on the API port."""
    seconds: float
    probe_port: Samples | None = None
    """/health on the service's probe port, when it has one."""

    @property
    def rate(self) -> float:
        return len(self.queries.ms) / self.seconds if self.seconds else 0.0


class Connection:
    """One kept-alive HTTP/1.1 connection to 127.0.0.1; GET only, answers with a Content-Length."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self._streams
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n".encode())
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
        length = next((int(v) for k, v in headers.items() if k.lower() == "content-length"), None)
        if length is None:
            raise ConnectionError(f"no Content-Length in the answer to {path}")
        body = await reader.readexactly(length)
        if any(k.lower() == "connection" and v.lower() == "close" for k, v in headers.items()):
            await self.close()
        return int(head[0].split()[1]), body

    async def close(self) -> None:
        if self._streams is not None:
            _, writer = self._streams
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def query_mix(facets: dict[str, dict[str, Any]], *, size: int = MIX_SIZE, seed: int = 1) -> list[str]:
    """`size` /indicators paths like the analyst pages ask for, drawn from each indicator's facets."""
    rng = random.Random(seed)
    names = sorted(name for name, kinds in facets.items() if kinds)
    paths = []
    for _ in range(size):
        name = rng.choice(names)
        kind = rng.choice(sorted(facets[name]))
        facet = facets[name][kind]
        last = date.fromisoformat(facet["to"])
        first = max(date.fromisoformat(facet["from"]), date(last.year - rng.choice(YEARS) + 1, 1, 1))
        categories = facet["categories"]
        params = [
            ("indicator", name),
            ("period_kind", kind),
            ("dimension", rng.choice(facet["dimensions"])),
            ("category", "" if "" in categories else categories[0]),
            ("from", first.isoformat()),
            ("to", last.isoformat()),
            ("limit", str(MAX_ROWS)),
        ]
        if rng.random() < CSV_SHARE:
            params.append(("format", "csv"))
        paths.append(f"/indicators?{urlencode(params)}")
    return paths


def fetch_facets(port: int, indicators: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for name in indicators:
        url = f"http://127.0.0.1:{port}/indicators/facets?{urlencode({'indicator': name})}"
        with urllib.request.urlopen(url, timeout=30) as response:
            out[name] = json.loads(response.read())["period_kinds"]
    return out


def fetch_indicators(port: int) -> list[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/indicators/catalog", timeout=30) as response:
        return [entry["indicator"] for entry in json.loads(response.read())]


def distinct(path: str, n: int) -> str:
    """`path` made a target no earlier request asked for, with the same rows: its limit lowered by `n` (a page of
    the mix holds far fewer rows), so that no kept answer serves it: every such request is selected and written
    anew (from the snapshot, or by ClickHouse)."""
    return path.replace(f"limit={MAX_ROWS}", f"limit={MAX_ROWS - 1 - n % (MAX_ROWS // 2)}")


async def _client(
    port: int, paths: list[str], start: int, deadline: float, budget: list[int], out: Samples, *, unique: bool
) -> None:
    connection = Connection(port)
    try:
        i = start
        while time.monotonic() < deadline and budget[0] > 0:
            budget[0] -= 1
            path = distinct(paths[i % len(paths)], budget[0]) if unique else paths[i % len(paths)]
            i += 1
            begin = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(connection.get(path), REQUEST_TIMEOUT)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError):
                out.failed += 1
                await connection.close()
                continue
            if status != 200:
                out.failed += 1
                continue
            out.ms.append((time.perf_counter() - begin) * 1000)
            out.rows += body.count(b"\r\n") - 1 if b"format=csv" in path.encode() else body.count(b'"period"')
    finally:
        await connection.close()


def probe_once(port: int) -> tuple[int, float]:
    """`GET /health` on a new connection, read to its end: the status and the milliseconds it took."""
    begin = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n", 1)[0].split()
    if len(head) < 2 or not head[1].isdigit():
        raise ConnectionError(f"no status line from port {port}")
    return int(head[1]), (time.perf_counter() - begin) * 1000


def _probe_port(port: int, stop: ProcessEvent, out: Samples) -> None:
    while not stop.is_set():
        try:
            status, ms = probe_once(port)
        except OSError:
            out.failed += 1
        else:
            if status == 200:
                out.ms.append(ms)
            else:
                out.failed += 1
        stop.wait(HEALTH_EVERY)


def prober(ports: list[int], started: ProcessEvent, stop: ProcessEvent, results: Pipe) -> None:
    """A process's body: probe every port (a thread each) until `stop`, then send one Samples per port."""
    samples = [Samples() for _ in ports]
    threads = [threading.Thread(target=_probe_port, args=(p, stop, s)) for p, s in zip(ports, samples, strict=True)]
    for thread in threads:
        thread.start()
    started.set()
    for thread in threads:
        thread.join()
    results.send([(s.ms, s.failed) for s in samples])  # plain data: no class of a spawned `__main__` to unpickle


class Prober:
    """`prober` in a process of its own (spawned: nothing of the load's process in it) for a `with` block."""

    def __init__(self, ports: list[int]) -> None:
        context = multiprocessing.get_context("spawn")
        self.ports = ports
        self._started, self._stop = context.Event(), context.Event()
        self._results, sending = context.Pipe(duplex=False)
        self._process = context.Process(target=prober, args=(ports, self._started, self._stop, sending), daemon=True)
        self.samples: list[Samples] = []

    def __enter__(self) -> Prober:
        self._process.start()
        deadline = time.monotonic() + 60
        while not self._started.wait(0.1):
            if not self._process.is_alive() or time.monotonic() > deadline:
                self._process.kill()
                raise TimeoutError(f"the /health prober did not start (exit code {self._process.exitcode})")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._results.poll(REQUEST_TIMEOUT + 10):
            self.samples = [Samples(ms, failed) for ms, failed in self._results.recv()]
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
        if not self.samples:
            self.samples = [Samples(failed=1) for _ in self.ports]


def load(
    port: int,
    paths: list[str],
    *,
    clients: int = CLIENTS,
    seconds: float = 20.0,
    unique: bool = False,
    probe_port: int | None = None,
) -> LoadResult:
    """`clients` readers for `seconds` (at most MAX_REQUESTS in all), /health probed beside them on `port` and on
    `probe_port` (if any); `unique`: every request a target never asked before (see `distinct`)."""
    with Prober([port] if probe_port is None else [port, probe_port]) as probing:
        queries, elapsed = asyncio.run(_readers(port, paths, clients=clients, seconds=seconds, unique=unique))
    health, *rest = probing.samples
    return LoadResult(queries, health, elapsed, rest[0] if rest else None)


async def _readers(port: int, paths: list[str], *, clients: int, seconds: float, unique: bool) -> tuple[Samples, float]:
    queries = Samples()
    begin = time.monotonic()
    deadline = begin + seconds
    budget = [MAX_REQUESTS]
    step = max(1, len(paths) // clients)
    await asyncio.gather(
        *(_client(port, paths, n * step, deadline, budget, queries, unique=unique) for n in range(clients))
    )
    return queries, time.monotonic() - begin


PHASES: Final = (("the pages' queries, repeated", False), ("every request distinct (no kept answer)", True))
"""The mix as the pages repeat it (served from kept answers once asked), then the same rows asked with a target
no earlier request used (selected and written anew each, as a hostile client or the first readers after a publish
get)."""
SNAPSHOT_EVENTS: Final = {"snapshot_loaded": "its in-memory snapshot", "snapshot_skipped": "ClickHouse"}
SNAPSHOT_WAIT = 180.0


async def warm_up(port: int, paths: list[str], clients: int = 8) -> None:
    """Ask every query of the mix once (a page is asked before it is repeated), `clients` at a time."""
    todo = iter(paths)

    async def client() -> None:
        connection = Connection(port)
        try:
            for path in todo:
                await asyncio.wait_for(connection.get(path), REQUEST_TIMEOUT)
        finally:
            await connection.close()

    await asyncio.gather(*(client() for _ in range(clients)))


def measure(
    port: int, *, clients: int, seconds: float, probe_port: int | None = None
) -> tuple[list[tuple[str, LoadResult]], int]:
    """Build the mix from the running service, ask each of its queries once, run each phase; also returns the
    mix's size."""
    paths = query_mix(fetch_facets(port, fetch_indicators(port)))
    asyncio.run(warm_up(port, paths))
    results = []
    for name, unique in PHASES:
        result = load(port, paths, clients=clients, seconds=seconds, unique=unique, probe_port=probe_port)
        on_probe_port = (
            "" if result.probe_port is None else f", probe port {result.probe_port.percentile(99) or 0:.0f} ms"
        )
        progress(
            f"api, {name}: {result.rate:.0f} requests/s, p99 {result.queries.percentile(99) or 0:.0f} ms, "
            f"/health p99: API port {result.health.percentile(99) or 0:.0f} ms{on_probe_port}"
        )
        results.append((name, result))
    return results, len(paths)


def answered_from(log: Path) -> str | None:
    """Where the service's pages come from, by the last snapshot event in its JSON log; None before one."""
    found = None
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            event = json.loads(line).get("event")
            found = SNAPSHOT_EVENTS.get(event, found)
    return found


PROBED: Final = "METRICS_HEALTH_PORT: what deploy/k8s's startup, liveness and readiness probes ask"
NOT_PROBED: Final = (
    "not a probe target: deploy/k8s probes METRICS_HEALTH_PORT, and compose's healthcheck asks /ready here with a 5 s"
    " timeout; this /health waits its turn on the event loop the load saturates"
)


def add_to(report: Report, phase: str, result: LoadResult, clients: int, note: str = "") -> None:
    q = result.queries
    section = f"indicator API, {clients} clients, {phase}"
    detail = f"{len(q.ms):,} answers in {result.seconds:.1f}s, {q.failed} failed; {q.rows:,} rows{note}"
    report.add(Figure(section, "/indicators requests/s", result.rate, "requests/s", note=detail))
    for p in (50, 95, 99):
        report.add(Figure(section, f"/indicators p{p}", q.percentile(p), "ms"))
    report.targets.append(
        Target(f"/indicators p99, {clients} clients, {phase}", q.percentile(99), "<=", P99_TARGET_MS, "ms")
    )
    # The target is the /health the probes ask: the probe port where the service has one (the API port's shares
    # the event loop the load saturates, and no deployment probes it with a short timeout), else the API port.
    ports = [("API port", result.health, NOT_PROBED if result.probe_port else "the only port", not result.probe_port)]
    if result.probe_port is not None:
        ports.insert(0, ("probe port", result.probe_port, PROBED, True))
    for short, h, what, probed in ports:
        probe_note = (
            f"{what}; {len(h.ms)} probes, {h.failed} failed, a new connection each every "
            f"{HEALTH_EVERY * 1000:.0f} ms, from a process of its own"
        )
        report.add(Figure(section, f"/health p50, {short}", h.percentile(50), "ms", note=probe_note))
        report.add(Figure(section, f"/health p99, {short}", h.percentile(99), "ms"))
        if probed:
            report.targets.append(
                Target(f"/health p99 meanwhile, {short} ({phase})", h.percentile(99), "<=", HEALTH_TARGET_MS, "ms")
            )


def api_suite(ctx: Context, report: Report) -> None:
    """Fill a database at demo scale, run `workforce-metrics run` on it, load its API."""
    database = f"bench_api_{uuid.uuid4().hex[:8]}"
    store = ConnectClickHouse.connect(ctx.clickhouse_url, database=database, user="default", password="")
    try:
        migrate(store, "ingest", database=database)
        progress("api: filling a database with the simulated program (1,000 workers)")
        _fill(store, 1000)
        port, probe_port = free_port(), free_port()
        env = {
            **os.environ,
            "CLICKHOUSE_URL": ctx.clickhouse_url,
            "CLICKHOUSE_DATABASE": database,
            "METRICS_AS_OF": END.isoformat(),
            "METRICS_HTTP_PORT": str(port),
            "METRICS_HEALTH_PORT": str(probe_port),
        }
        log = ROOT / "bench" / "results" / "metrics-api-load.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        service = _service("services.metrics.cli", env, log)
        try:
            _wait(lambda: _ready(port), 600, "metrics /ready")
            _wait(lambda: answered_from(log) is not None, SNAPSHOT_WAIT, "the service's snapshot read or skipped")
            seconds = SECONDS[ctx.quick]
            progress(f"api: {CLIENTS} clients, {seconds:.0f}s per phase, pages from {answered_from(log)}")
            results, size = measure(port, clients=CLIENTS, seconds=seconds, probe_port=probe_port)
            for phase, result in results:
                add_to(report, phase, result, CLIENTS, f"; a mix of {size} queries; pages from {answered_from(log)}")
        except TimeoutError as exc:
            for phase, _ in PHASES:
                why = f"not measured: {exc}"
                report.targets.append(
                    Target(f"/indicators p99, {CLIENTS} clients, {phase}", None, "<=", P99_TARGET_MS, "ms", why)
                )
        finally:
            _stop(service)
    finally:
        store.command(f"DROP DATABASE IF EXISTS {database}")
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_load", description=__doc__)
    parser.add_argument(
        "url",
        nargs="?",
        help="the metrics service, e.g. http://127.0.0.1:8082 (loopback only); without it, the suite `make bench` "
        "runs: a database at demo scale on the local stack and a service of its own",
    )
    parser.add_argument(
        "--probe-port", type=int, help="the service's METRICS_HEALTH_PORT, to probe /health there too (loopback)"
    )
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--seconds", type=float, default=SECONDS[False])
    args = parser.parse_args(argv)
    if args.url is None:
        return _suite_alone()
    parts = urlsplit(args.url)
    if parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
        parser.error("the URL must be http://127.0.0.1:PORT: the load stays on this machine")
    if not 1 <= args.clients <= 500 or not 0 < args.seconds <= 300:
        parser.error("--clients 1..500, --seconds up to 300")
    report = Report(events=0, quick=False)
    results, size = measure(parts.port, clients=args.clients, seconds=args.seconds, probe_port=args.probe_port)
    for phase, result in results:
        add_to(report, phase, result, args.clients, f"; a mix of {size} queries")
    print(report.markdown())
    return 0


def _suite_alone() -> int:
    from services.stack.api import ensure_up

    urls = ensure_up()
    clickhouse_url = os.environ.get("CLICKHOUSE_URL", urls.clickhouse_url)
    report = Report(events=0, quick=False)
    api_suite(Context(clickhouse_url, urls.broker_url, 0), report)
    print(report.markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
