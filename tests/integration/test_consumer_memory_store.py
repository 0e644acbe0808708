"""The consumer on the in-memory adapter with the real pipeline and a real ClickHouse: what
tests/unit/test_consumer_memory.py checks over a fake writer, once end to end through EventWriter."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.common.clickhouse import ConnectClickHouse
from services.ingest.brokers.base import Channels
from services.ingest.brokers.memory import MemoryAdapter, MemoryBroker
from services.ingest.buffer import Buffer
from services.ingest.consumer import Consumer
from services.ingest.guard import RejectGuard, RejectLimit
from services.ingest.pipeline import Pipeline
from services.ingest.pseudonymise import Pseudonymiser
from services.ingest.telemetry import IngestMetrics
from services.ingest.writer import EventWriter
from tests.broker_contract import poll_async

from .events import hire

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
NOT_UTF8 = b"\xff not json"


async def test_memory_broker_to_clickhouse_stores_once_dead_letters_and_acks_all(store: ConnectClickHouse) -> None:
    server = MemoryBroker()
    channels = Channels("workforce.events", "workforce_dlq", "WORKFORCE", "workforce-ingest", fetch_size=10)
    adapter = MemoryAdapter(server, channels, clock=lambda: NOW)
    pipeline = Pipeline(
        EventWriter(store), Pseudonymiser(b"k" * 40), zone=ZoneInfo("Asia/Shanghai"), broker="memory", clock=lambda: NOW
    )
    buffer = Buffer(max_size=4, max_wait=60.0, capacity=8)  # eight messages: two full batches, no timer involved
    consumer = Consumer(adapter, pipeline, buffer, RejectGuard(RejectLimit()), IngestMetrics())
    adapter.subscribe(consumer.accept)
    namespace = uuid.uuid4()
    await adapter.publish([hire(n, namespace=namespace) for n in range(6)] + [hire(0, namespace=namespace), NOT_UTF8])
    await adapter.start()
    running = asyncio.create_task(consumer.run())

    async def drained() -> bool:
        return await adapter.pending() == 0

    await poll_async(drained, "every message acked", 30.0)
    await consumer.stop()
    await running
    await adapter.close()
    assert store.query_rows("SELECT count() FROM events") == [(6,)], "the repeat of event 0 found in the store"
    assert store.query_rows("SELECT reason_code, dead_letter FROM ingest_rejects") == [("invalid_utf8", "original")]
    assert [(m.body, m.headers["x-reject-code"]) for m in server.read("workforce_dlq")] == [(NOT_UTF8, "invalid_utf8")]
