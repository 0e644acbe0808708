"""The only wiring module: settings → store, adapter, pipeline, consumer, HTTP routes; run until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.common.cli import package_version
from services.common.clickhouse import ConnectClickHouse
from services.common.errors import StoreUnavailable
from services.common.http import build_app, http_server, operator_routes
from services.common.migrations import connect_migrated, shard_stores
from services.common.retry import DEFAULT_BACKOFF, Backoff

from .backfill import BackfillSummary, read_lines
from .backfill import backfill as store_deliveries
from .brokers import Channels, make_adapter
from .brokers.base import BrokerAdapter
from .buffer import Buffer
from .consumer import Consumer
from .guard import RejectGuard, RejectLimit
from .pipeline import Pipeline
from .pseudonymise import Pseudonymiser
from .rekey import Rekeyed, plan, read_worker_ids, rekey
from .retention import ensure_reject_retention
from .settings import IngestSettings
from .telemetry import IngestMetrics
from .writer import EventWriter

log = logging.getLogger("workforce.ingest")
SERVICE = "ingest"
"""The owner of services/ingest/sql: `events`, `ingest_rejects`."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def channels_for(settings: IngestSettings) -> Channels:
    nats = urlsplit(settings.broker_url).scheme in ("nats", "tls")
    return Channels(
        subject=settings.ingest_subject if nats else settings.ingest_topic,
        dead_letter=f"{settings.ingest_dead_letter}.>" if nats else settings.ingest_dead_letter,
        stream=settings.ingest_stream,
        consumer=settings.ingest_consumer,
        fetch_size=settings.ingest_fetch_size,
        in_flight=2 * settings.ingest_batch_size,
        dead_letter_days=settings.ingest_reject_ttl_days,
    )


def connect_store(settings: IngestSettings) -> ConnectClickHouse:
    """Connect, apply ingest's pending migrations (services/ingest/sql), and bring `ingest_rejects` (on a cluster
    with CLICKHOUSE_SHARD_URLS, every shard's `ingest_rejects_local`) to INGEST_REJECT_TTL_DAYS."""
    store = connect_migrated(settings, SERVICE)
    shards = shard_stores(settings)
    try:
        ensure_reject_retention(store, settings.ingest_reject_ttl_days, shards)
    except BaseException:
        store.close()
        raise
    finally:
        for shard in shards:
            shard.close()
    return store


def pseudonymisers(settings: IngestSettings) -> tuple[Pseudonymiser, list[Pseudonymiser]]:
    """The current key's pseudonymiser and one per previous key (PSEUDONYM_KEYS_PREVIOUS)."""
    current = Pseudonymiser(settings.pseudonym_key.get_secret_value().encode())
    return current, [Pseudonymiser(key.encode()) for key in settings.previous_keys]


async def connect_store_with_retry(
    settings: IngestSettings,
    stop: asyncio.Event,
    backoff: Backoff = DEFAULT_BACKOFF,
    connect: Callable[[IngestSettings], ConnectClickHouse] = connect_store,
) -> ConnectClickHouse | None:
    """Connect until ClickHouse answers, waiting jittered delays between attempts; None if stopped first."""
    delays = backoff.delays()
    while not stop.is_set():
        try:
            return await asyncio.to_thread(connect, settings)
        except StoreUnavailable as exc:
            delay = next(delays)
            log.warning(
                "ClickHouse not reachable yet (%s); retrying in %.1fs",
                exc,
                delay,
                extra={"event": "store_connect_retry", "seconds": delay, "reason": str(exc)},
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
    return None


@dataclass
class Ingest:
    """A built ingest service; `serve` runs it."""

    settings: IngestSettings
    store: ConnectClickHouse
    adapter: BrokerAdapter
    consumer: Consumer
    metrics: IngestMetrics


def build(settings: IngestSettings, store: ConnectClickHouse, clock: Callable[[], datetime] = utc_now) -> Ingest:
    metrics = IngestMetrics()
    adapter = make_adapter(settings.broker_url, channels_for(settings), clock=clock)
    current, previous = pseudonymisers(settings)
    pipeline = Pipeline(
        EventWriter(store), current, zone=settings.zone, broker=adapter.name, clock=clock, previous=previous
    )
    buffer = Buffer(
        max_size=settings.ingest_batch_size,
        max_wait=settings.ingest_batch_seconds,
        capacity=2 * settings.ingest_batch_size,
    )
    guard = RejectGuard(
        RejectLimit(settings.ingest_reject_max_share, settings.ingest_reject_window, settings.ingest_reject_min)
    )
    consumer = Consumer(adapter, pipeline, buffer, guard, metrics)
    adapter.subscribe(consumer.accept)
    return Ingest(settings, store, adapter, consumer, metrics)


def http_app(ingest: Ingest) -> uvicorn.Server:
    async def live() -> tuple[bool, str]:
        why = ingest.consumer.stopped_because
        return (why is None, why or "consuming")

    async def ready() -> tuple[bool, str]:
        store_ok = await asyncio.to_thread(ingest.store.ping)
        broker_ok = await ingest.adapter.ping()
        ok = store_ok and broker_ok and ingest.consumer.stopped_because is None
        return ok, f"clickhouse={'up' if store_ok else 'down'} broker={'up' if broker_ok else 'down'}"

    async def asyncapi(_: Request) -> Response:
        return JSONResponse(asyncapi_document(ingest.adapter))

    routes = operator_routes(live=live, ready=ready, registry=ingest.metrics.registry)
    routes.append(Route("/asyncapi.json", asyncapi))
    return http_server(build_app(routes), host=ingest.settings.http_host, port=ingest.settings.ingest_http_port)


def asyncapi_document(adapter: BrokerAdapter) -> dict[str, object]:
    """FastStream's AsyncAPI 3.0 document of the consumed channels."""
    from faststream.specification import AsyncAPI

    broker = getattr(adapter, "broker")  # noqa: B009 - every adapter exposes its FastStream broker
    spec = AsyncAPI(broker, title="workforce-metrics ingest", version=package_version(), schema_version="3.0.0")
    document: dict[str, object] = spec.to_specification().to_jsonable()
    return document


async def poll_pending(ingest: Ingest, every: float = 5.0) -> None:
    while True:
        with contextlib.suppress(Exception):  # pending is informational; the broker may be briefly away
            count = await ingest.adapter.pending()
            if count is not None:
                ingest.metrics.pending.set(count)
        await asyncio.sleep(every)


def settle_gc() -> None:
    """After start-up: move what exists (modules, models, clients) out of the collector's sight, and
    collect young objects less often, since every batch keeps ~10^5 of them alive until it is stored."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)


async def serve(settings: IngestSettings) -> int:
    """Run until SIGTERM/SIGINT; then stop consuming, flush, acknowledge, exit 0."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    store = await connect_store_with_retry(settings, stop)
    if store is None:
        return 0
    ingest = build(settings, store)
    server = http_app(ingest)
    http = asyncio.create_task(server.serve())
    await ingest.adapter.start()
    settle_gc()
    ingest.metrics.consuming.set(1)
    flusher = asyncio.create_task(ingest.consumer.run())
    poller = asyncio.create_task(poll_pending(ingest))
    log.info(
        "ingest consuming from %s (%s)",
        redact(settings.broker_url),
        ingest.adapter.name,
        extra={"event": "consuming", "broker": redact(settings.broker_url), "adapter": ingest.adapter.name},
    )
    key_id, previous_key_ids = key_ids(settings)
    log.info(
        "pseudonym key %s; previous keys %s",
        key_id,
        previous_key_ids,
        extra={"event": "pseudonym_keys", "key_id": key_id, "previous_key_ids": previous_key_ids},
    )
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({stopper, flusher}, return_when=asyncio.FIRST_COMPLETED)
    log.info(
        "stopping: flushing %d buffered messages",
        ingest.consumer.buffered,
        extra={"event": "stopping", "count": ingest.consumer.buffered},
    )
    await ingest.consumer.stop()
    await flusher
    poller.cancel()
    stopper.cancel()
    await ingest.adapter.close()
    server.should_exit = True
    await http
    store.close()
    log.info("ingest stopped cleanly", extra={"event": "stopped"})
    return 0


def key_ids(settings: IngestSettings) -> tuple[str, str]:
    """The current key's id and the previous keys' ids, for logs: ids name keys, they never reveal them."""
    current, previous = pseudonymisers(settings)
    return current.key_id, ", ".join(p.key_id for p in previous) or "none"


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(parts.password, "***")
    return url


def backfill_files(
    settings: IngestSettings, paths: Sequence[Path], progress: Callable[[int], None] = lambda _: None
) -> BackfillSummary:
    """Store JSON Lines files through the live path (validation, dedup, pseudonymisation) in batches of
    INGEST_BATCH_SIZE; a bad line is a reject row, never a dead letter. Re-running stores nothing twice."""
    store = connect_store(settings)
    try:
        current, previous = pseudonymisers(settings)
        pipeline = Pipeline(
            EventWriter(store),
            current,
            zone=settings.zone,
            broker="file",
            clock=utc_now,
            dead_letters=False,
            previous=previous,
        )
        deliveries = read_lines(paths, utc_now)
        return store_deliveries(deliveries, pipeline, batch_size=settings.ingest_batch_size, progress=progress)
    finally:
        store.close()


async def replay_dead_letters(settings: IngestSettings, limit: int | None) -> int:
    """Re-submit up to `limit` dead-lettered messages (all when None) to the consumed channel; returns how many."""
    adapter = make_adapter(settings.broker_url, channels_for(settings), clock=utc_now)
    try:
        return await adapter.replay_dead_letters(limit)
    finally:
        await adapter.close()


def rekey_workers(settings: IngestSettings, worker_ids: Iterable[str]) -> Rekeyed:
    """Re-key the stored rows of these clear worker ids (one a line) from the previous keys to the current."""
    current, previous = pseudonymisers(settings)
    mapping = plan(read_worker_ids(worker_ids), current, previous)
    store = connect_store(settings)
    try:
        return rekey(store, mapping, current.key_id)
    finally:
        store.close()


def asyncapi_for(settings: IngestSettings) -> dict[str, object]:
    """The AsyncAPI document of the channels these settings consume; connects to nothing."""
    adapter = make_adapter(settings.broker_url, channels_for(settings), clock=utc_now)
    adapter.subscribe(_discard)
    return asyncapi_document(adapter)


async def _discard(_: object) -> None:
    return None
