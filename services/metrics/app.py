"""The only wiring module of the metrics service: settings → store, refresher, HTTP; run until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from functools import partial

import uvicorn
import uvloop
from starlette.types import ASGIApp

from services.common.clickhouse import ConnectClickHouse
from services.common.errors import StoreError
from services.common.http import build_app, http_server, operator_routes
from services.common.migrations import Cluster, connect_home, connect_migrated, shard_stores

from . import pages, probes, snapshot
from .api import AnswerCache, ApiThreads, routes
from .engine.audit import AuditReport
from .refresh import WAREHOUSE, PublishHeld, Refresher, RefreshReport

__all__ = [
    "PublishHeld",
    "Refresher",
    "as_of_of",
    "connect_store",
    "load_reference_wages",
    "rebuild",
    "run",
    "serve",
    "utc_now",
]
from .settings import MetricsSettings
from .telemetry import MetricsTelemetry

log = logging.getLogger("workforce.metrics")
SERVICE = "metrics"
"""The owner of services/metrics/sql: `indicators` and the tables it publishes beside them."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def connect_store(settings: MetricsSettings) -> ConnectClickHouse:
    """Connect and apply metrics' pending migrations (services/metrics/sql). `events` is ingest's: until ingest
    has created it, a refresh fails and is retried."""
    return connect_migrated(settings, SERVICE)


def connect_api_store(settings: MetricsSettings) -> ConnectClickHouse:
    """The read API's own client: its connections never wait behind the refresh's, nor the refresh's behind it.
    One client serves all the API's threads (no ClickHouse session); the pool holds a connection for each of them
    and as many again for the pages' facets query, which runs on the default executor."""
    return ConnectClickHouse.connect(
        settings.clickhouse_url,
        database=settings.clickhouse_database,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password.get_secret_value(),
        connections=2 * settings.metrics_api_concurrency,
    )


def as_of_of(settings: MetricsSettings) -> date:
    return settings.metrics_as_of or datetime.now(settings.zone).date()


def build_refresher(
    settings: MetricsSettings,
    store: ConnectClickHouse,
    shards: Sequence[ConnectClickHouse] = (),
    *,
    progress: Callable[[str], None] | None = None,
    keep_log: bool = True,
) -> Refresher:
    """The refresher the settings describe (``shards``: every shard's store, for the warehouse engine on a
    cluster, ``warehouse_shards``)."""
    return Refresher(
        store,
        k=settings.metrics_k,
        as_of=lambda: as_of_of(settings),
        clock=utc_now,
        progress=progress,
        org_levels=settings.org_levels,
        keep_log=keep_log,
        audit=settings.metrics_audit,
        engine=settings.metrics_engine,
        cluster=Cluster(settings.clickhouse_cluster, shards) if shards else None,
        load_processes=settings.metrics_load_processes,
        connect=partial(connect_home, settings),
    )


def warehouse_shards(settings: MetricsSettings) -> list[ConnectClickHouse]:
    """Every shard's store when the warehouse engine runs on a cluster (it creates and empties the fact tables shard
    by shard), else none. Raises `SettingsConflict` on a cluster without CLICKHOUSE_SHARD_URLS."""
    if settings.metrics_engine != WAREHOUSE:
        return []
    if settings.clickhouse_cluster and not settings.shard_urls:
        raise SettingsConflict(
            "METRICS_ENGINE=warehouse on a cluster needs CLICKHOUSE_SHARD_URLS (every shard's endpoint): the fact "
            "tables are created shard by shard"
        )
    return shard_stores(settings)


def observe(telemetry: MetricsTelemetry, report: RefreshReport) -> None:
    telemetry.refresh_seconds.observe(report.seconds)
    telemetry.rows_written.inc(report.rows_written)
    telemetry.last_refresh.set(time.time())
    telemetry.events_cached.set(report.events)
    telemetry.anomalies.set(report.anomalies)
    if report.audit is not None:
        observe_audit(telemetry, report.audit)
    telemetry.publish_held.set(0)
    if report.newest_stored is not None:
        telemetry.refresh_lag.set(max(0.0, time.time() - report.newest_stored.timestamp()))
    for name, value in report.headlines.items():
        if value is not None:
            telemetry.headline.labels(name).set(value)


def observe_audit(telemetry: MetricsTelemetry, audit: AuditReport) -> None:
    telemetry.audit_cells_checked.set(audit.cells_checked)
    telemetry.audit_cells_hidden.set(audit.hidden)
    telemetry.audit_blocks.set(audit.blocks)
    telemetry.audit_rounds.set(audit.rounds)
    telemetry.audit_cells_reused.set(audit.reused)
    telemetry.audit_seconds.observe(audit.seconds)


HELD = "publish held back by the disclosure audit"


def held_back(telemetry: MetricsTelemetry, exc: PublishHeld) -> None:
    """Count and log a table the audit held back; nothing was swapped in, so no answer is stale."""
    audit = exc.audit
    observe_audit(telemetry, audit)
    telemetry.publish_held.set(1)
    telemetry.publish_held_back.inc()
    log.warning(
        "%s: %s; the published indicators stay as they were (docs/operations.md)",
        HELD,
        audit.problem,
        extra={
            "event": "publish_held",
            "reason": audit.problem,
            "leaks": audit.leaks,
            "counts": {"leaking": audit.leaking, "rounds": audit.rounds, "hidden": audit.hidden},
        },
    )


def indicators_ready(refreshed: asyncio.Event, holding: asyncio.Event) -> tuple[bool, str]:
    """/ready's word on the indicators: not before the first refresh, nor while the audit has held back every
    table since start (a table held back later leaves the published one, audited, in service)."""
    if not refreshed.is_set():
        return False, "first refresh running"
    if holding.is_set():
        return False, f"{HELD}; see the publish_held log line"
    return True, "indicators published"


BACKLOG_EVENTS = 5_000
"""A look that finds at least this many new events means a backlog is being stored (a backfill, the demo)."""
SETTLE_SECONDS = 30.0
"""How long to keep absorbing a backlog before recomputing anyway (a long backfill still shows progress)."""


async def absorb_backlog(refresher: Refresher, every: float, stop: asyncio.Event) -> None:
    """While looks keep finding a backlog, absorb it and look again, so one recomputation covers it instead of
    one per ingest batch; a lone event (a look below BACKLOG_EVENTS) goes straight to the refresh."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while await asyncio.to_thread(refresher.absorb) >= BACKLOG_EVENTS and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), min(every, 1.0))
        if stop.is_set():
            return


async def refresh_loop(
    refresher: Refresher,
    telemetry: MetricsTelemetry,
    every: float,
    stop: asyncio.Event,
    published: Callable[[], None] = lambda: None,
    completed: Callable[[], None] = lambda: None,
) -> None:
    """Absorb, refresh, wait `every` seconds, until `stop`; `published` is called after every refresh that ran
    (it may have swapped in years, even one that failed part-way), `completed` after each that published its whole
    table. A table the audit held back (`PublishHeld`) swapped in nothing: it is counted and logged, and the loop
    goes on."""
    while not stop.is_set():
        try:
            await absorb_backlog(refresher, every, stop)
            if stop.is_set():
                break
            report = await asyncio.to_thread(refresher.refresh)
        except StoreError as exc:
            published()
            telemetry.errors.inc()
            log.warning("refresh failed, will retry: %s", exc, extra={"event": "refresh_failed", "reason": str(exc)})
        except PublishHeld as exc:
            held_back(telemetry, exc)
        else:
            if report is not None:
                published()
                completed()
                observe(telemetry, report)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


SWITCH_SECONDS = 0.001
"""How long a thread may hold the GIL while another waits for it (CPython's default is 5 ms). The event loop and
the API's threads wait for it after every socket call while the refresh computes; at 1 ms the uncached API
answered ~35 % more requests under 50 clients in `bench.api_load`."""


def freeze_heap() -> None:
    """Collect, then leave every object alive out of the collector's full passes (`gc.freeze`). The first refresh
    leaves a heap of long-lived objects (the event log, the published years' fingerprints) that every full pass
    walked again: under 50 API clients that was a pass every ~4 s of ~0.27 s holding the GIL, the slowest 1 % of
    answers and of `/health` (bench.api_load). What was alive then and becomes cyclic garbage later is not freed;
    that is bounded by the heap frozen once."""
    gc.collect()
    gc.freeze()


def start_probes(
    settings: MetricsSettings, ready: probes.Check, serving: Callable[[], bool]
) -> tuple[probes.ProbeServer | None, list[asyncio.Task[None]]]:
    """/health and /ready on METRICS_HEALTH_PORT, on a thread of their own, and the loop's tasks they answer from
    (the heartbeat, `ready` every probes.READY_EVERY seconds); nothing when it is 0."""
    if not settings.metrics_health_port:
        return None, []
    state = probes.ProbeState(probes.Heartbeat(), probes.Readiness(), serving)
    server = probes.ProbeServer(state, settings.http_host, settings.metrics_health_port).start()
    tasks = [asyncio.create_task(state.heartbeat.keep()), asyncio.create_task(state.readiness.keep(ready))]
    log.info(
        "metrics probes on %s:%d",
        settings.http_host,
        server.port,
        extra={"event": "probes_serving", "host": settings.http_host, "port": server.port},
    )
    return server, tasks


def api_server(app: ASGIApp, settings: MetricsSettings) -> uvicorn.Server:
    """The API's HTTP server. Requests are parsed by httptools (C), not h11, uvicorn's pure-Python fallback."""
    return http_server(app, host=settings.http_host, port=settings.metrics_http_port, http="httptools")


def stop_when_ended(server: asyncio.Task[None], stop: asyncio.Event) -> list[BaseException]:
    """Set `stop` when the API's server task ends before the service asked it to (it failed to start, or died):
    the service then winds down and exits non-zero rather than refreshing on with no API. Returns the list the
    failure is put in (empty while the server runs or once it was stopped on purpose)."""
    failures: list[BaseException] = []

    def ended(task: asyncio.Task[None]) -> None:
        if stop.is_set():
            return
        failure = None if task.cancelled() else task.exception()
        failures.append(failure or RuntimeError("the API server stopped by itself"))
        log.error(
            "the API server stopped: %r; the service stops",
            failures[0],
            exc_info=failure,
            extra={"event": "api_server_stopped", "reason": repr(failures[0])},
        )
        stop.set()

    server.add_done_callback(ended)
    return failures


def run(settings: MetricsSettings) -> int:
    """`serve` until a signal, on uvloop's event loop (libuv, in C) rather than asyncio's own."""
    return uvloop.run(serve(settings))


async def serve(settings: MetricsSettings) -> int:
    sys.setswitchinterval(SWITCH_SECONDS)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    store = await asyncio.to_thread(connect_store, settings)
    api_store = await asyncio.to_thread(connect_api_store, settings)
    api_threads = ApiThreads(settings.metrics_api_concurrency)
    cache = AnswerCache(settings.metrics_api_cache_mb * 1024 * 1024)
    snapshots = snapshot.Snapshots(settings.metrics_api_snapshot_mb * 1024 * 1024)
    snapshot_threads = ApiThreads(1)

    def published() -> None:
        cache.invalidate()
        snapshots.invalidate()

    telemetry = MetricsTelemetry()
    shards = await asyncio.to_thread(warehouse_shards, settings)
    refresher = build_refresher(settings, store, shards)
    refreshed = asyncio.Event()
    holding = asyncio.Event()  # set while the audit has held back every table since start

    async def live() -> tuple[bool, str]:
        return True, "running"

    async def ready() -> tuple[bool, str]:
        store_ok = await asyncio.to_thread(store.ping)
        if not store_ok:
            return False, "clickhouse=down"
        return indicators_ready(refreshed, holding)

    app = build_app(
        [
            *operator_routes(live=live, ready=ready, registry=telemetry.registry),
            *routes(
                api_store,
                k=settings.metrics_k,
                threads=api_threads,
                cache=cache,
                snapshots=snapshots,
                snapshot_threads=snapshot_threads,
                org_levels=settings.org_levels,
            ),
            *pages.routes(api_store, cache=cache, threads=api_threads),
        ]
    )
    server = api_server(app, settings)
    http = asyncio.create_task(server.serve())
    server_failed = stop_when_ended(http, stop)
    held = asyncio.create_task(snapshots.keep(lambda: snapshot.load(api_store, snapshots.max_bytes)))
    probe_server, watched = start_probes(settings, ready, serving=lambda: not http.done())
    try:
        first = await asyncio.to_thread(refresher.refresh, force=True)
    except PublishHeld as exc:
        holding.set()
        held_back(telemetry, exc)
    else:
        published()  # answers given while the first refresh ran
        if first is not None:
            observe(telemetry, first)
    await asyncio.to_thread(freeze_heap)
    refreshed.set()
    log.info(
        "metrics serving on %s:%d",
        settings.http_host,
        settings.metrics_http_port,
        extra={"event": "serving", "host": settings.http_host, "port": settings.metrics_http_port},
    )
    await refresh_loop(refresher, telemetry, settings.metrics_refresh_seconds, stop, published, holding.clear)
    server.should_exit = True
    if not server_failed:
        await http
    if probe_server is not None:
        probe_server.close()
    for task in (held, *watched):
        task.cancel()
    api_threads.shutdown()
    snapshot_threads.shutdown()
    api_store.close()
    for shard in shards:
        shard.close()
    store.close()
    return 1 if server_failed else 0


class SettingsConflict(Exception):
    """Settings that each parse but cannot work together (the message names them and what to set)."""


def rebuild(settings: MetricsSettings, progress: Callable[[str], None]) -> RefreshReport | None:
    """Recompute and republish every indicator once, from all stored events; `progress` gets a line per phase.
    Raises `PublishHeld` when the audit (METRICS_AUDIT) cannot protect the table: then nothing is published.
    With METRICS_ENGINE=warehouse the warehouse path computes (on a cluster: CLICKHOUSE_SHARD_URLS must name every
    shard, where the fact tables are created; else `SettingsConflict`)."""
    shards = warehouse_shards(settings)
    store = connect_store(settings)
    try:
        return build_refresher(settings, store, shards, progress=progress, keep_log=False).refresh(force=True)
    finally:
        for shard in shards:
            shard.close()
        store.close()


REFERENCE_WAGE_COLUMNS = ("region", "year", "annual_amount", "source", "loaded_at")


def load_reference_wages(settings: MetricsSettings, rows: Sequence[tuple[str, int, float, str]]) -> int:
    """Store (region, year, annual amount, source) rows, stamped now; the next refresh uses them. Returns the count."""
    store = connect_store(settings)
    try:
        now = utc_now()
        store.insert_rows("reference_wages", [(*row, now) for row in rows], REFERENCE_WAGE_COLUMNS)
    finally:
        store.close()
    return len(rows)
