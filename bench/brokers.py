"""Per broker: a fresh stream/queue filled with the corpus, and the two baselines that consume it.

Every queue is declared and filled through the project's own adapter (so the bytes on the wire are the ones
ingest reads), under uuid-suffixed names, and removed afterwards. Baselines validate every message with
`schemas.validate_many` and store nothing:

- raw: the broker's own client used the fastest plain way (large pull batches and one ack per batch);
- faststream: FastStream's plain batch subscriber with its default parser and ack policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from schemas import validate_many
from services.ingest.brokers import Channels, make_adapter
from services.ingest.brokers.base import BrokerAdapter

PUBLISH_CHUNK = 5_000
RAW_BATCH = 1_000


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Queue:
    """Names of one filled stream/queue; `settings` are the matching ingest settings overrides."""

    tag: str
    channels: Channels
    publish_subject: str
    settings: dict[str, str]


class Consumed:
    """Counts validated messages; the clock starts at the first batch received."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.invalid = 0
        self.first: float | None = None
        self.last = 0.0
        self.counted = asyncio.Event()
        self.done = asyncio.Event()

    def validate(self, bodies: list[bytes]) -> None:
        if self.first is None:
            self.first = time.perf_counter()
        results = validate_many(bodies, now=now())
        self.invalid += sum(1 for r in results if not hasattr(r, "event_type"))
        self.count += len(bodies)
        if self.count >= self.expected:
            self.counted.set()

    def settled(self) -> None:
        if self.count >= self.expected and not self.done.is_set():
            self.last = time.perf_counter()
            self.done.set()

    @property
    def rate(self) -> float:
        return self.count / (self.last - (self.first or self.last) or 1e-9)


class BrokerBench(Protocol):
    name: str
    url: str
    has_faststream: bool

    async def fill(self, bodies: Sequence[bytes]) -> Queue: ...

    async def raw(self, queue: Queue, expected: int) -> Consumed: ...

    async def faststream(self, queue: Queue, expected: int) -> Consumed | None: ...

    async def remove(self, queue: Queue) -> None: ...


def _channels(tag: str, *, nats: bool) -> tuple[Channels, str]:
    subject = f"b{tag}.>" if nats else f"b{tag}.events"
    channels = Channels(subject, f"b{tag}_dlq", f"B{tag}", f"c{tag}", 1_000)
    return channels, f"b{tag}.events"


def _settings(tag: str) -> dict[str, str]:
    return {
        "ingest_subject": f"b{tag}.>",
        "ingest_topic": f"b{tag}.events",
        "ingest_stream": f"B{tag}",
        "ingest_consumer": f"c{tag}",
        "ingest_dead_letter": f"b{tag}_dlq",
    }


async def _fill(url: str, bodies: Sequence[bytes], *, nats: bool) -> tuple[Queue, BrokerAdapter]:
    tag = uuid.uuid4().hex[:8]
    channels, subject = _channels(tag, nats=nats)
    adapter = make_adapter(url, channels, clock=now)
    await adapter.declare()  # type: ignore[attr-defined]  # every concrete adapter declares its channels
    for i in range(0, len(bodies), PUBLISH_CHUNK):
        await adapter.publish(bodies[i : i + PUBLISH_CHUNK], subject)
    return Queue(tag, channels, subject, _settings(tag)), adapter


async def wait(consumed: Consumed, timeout: float, what: str) -> Consumed:  # noqa: ASYNC109 - a deadline, not a scope
    try:
        await asyncio.wait_for(consumed.done.wait(), timeout)
    except TimeoutError:
        raise TimeoutError(f"{what}: {consumed.count} of {consumed.expected} after {timeout:.0f}s") from None
    return consumed


def deadline(expected: int) -> float:
    return 60 + expected / 1_000


class NatsBench:
    has_faststream = True
    name = "nats"

    def __init__(self, url: str) -> None:
        self.url = url

    async def fill(self, bodies: Sequence[bytes]) -> Queue:
        queue, adapter = await _fill(self.url, bodies, nats=True)
        await adapter.close()
        return queue

    async def raw(self, queue: Queue, expected: int) -> Consumed:
        """nats-py pull consumer, AckPolicy.ALL: one fetch of up to 1,000, validate, ack the last message."""
        import nats
        from nats.js.api import AckPolicy, ConsumerConfig

        nc = await nats.connect(self.url)
        js = nc.jetstream()
        durable = f"raw{queue.tag}"
        config = ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.ALL, max_ack_pending=-1)
        await js.add_consumer(queue.channels.stream, config)
        sub = await js.pull_subscribe_bind(durable, queue.channels.stream)
        consumed = Consumed(expected)
        end = time.monotonic() + deadline(expected)
        try:
            while consumed.count < expected and time.monotonic() < end:
                with contextlib.suppress(TimeoutError):
                    msgs = await sub.fetch(RAW_BATCH, timeout=1)
                    consumed.validate([m.data for m in msgs])
                    await msgs[-1].ack()
            await nc.flush()
            consumed.settled()
        finally:
            await nc.close()
        return await wait(consumed, 0.1, "raw nats-py")

    async def faststream(self, queue: Queue, expected: int) -> Consumed:
        """`@broker.subscriber(..., pull_sub=PullSub(batch=True))` with the default decoder and ack policy."""
        from faststream.nats import JStream, NatsBroker, PullSub
        from faststream.nats.annotations import NatsMessage

        consumed = Consumed(expected)
        broker = NatsBroker(self.url, logger=None, graceful_timeout=None)

        async def handle(body: Any, message: NatsMessage) -> None:
            consumed.validate([m.data for m in message.raw_message])  # type: ignore[attr-defined]

        broker.subscriber(
            queue.channels.subject,
            stream=JStream(queue.channels.stream, declare=False),
            durable=f"fs{queue.tag}",
            pull_sub=PullSub(batch_size=RAW_BATCH, timeout=0.5, batch=True),
        )(handle)
        return await _run_faststream(broker, consumed, "faststream nats")

    async def remove(self, queue: Queue) -> None:
        import nats

        nc = await nats.connect(self.url)
        js = nc.jetstream()
        for stream in (queue.channels.stream, f"{queue.channels.stream}_DLQ"):
            with contextlib.suppress(Exception):  # cleanup: already gone is fine
                await js.delete_stream(stream)
        await nc.close()


async def _run_faststream(broker: Any, consumed: Consumed, what: str) -> Consumed:
    """Start `broker`; `consumed` counts in the handler, settled after FastStream's ack (next batch or stop)."""
    watcher = asyncio.create_task(_settle_when_counted(consumed))
    await broker.start()
    try:
        return await wait(consumed, deadline(consumed.expected), what)
    finally:
        watcher.cancel()
        await broker.stop()


async def _settle_when_counted(consumed: Consumed) -> None:
    await consumed.counted.wait()
    await asyncio.sleep(0)  # let the handler's caller run its ack of the last batch
    consumed.settled()


class RedisBench:
    has_faststream = True
    name = "redis"

    def __init__(self, url: str) -> None:
        self.url = url

    async def fill(self, bodies: Sequence[bytes]) -> Queue:
        queue, adapter = await _fill(self.url, bodies, nats=False)
        await adapter.close()
        return queue

    async def _group(self, queue: Queue, group: str) -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(self.url)
        await client.xgroup_create(queue.channels.subject, group, id="0", mkstream=True)
        await client.aclose()

    async def raw(self, queue: Queue, expected: int) -> Consumed:
        """redis-py (hiredis): XREADGROUP COUNT 1000, validate, one XACK per batch."""
        from redis.asyncio import Redis

        from services.ingest.brokers.redis import body_of

        stream, group = queue.channels.subject, f"raw{queue.tag}"
        await self._group(queue, group)
        client = Redis.from_url(self.url)
        consumed = Consumed(expected)
        end = time.monotonic() + deadline(expected)
        try:
            while consumed.count < expected and time.monotonic() < end:
                reply: Any = await client.xreadgroup(group, "raw", {stream: ">"}, count=RAW_BATCH, block=1_000)
                if not reply:
                    continue
                entries: list[tuple[bytes, dict[bytes, bytes]]] = reply[0][1]
                consumed.validate([body_of(fields) for _, fields in entries])
                await client.xack(stream, group, *[entry_id for entry_id, _ in entries])
            consumed.settled()
        finally:
            await client.aclose()
        return await wait(consumed, 0.1, "raw redis")

    async def faststream(self, queue: Queue, expected: int) -> Consumed:
        """`@broker.subscriber(stream=StreamSub(..., batch=True))` with the default parser and ack policy."""
        from faststream.redis import RedisBroker, StreamSub
        from faststream.redis.annotations import RedisBatchStreamMessage

        from services.ingest.brokers.redis import body_of

        group = f"fs{queue.tag}"
        await self._group(queue, group)
        consumed = Consumed(expected)
        broker = RedisBroker(self.url, logger=None, graceful_timeout=None)  # type: ignore[arg-type]

        async def handle(body: Any, message: RedisBatchStreamMessage) -> None:
            consumed.validate([body_of(fields) for fields in message.raw_message["data"]])

        stream = StreamSub(queue.channels.subject, group=group, consumer="fs", batch=True, max_records=RAW_BATCH)
        broker.subscriber(stream=stream)(handle)
        return await _run_faststream(broker, consumed, "faststream redis")

    async def remove(self, queue: Queue) -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(self.url)
        await client.delete(queue.channels.subject, queue.channels.dead_letter)
        await client.aclose()


class RabbitBench:
    has_faststream = False  # FastStream has no batch subscriber for RabbitMQ; its target is against raw only
    name = "rabbit"

    def __init__(self, url: str) -> None:
        self.url = url

    async def fill(self, bodies: Sequence[bytes]) -> Queue:
        queue, adapter = await _fill(self.url, bodies, nats=False)
        await adapter.close()
        return queue

    async def raw(self, queue: Queue, expected: int) -> Consumed:
        """aio-pika: prefetch 2,000, validate what has arrived (up to 1,000), ack it with multiple=True."""
        import aio_pika
        from aio_pika.abc import AbstractIncomingMessage

        connection = await aio_pika.connect(self.url)
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=2 * RAW_BATCH)
        source = await channel.get_queue(queue.channels.subject, ensure=False)
        arrived: list[AbstractIncomingMessage] = []
        ready = asyncio.Event()

        async def on_message(message: AbstractIncomingMessage) -> None:
            arrived.append(message)
            if len(arrived) >= RAW_BATCH:
                ready.set()

        consumed = Consumed(expected)
        end = time.monotonic() + deadline(expected)
        await source.consume(on_message)
        try:
            while consumed.count < expected and time.monotonic() < end:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ready.wait(), 0.02)
                ready.clear()
                batch = arrived[:RAW_BATCH]
                del arrived[: len(batch)]
                if batch:
                    consumed.validate([m.body for m in batch])
                    await batch[-1].ack(multiple=True)
            consumed.settled()
        finally:
            await connection.close()
        return await wait(consumed, 0.1, "raw aio-pika")

    async def faststream(self, queue: Queue, expected: int) -> None:
        return None

    async def remove(self, queue: Queue) -> None:
        import aio_pika

        connection = await aio_pika.connect(self.url)
        channel = await connection.channel()
        for name in (queue.channels.subject, queue.channels.dead_letter):
            await channel.queue_delete(name)
        await channel.exchange_delete(f"{queue.channels.dead_letter}.dlx")
        await connection.close()


class KafkaBench:
    has_faststream = True
    name = "kafka"

    def __init__(self, url: str) -> None:
        self.url = url
        self.bootstrap = url.removeprefix("kafka://")

    async def fill(self, bodies: Sequence[bytes]) -> Queue:
        queue, adapter = await _fill(self.url, bodies, nats=False)
        await adapter.close()
        return queue

    async def raw(self, queue: Queue, expected: int) -> Consumed:
        """aiokafka: getmany(max_records=1000), validate, commit once per batch."""
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(
            queue.channels.subject,
            bootstrap_servers=self.bootstrap,
            group_id=f"raw{queue.tag}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        consumed = Consumed(expected)
        end = time.monotonic() + deadline(expected)
        try:
            while consumed.count < expected and time.monotonic() < end:
                batch = await consumer.getmany(timeout_ms=1_000, max_records=RAW_BATCH)
                records = [r for rs in batch.values() for r in rs]
                if records:
                    consumed.validate([r.value or b"" for r in records])
                    await consumer.commit()
            consumed.settled()
        finally:
            await consumer.stop()
        return await wait(consumed, 0.1, "raw aiokafka")

    async def faststream(self, queue: Queue, expected: int) -> Consumed:
        """`@broker.subscriber(topic, batch=True)` with the default decoder and ack policy."""
        from faststream.kafka import KafkaBroker
        from faststream.kafka.annotations import KafkaMessage

        consumed = Consumed(expected)
        broker = KafkaBroker(self.bootstrap, logger=None, graceful_timeout=None)

        async def handle(body: Any, message: KafkaMessage) -> None:
            consumed.validate([r.value or b"" for r in message.raw_message])

        broker.subscriber(
            queue.channels.subject,
            group_id=f"fs{queue.tag}",
            batch=True,
            max_records=RAW_BATCH,
            auto_offset_reset="earliest",
        )(handle)
        return await _run_faststream(broker, consumed, "faststream kafka")

    async def remove(self, queue: Queue) -> None:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        with contextlib.suppress(Exception):  # cleanup: a broker without topic deletion keeps them
            await admin.delete_topics([queue.channels.subject, queue.channels.dead_letter])
        await admin.close()


Factory = Callable[[str], BrokerBench]
BENCHES: dict[str, Factory] = {"nats": NatsBench, "redis": RedisBench, "rabbit": RabbitBench, "kafka": KafkaBench}


async def reachable(bench: BrokerBench) -> str | None:
    """None when the broker answers, else why not."""
    channels, _ = _channels("probe", nats=bench.name == "nats")
    adapter = make_adapter(bench.url, channels, clock=now)
    try:
        ok = await asyncio.wait_for(adapter.ping(), 10)
    except Exception as exc:  # a yes/no probe: any failure means "not measured"
        return f"not measured: {bench.url} does not answer ({exc})"
    finally:
        with contextlib.suppress(Exception):
            await adapter.close()
    return None if ok else f"not measured: {bench.url} does not answer"
