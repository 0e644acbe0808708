"""The consumer's ack / nack / flush logic on the in-memory adapter (which runs the real brokers' contract, see
tests/unit/test_broker_memory.py). The pipeline is the real one (validate, resolve, rows); only the storage
stage is a fake writer, since what is checked here is when the consumer acknowledges, not how rows reach
ClickHouse (tests/integration/test_ingest_writer.py covers that against a real server).

A journal records, in order, each write of the fake writer and each ack, nack and dead letter of the adapter.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.common.errors import StoreRejected, StoreUnavailable
from services.common.retry import Backoff
from services.ingest.brokers.base import Channels
from services.ingest.brokers.memory import MemoryAdapter, MemoryBroker
from services.ingest.buffer import Buffer
from services.ingest.consumer import Consumer
from services.ingest.deliveries import Delivery
from services.ingest.guard import RejectGuard, RejectLimit
from services.ingest.pipeline import Pipeline
from services.ingest.pseudonymise import Pseudonymiser
from services.ingest.resolve import Known
from services.ingest.rows import EventRow
from services.ingest.telemetry import IngestMetrics
from services.ingest.writer import EventWriter, RejectRecord
from tests.broker_contract import poll, poll_async

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
KEY = b"k" * 40
TEMPLATE = Path(__file__).parents[2] / "schemas" / "examples" / "valid" / "staffing.hired.v1" / "graduate.json"
NOT_UTF8 = b"\xff not json"
NO_FIELDS = b'{"event_type": "staffing.hired.v1", "event_id": "00000000-0000-0000-0000-000000000007", "data": {}}'
NO_WAIT = Backoff(first=0.001, factor=1.0, ceiling=0.001)  # retries at once, yet yield to the loop
Journal = list[tuple[str, list[str]]]


def hire(n: int) -> bytes:
    payload: dict[str, Any] = json.loads(TEMPLATE.read_text("utf-8"))
    payload["event_id"] = event_id(n)
    payload["worker_id"] = f"W-{n:06d}"
    return json.dumps(payload).encode()


def event_id(n: int) -> str:
    return str(uuid.UUID(int=n + 1))


def label(body: bytes) -> str:
    """The event id of a body, or the body itself when it has none."""
    try:
        return str(json.loads(body)["event_id"])
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace")


class FakeWriter(EventWriter):
    """The storage stage without ClickHouse: holds the rows written, raises `failures` first, one per write."""

    def __init__(self, journal: Journal, failures: Sequence[Exception] = ()) -> None:
        self.journal = journal
        self.failures = list(failures)
        self.rows: dict[str, EventRow] = {}
        self.batches: list[list[str]] = []
        self.rejects: list[RejectRecord] = []

    def known(self, event_ids: set[str]) -> dict[str, Known]:
        held = (self.rows[i] for i in event_ids if i in self.rows)
        return {row.event_id: Known(row.content_hash, row.event_type, row.data) for row in held}

    def write_events(self, rows: Sequence[EventRow], *, key_id: str | None = None) -> None:
        if self.failures:
            raise self.failures.pop(0)
        if rows:
            self.rows.update((row.event_id, row) for row in rows)
            self.batches.append([row.event_id for row in rows])
            self.journal.append(("write", [row.event_id for row in rows]))

    def write_rejects(self, records: Sequence[RejectRecord]) -> None:
        self.rejects += records
        self.journal.append(("rejects", [label(r.delivery.body) for r in records]))


class JournalledAdapter(MemoryAdapter):
    """The memory adapter, writing each settlement and dead letter into the journal."""

    def __init__(self, broker: MemoryBroker, channels: Channels, journal: Journal) -> None:
        super().__init__(broker, channels, clock=lambda: NOW)
        self.journal = journal

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        self.journal.append(("ack", [label(d.body) for d in deliveries]))
        await super().ack(deliveries)

    async def nack(self, deliveries: Sequence[Delivery]) -> None:
        self.journal.append(("nack", [label(d.body) for d in deliveries]))
        await super().nack(deliveries)

    async def dead_letter_limit(self) -> int:
        self.journal.append(("limit", []))
        return await super().dead_letter_limit()

    async def dead_letter(self, records: Sequence[RejectRecord]) -> list[RejectRecord]:
        self.journal.append(("dead_letter", [label(r.delivery.body) for r in records]))
        return await super().dead_letter(records)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    """One ingest process on a memory broker: adapter, real pipeline over a fake writer, buffer, consumer."""

    server: MemoryBroker
    adapter: JournalledAdapter
    writer: FakeWriter
    buffer: Buffer
    clock: FakeClock
    consumer: Consumer
    metrics: IngestMetrics
    journal: Journal
    counts: list[int] = field(default_factory=list)
    """The adapter's delivery count of each message handed to the consumer, in order."""
    running: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.adapter.start()
        self.running = asyncio.create_task(self.consumer.run())

    async def stop(self) -> None:
        await self.consumer.stop()
        assert self.running is not None
        await self.running
        await self.adapter.close()

    async def publish(self, *bodies: bytes) -> None:
        await self.adapter.publish(list(bodies))

    async def settled(self) -> None:
        """Wait until the broker holds nothing more for this consumer."""

        async def drained() -> bool:
            return await self.adapter.pending() == 0

        await poll_async(drained, "everything settled", 5.0)

    def count(self, kind: str) -> list[str]:
        return [item for k, items in self.journal if k == kind for item in items]

    def settlements(self) -> Journal:
        return [(kind, items) for kind, items in self.journal if kind != "limit"]


def rig(
    server: MemoryBroker | None = None,
    *,
    batch: int = 100,
    failures: Sequence[Exception] = (),
    limit: RejectLimit | None = None,
) -> Rig:
    server = server or MemoryBroker()
    journal: Journal = []
    channels = Channels("workforce.events", "workforce_dlq", "WORKFORCE", "workforce-ingest", fetch_size=10)
    adapter = JournalledAdapter(server, channels, journal)
    writer = FakeWriter(journal, failures)
    pipeline = Pipeline(writer, Pseudonymiser(KEY), zone=ZoneInfo("Asia/Shanghai"), broker="memory", clock=lambda: NOW)
    clock = FakeClock()
    buffer = Buffer(max_size=batch, max_wait=1.0, capacity=2 * batch, clock=clock)
    metrics = IngestMetrics()
    guard = RejectGuard(limit or RejectLimit())
    consumer = Consumer(adapter, pipeline, buffer, guard, metrics, backoff=NO_WAIT)
    r = Rig(server, adapter, writer, buffer, clock, consumer, metrics, journal)

    async def sink(deliveries: list[Delivery]) -> None:
        r.counts += [adapter.delivery_count(d) for d in deliveries]
        await consumer.accept(deliveries)

    adapter.subscribe(sink)
    return r


async def advance(r: Rig, seconds: float) -> None:
    """Move the buffer's clock on and let it look again, as its own timer does when it fires."""
    r.clock.now += seconds
    async with r.buffer._changed:
        r.buffer._changed.notify_all()


async def time_out(r: Rig, buffered: int) -> None:
    """Once `buffered` messages wait in the buffer, let the oldest reach the buffer's max_wait."""
    await poll(lambda: r.consumer.buffered == buffered, f"{buffered} buffered", 5.0)
    await advance(r, 1.0)


def assert_acked_after_written(journal: Journal) -> None:
    written: set[str] = set()
    for kind, items in journal:
        if kind in ("write", "rejects"):
            written.update(items)
        if kind == "ack":
            assert set(items) <= written, f"acked before written: {sorted(set(items) - written)}"


def metric(r: Rig, name: str, **labels: str) -> float:
    return r.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_a_writer_that_fails_acks_nothing_and_the_message_is_redelivered() -> None:
    first = rig(failures=[StoreRejected("Code: 53. Type mismatch")])
    await first.publish(hire(1), hire(2))
    await first.start()
    await time_out(first, 2)
    assert first.running is not None
    with pytest.raises(StoreRejected):
        await asyncio.wait_for(first.running, 5)
    assert first.count("ack") == [] and first.count("nack") == [] and first.writer.rows == {}
    await first.adapter.close()  # the process exits; what it held goes back to the broker

    second = rig(first.server)
    await second.start()
    await time_out(second, 2)
    await second.settled()
    assert second.counts == [2, 2], "each delivered a second time"
    assert sorted(second.writer.rows) == [event_id(1), event_id(2)]
    assert_acked_after_written(second.journal)
    await second.stop()


async def test_a_store_away_is_retried_and_the_ack_follows_the_write() -> None:
    r = rig(failures=[StoreUnavailable("connection refused")] * 2)
    await r.publish(hire(1), hire(2), hire(3))
    await r.start()
    await time_out(r, 3)
    await r.settled()
    assert r.writer.batches == [[event_id(1), event_id(2), event_id(3)]]
    assert [kind for kind, _ in r.journal] == ["write", "ack"]
    assert metric(r, "ingest_insert_errors_total", kind="unavailable") == 2
    assert r.consumer.store_ready
    await r.stop()


async def test_stopping_while_the_store_is_away_nacks_and_the_next_process_gets_the_messages() -> None:
    first = rig(failures=[StoreUnavailable("connection refused")] * 1_000_000)
    await first.publish(hire(1), hire(2))
    await first.start()
    await time_out(first, 2)
    await poll(lambda: metric(first, "ingest_insert_errors_total", kind="unavailable") > 0, "a failed store", 5.0)
    await first.stop()
    assert first.count("ack") == [] and sorted(first.count("nack")) == [event_id(1), event_id(2)]

    second = rig(first.server)
    await second.start()
    await time_out(second, 2)
    await second.settled()
    assert second.counts == [2, 2] and sorted(second.writer.rows) == [event_id(1), event_id(2)]
    await second.stop()


async def test_a_batch_is_flushed_when_full() -> None:
    r = rig(batch=5)
    await r.publish(*(hire(n) for n in range(12)))
    await r.start()
    await poll(lambda: len(r.count("ack")) == 10, "two full batches acked", 5.0)
    assert [len(b) for b in r.writer.batches] == [5, 5]
    assert r.consumer.buffered == 2 and await r.adapter.pending() == 2, "the rest waits, unacked"
    assert_acked_after_written(r.journal)
    await r.stop()


async def test_a_partial_batch_is_flushed_when_its_oldest_has_waited() -> None:
    r = rig(batch=100)
    await r.publish(hire(1), hire(2), hire(3))
    await r.start()
    await poll(lambda: r.consumer.buffered == 3, "three buffered", 5.0)
    await advance(r, 0.9)
    for _ in range(10):
        await asyncio.sleep(0)
    assert r.writer.batches == [] and r.count("ack") == [], "not before max_wait"
    await advance(r, 0.1)
    await r.settled()
    assert r.writer.batches == [[event_id(1), event_id(2), event_id(3)]]
    assert_acked_after_written(r.journal)
    await r.stop()


async def test_a_bad_message_is_dead_lettered_with_its_reason_and_acked() -> None:
    r = rig()
    await r.publish(hire(1), NOT_UTF8, NO_FIELDS)
    await r.start()
    await time_out(r, 3)
    await r.settled()
    letters = r.server.read("workforce_dlq")
    assert [m.body for m in letters] == [NOT_UTF8, NO_FIELDS]
    assert [m.headers["x-reject-code"] for m in letters] == ["invalid_utf8", "invalid"]
    assert "required field is missing" in letters[1].headers["x-reject-reason"]
    assert {m.headers["x-original-subject"] for m in letters} == {"workforce.events"}
    assert [r.reject.code for r in r.writer.rejects] == ["invalid_utf8", "invalid"]
    bad = [label(NOT_UTF8), label(NO_FIELDS)]
    assert r.settlements() == [
        ("write", [event_id(1)]),
        ("rejects", bad),
        ("dead_letter", bad),
        ("ack", [event_id(1), *bad]),
    ], "rows and rejects stored, then dead letters, then one ack for the batch"
    assert metric(r, "ingest_rejected_total", reason="invalid") == 1
    await r.stop()


async def test_a_duplicate_is_not_written_twice() -> None:
    r = rig()
    await r.publish(hire(1), hire(1), hire(2))
    await r.start()
    await time_out(r, 3)
    await r.settled()
    await r.publish(hire(2))  # a producer's retry, in a later batch
    await time_out(r, 1)
    await r.settled()
    assert r.writer.batches == [[event_id(1), event_id(2)]]
    assert sorted(r.count("ack")) == sorted([event_id(1), event_id(1), event_id(2), event_id(2)])
    assert metric(r, "ingest_duplicates_total") == 2
    await r.stop()


async def test_shutdown_flushes_and_acks_what_is_buffered() -> None:
    r = rig(batch=100)
    await r.publish(*(hire(n) for n in range(7)))
    await r.start()
    await poll(lambda: r.consumer.buffered == 7, "seven buffered", 5.0)
    assert r.writer.batches == []
    await r.stop()
    assert [len(b) for b in r.writer.batches] == [7]
    assert len(r.count("ack")) == 7 and await r.adapter.pending() == 0
    assert_acked_after_written(r.journal)
    await r.publish(hire(8))
    assert await r.adapter.pending() == 1, "stopped: the next message stays in the broker"


async def test_dead_letters_wait_for_the_broker_and_nothing_is_acked_meanwhile() -> None:
    r = rig()
    await r.publish(hire(1), NOT_UTF8)
    r.server.available = False
    await r.start()
    await time_out(r, 2)
    await poll(lambda: sum(kind == "limit" for kind, _ in r.journal) >= 3, "the broker asked again and again", 5.0)
    assert r.count("ack") == [] and r.count("nack") == [] and r.writer.batches == [[event_id(1)]]
    r.server.available = True
    await r.settled()
    assert [m.body for m in r.server.read("workforce_dlq")] == [NOT_UTF8]
    assert_acked_after_written(r.journal)
    await r.stop()


async def test_past_the_reject_limit_the_good_are_acked_the_bad_nacked_and_consuming_stops() -> None:
    r = rig(limit=RejectLimit(max_share=0.5, window=100, min_rejects=2))
    await r.publish(hire(1), NOT_UTF8, NO_FIELDS)
    await r.start()
    await time_out(r, 3)
    await poll(lambda: r.consumer.stopped_because is not None, "the guard to trip", 5.0)
    assert r.count("ack") == [event_id(1)]
    assert sorted(r.count("nack")) == sorted([label(NOT_UTF8), label(NO_FIELDS)])
    assert r.count("dead_letter") == [] and r.server.read("workforce_dlq") == []
    await r.stop()
    assert await r.adapter.pending() == 2, "the bad messages stay in the broker"
