"""Run ingest in-process or as a subprocess against real servers, and wait on ClickHouse without sleeps."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import nats

from services.common.clickhouse import ConnectClickHouse
from services.ingest.app import Ingest, build
from services.ingest.settings import IngestSettings

TEST_KEY = "test-key-0123456789abcdef0123456789abcdef"


def ingest_settings(servers_clickhouse: str, database: str, broker_url: str, **overrides: Any) -> IngestSettings:
    """Settings with names no other test uses (subject, stream, consumer, dead letters)."""
    tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "pseudonym_key": TEST_KEY,
        "clickhouse_url": servers_clickhouse,
        "clickhouse_database": database,
        "broker_url": broker_url,
        "ingest_subject": f"t{tag}.>",
        "ingest_topic": f"t{tag}.events",
        "ingest_stream": f"T{tag}",
        "ingest_consumer": f"c{tag}",
        "ingest_dead_letter": f"t{tag}_dlq",
        "ingest_batch_size": 2_000,
        "ingest_batch_seconds": 0.2,
        "ingest_http_port": 0,
    }
    values.update(overrides)
    return IngestSettings(**values)


def settings_env(settings: IngestSettings) -> dict[str, str]:
    """The same settings as environment variables, for a subprocess."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        env[name.upper()] = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return env


@contextlib.asynccontextmanager
async def running(settings: IngestSettings, store: ConnectClickHouse) -> AsyncIterator[Ingest]:
    ingest = build(settings, store)
    await ingest.adapter.start()
    task = asyncio.create_task(ingest.consumer.run())
    try:
        yield ingest
    finally:
        await ingest.consumer.stop()
        await task
        await ingest.adapter.close()


async def publish_nats(url: str, subject: str, bodies: Sequence[bytes], *, window: int = 2_000) -> None:
    client = await nats.connect(url)
    js = client.jetstream()
    try:
        for start in range(0, len(bodies), window):
            acks = [await js.publish_async(subject, body) for body in bodies[start : start + window]]
            await asyncio.gather(*acks)
    finally:
        await client.close()


async def wait_for(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll `check` (run in a thread) until true or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.2)


def count(store: ConnectClickHouse, sql: str) -> int:
    return int(store.query_rows(sql)[0][0])


def exact_once(store: ConnectClickHouse) -> tuple[int, int]:
    """(rows with FINAL, distinct event ids): equal when every event is stored exactly once."""
    final = count(store, "SELECT count() FROM events FINAL")
    distinct = count(store, "SELECT uniqExact(event_id) FROM events")
    return final, distinct
