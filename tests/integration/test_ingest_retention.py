"""Retention of refused messages against real servers: the `ingest_rejects` TTL (set on an old table at start,
idempotently) and the dead-letter retention of NATS, Redis and RabbitMQ."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast
from urllib.parse import urlsplit

import aio_pika
import nats
import pytest
from redis.asyncio import Redis

from services.common.clickhouse import ConnectClickHouse
from services.common.migrations import migrate
from services.ingest.brokers import make_adapter
from services.ingest.brokers.base import Channels
from services.ingest.deliveries import Delivery, Reject
from services.ingest.retention import ensure_reject_retention, ttl_days
from services.ingest.writer import RejectRecord

from .servers import Servers

NOW = datetime(2026, 11, 1, tzinfo=UTC)
DAY = 86_400
OLD_DDL = """CREATE TABLE ingest_rejects
(
    received_at DateTime64(3, 'UTC'), reason_code LowCardinality(String), reason String, field_path String,
    event_type String, event_id Nullable(UUID), payload String, broker LowCardinality(String), subject String,
    reject_key String
)
ENGINE = ReplacingMergeTree ORDER BY reject_key SETTINGS non_replicated_deduplication_window = 1000"""


@pytest.fixture
def old_store(servers: Servers, database: str) -> Iterator[ConnectClickHouse]:
    """A database whose ingest_rejects was created before the retention columns and TTL, with one row."""
    name = f"{database}_old"
    store = ConnectClickHouse.connect(servers.clickhouse_url, database=name, user="default", password="")
    store.command(OLD_DDL)
    store.insert_rows("ingest_rejects", [(NOW, "invalid", "old")], ("received_at", "reason_code", "reject_key"))
    yield store
    store.command(f"DROP DATABASE IF EXISTS {name}")
    store.close()


def definition(store: ConnectClickHouse) -> str:
    sql = "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = 'ingest_rejects'"
    return str(store.query_rows(sql)[0][0])


def test_an_old_rejects_table_gets_the_columns_and_the_ttl_once(old_store: ConnectClickHouse, database: str) -> None:
    assert ttl_days(definition(old_store)) is None
    migrate(old_store, "ingest", database=f"{database}_old")  # as at start: the columns (004), then the TTL
    assert ensure_reject_retention(old_store, 90) == [
        "ALTER TABLE ingest_rejects MODIFY TTL toDateTime(stored_at) + INTERVAL 90 DAY"
    ]
    assert ttl_days(definition(old_store)) == 90
    assert ensure_reject_retention(old_store, 90) == [], "a second start changes nothing"
    assert ensure_reject_retention(old_store, 30) == [
        "ALTER TABLE ingest_rejects MODIFY TTL toDateTime(stored_at) + INTERVAL 30 DAY"
    ]
    assert ttl_days(definition(old_store)) == 30
    rows = old_store.query_rows("SELECT reject_key, stored_at > toDateTime64('2000-01-01', 3) FROM ingest_rejects")
    assert rows == [("old", 1)], "the old row stays, dated by the change"


def test_the_rejects_table_ingest_creates_has_the_ttl(store: ConnectClickHouse) -> None:
    assert ttl_days(definition(store)) == 90
    assert ensure_reject_retention(store, 90) == []


def reject(channels: Channels) -> RejectRecord:
    delivery = Delivery(b"not json", None, channels.subject, NOW, "1")
    return RejectRecord(delivery, Reject("malformed_json", "not JSON"), "test")


def channels(days: int, tag: str) -> Channels:
    return Channels(f"r{tag}.>", f"r{tag}_dlq.>", f"R{tag}", f"c{tag}", 10, dead_letter_days=days)


async def test_nats_dead_letter_stream_keeps_letters_for_the_configured_days(servers: Servers) -> None:
    tag = uuid.uuid4().hex[:8]
    for days in (90, 7):  # created with 90 days, then an existing stream brought to 7
        adapter = make_adapter(servers.nats_url, channels(days, tag), clock=lambda: NOW)
        await adapter.declare()  # type: ignore[attr-defined]
        await adapter.close()
        client = await nats.connect(servers.nats_url)
        try:
            info = await client.jetstream().stream_info(f"R{tag}_DLQ")
            assert info.config.max_age == days * DAY
        finally:
            await client.close()
    client = await nats.connect(servers.nats_url)
    try:
        for stream in (f"R{tag}", f"R{tag}_DLQ"):
            await client.jetstream().delete_stream(stream)
    finally:
        await client.close()


def answers(url: str, port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or port), timeout=2):
            return True
    except OSError:
        return False


async def test_redis_dead_letters_older_than_the_configured_days_are_trimmed() -> None:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if not answers(url, 6379):
        pytest.skip(f"no Redis answers at {url}")
    ch = Channels(f"r{uuid.uuid4().hex[:8]}", f"r{uuid.uuid4().hex[:8]}_dlq", "S", "c", 10, dead_letter_days=30)
    client = Redis.from_url(url)
    adapter = make_adapter(url, ch, clock=lambda: NOW)
    try:
        old_ms = int((datetime.now(UTC).timestamp() - 31 * DAY) * 1000)
        await client.xadd(ch.dead_letter, {"payload": b"old"}, id=f"{old_ms}-0")
        await adapter.dead_letter([reject(ch)])
        entries = cast(list[tuple[bytes, dict[bytes, bytes]]], await client.xrange(ch.dead_letter))
        assert [fields[b"payload"] for _, fields in entries] == [b"not json"]
    finally:
        await adapter.close()
        await client.delete(ch.subject, ch.dead_letter)
        await client.aclose()


async def test_rabbit_dead_letters_expire_after_the_configured_days() -> None:
    url = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
    if not answers(url, 5672):
        pytest.skip(f"no RabbitMQ answers at {url}")
    tag = uuid.uuid4().hex[:8]
    ch = Channels(f"r{tag}", f"r{tag}_dlq", "S", "c", 10, dead_letter_days=30)
    adapter = make_adapter(url, ch, clock=lambda: NOW)
    connection = await aio_pika.connect(url)
    try:
        await adapter.dead_letter([reject(ch)])
        channel = await connection.channel()
        queue = await channel.declare_queue(ch.dead_letter, durable=True)
        message = None
        for _ in range(50):
            message = await queue.get(no_ack=True, fail=False)
            if message is not None:
                break
            await asyncio.sleep(0.1)
        assert message is not None and message.body == b"not json"
        assert message.expiration == 30 * DAY
        await queue.delete(if_unused=False, if_empty=False)
        await channel.queue_delete(ch.subject)
        await channel.exchange_delete(f"{ch.dead_letter}.dlx")
    finally:
        await adapter.close()
        await connection.close()
