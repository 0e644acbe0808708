"""Metrics-side measurements at the demo's scale: metrics RSS, freshness, dashboard panel latency.

One database is filled with the simulated program (1,000 workers, 2013 → end) through the project's own
storage path; the metrics and ingest services then run as real processes, fresh hires are published to the
broker one at a time, and the time until the indicator API shows each is recorded. Panel queries are the
generated dashboards' SQL, expanded as the Grafana plugin would.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import nats
import psutil

from services.common.clickhouse import ConnectClickHouse
from services.common.cluster import local_table
from services.common.migrations import migrate
from services.ingest.deliveries import Delivery
from services.ingest.pipeline import Pipeline
from services.ingest.pseudonymise import Pseudonymiser
from services.ingest.writer import EventWriter
from services.sim import SimConfig, generate
from services.stack.ports import free_port
from services.stack.process import memory_bytes

from . import freshness, pages
from .report import Figure, Report, Target

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-key-0123456789abcdef0123456789abcdef"
END = date(2026, 10, 31)
SAMPLES = {True: 5, False: 20}
PAGE_LOADS = {True: 5, False: 10}  # timed loads of each page
PAGE_REPEATS = {True: 10, False: 20}  # replays of each data call
PAGES_UP_TO = 1_000_000
"""Pages are measured up to this scale: above it the service's start-up refresh would repeat the rebuild."""


EVENTS_PER_WORKER = 117  # the simulator's program: 1,000 workers → about 117,000 events from 2013 on


@dataclass(frozen=True, slots=True)
class Context:
    clickhouse_url: str
    broker_url: str
    events: int
    quick: bool = False
    panel_events: tuple[int, ...] = (1_000_000, 10_000_000)
    """Event counts at which panel latency is measured over indicators the engine computed from them."""


def progress(line: str) -> None:
    print(f"[bench] {line}", file=sys.stderr, flush=True)


def _get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return json.loads(response.read())


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _peak_rss_mb(pid: int) -> float | None:
    peak = memory_bytes(pid, "VmHWM")
    return None if peak is None else peak / 2**20


class TreePeak:
    """The peak RSS (MB) of a process and of the processes it starts (the warehouse load's helpers), polled: each
    one's own peak (VmHWM), summed. An upper bound of the peak of their sum (each is counted at its own peak); a
    process that starts and ends between two polls is missed."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._peaks: dict[int, float] = {}

    def poll(self) -> float | None:
        """The sum so far, after reading every live process of the tree once more."""
        try:
            pids = [self._pid, *(child.pid for child in psutil.Process(self._pid).children(recursive=True))]
        except psutil.Error:  # the process ended meanwhile
            pids = []
        for pid in pids:
            peak = _peak_rss_mb(pid)
            if peak:
                self._peaks[pid] = max(peak, self._peaks.get(pid, 0.0))
        return sum(self._peaks.values()) or None


def _fill(store: ConnectClickHouse, workers: int, shards: Sequence[ConnectClickHouse] = ()) -> int:
    """Store the simulated program of `workers` workers through the ingest pipeline; returns events stored.

    Each event's `stored_at` is then its `emitted_at`, as a live ingest would have stored it: the fill stores
    13 years in seconds, which would leave every event inside the metrics service's re-read overlap (the
    events stored within `loader.OVERLAP` of the newest), their ids read again at every refresh. On a cluster
    `shards` are stores on every shard: that update runs on each one's `events_local` (a Distributed table takes
    no mutation)."""
    pipeline = Pipeline(
        EventWriter(store),
        Pseudonymiser(KEY.encode()),
        zone=ZoneInfo("Asia/Shanghai"),
        broker="bench",
        clock=lambda: datetime(2026, 11, 1, tzinfo=UTC),
    )
    batch: list[Delivery] = []
    total = 0
    for number, event in enumerate(generate(SimConfig(workers=workers, end=END))):
        batch.append(
            Delivery(json.dumps(event, ensure_ascii=False).encode(), None, "bench", datetime.now(UTC), str(number))
        )
        if len(batch) == 10_000:
            total += len(pipeline.store(batch).stored)
            batch = []
            if total % 200_000 < 10_000:
                progress(f"  stored {total:,} events")
    total += len(pipeline.store(batch).stored) if batch else 0
    for target, table in [(shard, local_table("events")) for shard in shards] or [(store, "events")]:
        target.command(
            f"ALTER TABLE {table} UPDATE stored_at = emitted_at WHERE stored_at > emitted_at"
            " SETTINGS mutations_sync = 2"
        )
    return total


def _hire(n: int, unit: str) -> bytes:
    return json.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "staffing.hired.v1",
            "occurred_at": f"{END.isoformat()}T09:00:00+08:00",
            "emitted_at": f"{END.isoformat()}T09:00:00+08:00",
            "source": "bench",
            "worker_id": f"BENCH-{n:05d}",
            "data": {
                "org_unit_id": unit,
                "hire_date": END.isoformat(),
                "source_channel": "graduate",
                "contract_type": "fixed_term",
                "gender": "female",
                "birth_year": 1998,
            },
        }
    ).encode()


def _hires(port: int) -> float:
    month = END.replace(day=1).isoformat()
    rows = _get(port, f"/indicators?indicator=hires&dimension=all&period_kind=month&from={month}&to={month}")["rows"]
    return float(rows[0]["value"] or 0) if rows else 0.0


async def _publish(url: str, subject: str, body: bytes) -> None:
    client = await nats.connect(url)
    try:
        await client.jetstream().publish(subject, body)
    finally:
        await client.close()


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached in {timeout:.0f}s")
        time.sleep(0.05)


def _service(module: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen([sys.executable, "-m", module, "run"], env=env, stdout=handle, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


def metrics_suite(ctx: Context, report: Report) -> None:
    """Fill a database, run both services, measure freshness, peak RSS and panel query latency."""
    database = f"bench_metrics_{uuid.uuid4().hex[:8]}"
    store = ConnectClickHouse.connect(ctx.clickhouse_url, database=database, user="default", password="")
    try:
        migrate(store, "ingest", database=database)
        progress("metrics: filling a database with the simulated program (1,000 workers)")
        stored = _fill(store, 1000)
        _measure_services(ctx, report, database, stored)
        panel_latency(ctx, report, store)
    finally:
        store.command(f"DROP DATABASE IF EXISTS {database}")
        store.close()


def _env(ctx: Context, database: str, metrics_port: int, ingest_port: int, tag: str) -> dict[str, str]:
    """Both services over `database`; ingest consumes the subjects `bench<tag>.>` of the bench's broker."""
    return {
        **os.environ,
        "CLICKHOUSE_URL": ctx.clickhouse_url,
        "CLICKHOUSE_DATABASE": database,
        "BROKER_URL": ctx.broker_url,
        "PSEUDONYM_KEY": KEY,
        "METRICS_AS_OF": END.isoformat(),
        "METRICS_REFRESH_SECONDS": "0.5",
        "METRICS_HTTP_PORT": str(metrics_port),
        "INGEST_HTTP_PORT": str(ingest_port),
        "INGEST_SUBJECT": f"bench{tag}.>",
        "INGEST_STREAM": f"BENCH{tag}",
        "INGEST_CONSUMER": f"bench{tag}",
        "INGEST_DEAD_LETTER": f"bench{tag}_dlq",
        "INGEST_BATCH_SECONDS": "0.1",
    }


def _measure_services(ctx: Context, report: Report, database: str, stored: int) -> None:
    tag = uuid.uuid4().hex[:8]
    metrics_port, ingest_port = free_port(), free_port()
    env = _env(ctx, database, metrics_port, ingest_port, tag)
    logs = ROOT / "bench" / "results"
    logs.mkdir(parents=True, exist_ok=True)
    metrics = _service("services.metrics.cli", env, logs / "metrics.log")
    ingest = _service("services.ingest.cli", env, logs / "ingest-freshness.log")
    first: float | None = None
    try:
        started = time.monotonic()
        _wait(lambda: _ready(metrics_port) and _ready(ingest_port), 1800, "both services ready")
        first = time.monotonic() - started
        progress(f"metrics: first full refresh of {stored:,} events took {first:.1f}s")
        report.notes.append(f"metrics first refresh (start-up, {stored:,} events): {first:.1f}s")
        _measure_pages(ctx, report, metrics_port, "demo scale")
        _measure_freshness(ctx, report, metrics_port, tag, logs / "metrics.log", freshness.DEMO)
    except TimeoutError as exc:
        freshness.unmeasured(report, freshness.DEMO, str(exc))
        if first is None:
            pages.unmeasured(report, "demo scale", f"not measured: {exc}")
    finally:
        rss = _peak_rss_mb(metrics.pid)  # reported, not judged: the issue sets an RSS target for ingest only
        report.notes.append(f"metrics service peak RSS (VmHWM): {rss:,.0f} MB" if rss else "metrics RSS unreadable")
        _stop(ingest)
        _stop(metrics)


def _measure_freshness(ctx: Context, report: Report, port: int, tag: str, log: Path, scale: str) -> None:
    """Hires published one at a time to ingest's subjects, each timed until the indicator API counts it; then
    the metrics service's split of the refreshes they caused, from `log`."""
    offset = log.stat().st_size
    samples: list[float] = []
    try:
        base = _hires(port)
        for n in range(SAMPLES[ctx.quick]):
            begin = time.perf_counter()
            asyncio.run(_publish(ctx.broker_url, f"bench{tag}.staffing", _hire(n, "D-BAOSHAN")))
            target = base + n + 1
            _wait(lambda: _hires(port) >= target, 120, f"hire {n} in the API")  # noqa: B023 - used at once
            samples.append(time.perf_counter() - begin)
            progress(f"freshness ({scale}): sample {n + 1}: {samples[-1]:.2f}s")
    except TimeoutError as exc:
        freshness.unmeasured(report, scale, f"{exc} (after {len(samples)} samples)")
    else:
        freshness.add(report, samples, scale)
    freshness.add_split(report, log, offset, scale)


def panel_latency(ctx: Context, report: Report, store: ConnectClickHouse, scale: str = "demo scale") -> None:
    """p95 of every ClickHouse panel query (variables at All, the whole range) over the filled database."""
    from deploy.grafana import generate, macros

    values = {name: generate.ALL for name in ("district", "street", "service_model", "source_channel")}
    worst: list[tuple[float, str]] = []
    runs = 5 if ctx.quick else 20
    for query in generate.clickhouse_queries():
        if query.lang != "en":
            continue
        sql = macros.expand(query.sql, values, date(2013, 1, 1), END)
        times = []
        for _ in range(runs):
            begin = time.perf_counter()
            store.query_rows(sql)
            times.append((time.perf_counter() - begin) * 1000)
        p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
        worst.append((p95, f"{query.dashboard}/{query.title}"))
        note = f"p50 {statistics.median(times):.1f} ms over {runs} runs"
        report.add(Figure(f"panels, {scale}", f"{query.dashboard}/{query.title}", p95, "ms p95", note=note))
    worst.sort(reverse=True)
    indicator_rows = int(store.query_rows("SELECT count() FROM indicators")[0][0])
    report.targets.append(Target(f"dashboard panel query p95, slowest panel ({scale})", worst[0][0], "<=", 100, "ms"))
    report.notes.append(
        f"panel p95 over {len(worst)} panels at {scale} ({indicator_rows:,} indicator rows): slowest {worst[0][1]} "
        f"{worst[0][0]:.0f} ms, median panel {statistics.median(p for p, _ in worst):.0f} ms"
    )


def panels_at_scale(ctx: Context, report: Report) -> None:
    """Panel latency over the indicators `workforce-metrics rebuild` computes from 1 M (10 M) simulated events."""
    scales = () if ctx.quick else ctx.panel_events
    for events in scales:
        database = f"bench_panels_{uuid.uuid4().hex[:8]}"
        store = ConnectClickHouse.connect(ctx.clickhouse_url, database=database, user="default", password="")
        try:
            migrate(store, "ingest", database=database)
            workers = max(1_000, events // EVENTS_PER_WORKER)
            progress(f"panels: filling a database with {workers:,} simulated workers (~{events:,} events)")
            stored = _fill(store, workers)
            progress(f"panels: workforce-metrics rebuild over {stored:,} events")
            seconds, rss = _rebuild(ctx, database)
            report.notes.append(
                f"metrics rebuild of {stored:,} events: {seconds:.0f}s, peak RSS {rss:,.0f} MB"
                if rss
                else f"metrics rebuild of {stored:,} events: {seconds:.0f}s"
            )
            panel_latency(ctx, report, store, f"{stored / 1e6:.1f} M events")
            if events <= PAGES_UP_TO:
                _services_at_scale(ctx, report, database, f"{stored / 1e6:.1f} M events", _label(events))
        finally:
            store.command(f"DROP DATABASE IF EXISTS {database}")
            store.close()
    if 10_000_000 not in scales:
        why = "quick run" if ctx.quick else "not asked for (`--panel-events` without 10000000)"
        report.targets.append(
            Target("dashboard panel query p95, slowest panel (10 M events)", None, "<=", 100, "ms", why)
        )
    if 1_000_000 not in scales:
        why = "quick run" if ctx.quick else "not asked for (`--panel-events` without 1000000)"
        pages.unmeasured(report, "1 M events", why)
        freshness.unmeasured(report, "1 M events", why)


def _label(events: int) -> str:
    return f"{events / 1e6:g} M events"


def _measure_pages(ctx: Context, report: Report, port: int, scale: str) -> None:
    progress(f"pages: {PAGE_LOADS[ctx.quick]} loads of each analyst page in Chromium at {scale}")
    begin = time.monotonic()
    pages.measure(
        f"http://127.0.0.1:{port}", report, scale, loads=PAGE_LOADS[ctx.quick], repeats=PAGE_REPEATS[ctx.quick]
    )
    progress(f"pages: measured in {time.monotonic() - begin:.0f}s")


def _services_at_scale(ctx: Context, report: Report, database: str, scale: str, label: str) -> None:
    """The metrics service over the rebuilt database, then ingest beside it on the bench's broker: pages, then
    freshness (its target named by `label`, the scale asked for). The service's start-up refresh recomputes
    everything once (the API answers meanwhile, but timing pages beside a full recomputation would measure the
    recomputation), so ingest starts only once the service is ready."""
    tag = uuid.uuid4().hex[:8]
    port, ingest_port = free_port(), free_port()
    env = _env(ctx, database, port, ingest_port, tag)
    logs = ROOT / "bench" / "results"
    logs.mkdir(parents=True, exist_ok=True)
    metrics_log, ingest_log = logs / "metrics-pages.log", logs / "ingest-freshness-scale.log"
    progress(f"pages: starting the metrics service at {scale} (its start-up refresh recomputes every indicator)")
    service = _service("services.metrics.cli", env, metrics_log)
    ingest: subprocess.Popen[bytes] | None = None
    try:
        started = time.monotonic()
        why = _started(service, port, f"the metrics service at {scale}", metrics_log)
        if why is not None:
            pages.unmeasured(report, scale, why)
            freshness.unmeasured(report, label, why)
            return
        report.notes.append(f"metrics service start-up refresh at {scale}: {time.monotonic() - started:.0f}s")
        ingest = _service("services.ingest.cli", env, ingest_log)
        ingest_why = _started(ingest, ingest_port, f"ingest at {scale}", ingest_log)
        _measure_pages(ctx, report, port, scale)
        if ingest_why is not None:
            freshness.unmeasured(report, label, ingest_why)
            return
        _measure_freshness(ctx, report, port, tag, metrics_log, label)
    finally:
        rss = _peak_rss_mb(service.pid)
        if rss:
            report.notes.append(
                f"metrics service peak RSS at {scale} (start-up refresh, pages, then freshness): {rss:,.0f} MB"
            )
        if ingest is not None:
            _stop(ingest)
        _stop(service)


def _started(proc: subprocess.Popen[bytes], port: int, what: str, log: Path) -> str | None:
    """None once `proc` answers /ready on `port`; else why not (it exited, or 30 minutes passed)."""
    try:
        _wait(lambda: proc.poll() is not None or _ready(port), 1800, f"{what} ready")
    except TimeoutError as exc:
        return f"not measured: {exc}"
    if proc.poll() is not None:
        return f"not measured: {what} exited ({proc.returncode}), see {log.relative_to(ROOT)}"
    return None


def _rebuild(ctx: Context, database: str) -> tuple[float, float | None]:
    env = {
        **os.environ,
        "CLICKHOUSE_URL": ctx.clickhouse_url,
        "CLICKHOUSE_DATABASE": database,
        "METRICS_AS_OF": END.isoformat(),
    }
    log = ROOT / "bench" / "results" / "metrics-rebuild.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    begin = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.metrics.cli", "rebuild"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        rss: float | None = None
        told = begin
        tree = TreePeak(proc.pid)
        while proc.poll() is None:
            rss = tree.poll() or rss
            time.sleep(0.5)
            if time.perf_counter() - told >= 60:
                told = time.perf_counter()
                progress(f"  rebuild running {told - begin:.0f}s, peak RSS {rss or 0:,.0f} MB (log: {log})")
    if proc.returncode != 0:
        raise RuntimeError(f"workforce-metrics rebuild failed ({proc.returncode}); see {log}")
    return time.perf_counter() - begin, rss


MEASUREMENTS: tuple[Callable[[Context, Report], None], ...] = (metrics_suite, panels_at_scale)
