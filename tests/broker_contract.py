"""The broker adapter contract: what every adapter must do, run against each real broker
(tests/integration/test_broker_adapters.py) and against the in-memory adapter (tests/unit/test_broker_memory.py).

A test module supplies a `Broker`: an adapter factory over fresh names, a reader of the dead-letter destination,
and whether the broker settles only a contiguous prefix (Kafka). `run_contract` then checks at-least-once across
a consumer restart, exactly-the-unsettled redelivery, dead letters with their reason, and replay;
`run_nacked_go_to_the_next` checks that what a stopping consumer nacks reaches its successor at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.ingest.brokers.base import BrokerAdapter, Channels
from services.ingest.deliveries import Delivery, Reject
from services.ingest.writer import RejectRecord

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


@dataclass
class Broker:
    make: Callable[..., BrokerAdapter]
    read_dead_letters: Callable[[], Awaitable[list[tuple[bytes, dict[str, str]]]]]
    prefix_only: bool  # Kafka commits a contiguous settled prefix; others settle exactly what was acked


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


async def run_nacked_go_to_the_next(first: BrokerAdapter, fresh: BrokerAdapter) -> None:
    """A stopping process nacks what it could not store; its successor takes those at once."""
    bodies = make_bodies(200)
    await first.publish(bodies)
    got = Collector()
    first.subscribe(got)
    await first.start()
    await got.wait_for(len(bodies))
    await first.stop_consuming()
    await first.ack(got.got[:150])
    await first.nack(got.got[150:])
    await first.close()
    again = Collector()
    fresh.subscribe(again)
    await fresh.start()
    try:
        await again.wait_for(50, deadline=10.0)
        assert again.bodies() == {d.body for d in got.got[150:]}
    finally:
        await fresh.stop_consuming()
        await fresh.close()
