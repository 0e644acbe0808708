"""Kafka: topic `channels.subject` read by group `channels.consumer`; dead letters go to topic `channels.dead_letter`.

Offsets are committed explicitly and only over settled messages. FastStream's `KafkaAckableMessage.ack()` calls
`consumer.commit()` without arguments, which commits the consumer's position — past messages fetched but not yet
stored — so it is never used. Instead every received offset is outstanding until acked, and a partition's commit
is its lowest outstanding offset (or one past the highest received when none is outstanding): only a contiguous
settled prefix is ever committed. A nacked message stays outstanding, so nothing at or after it is committed
and it is delivered again after a restart or rebalance.

Dead letters: topic `channels.dead_letter`, created with ``retention.ms`` = `channels.dead_letter_days` (an existing
topic keeps its own: change it with ``kafka-configs --alter --add-config retention.ms=...``). A dead letter over
1 MiB less 1 kB (the producer's max_request_size and the broker's default message.max.bytes, less record
overhead) goes by reference, and so does one the broker refuses as too large.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
    TopicAlreadyExistsError,
)
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from ..deliveries import Delivery
from ..errors import BrokerUnavailable
from ..writer import RejectRecord
from .base import Channels, Sink, is_reference, letter, pass_through

log = logging.getLogger("workforce.ingest.kafka")
_REPLAY_WAIT_MS: Final = 1_000
_LARGEST_RECORD: Final = 1_048_576 - 1_024
_TOO_LARGE: Final = (MessageSizeTooLargeError, RecordTooLargeError)


class Offsets:
    """Per partition: offsets received and not yet settled, the next offset after the highest received, and what
    was last committed. `commit_points` gives the offsets that may be committed now."""

    def __init__(self) -> None:
        self.outstanding: defaultdict[TopicPartition, set[int]] = defaultdict(set)
        self.next: dict[TopicPartition, int] = {}
        self.committed: dict[TopicPartition, int] = {}

    def received(self, tp: TopicPartition, offset: int) -> None:
        self.outstanding[tp].add(offset)
        self.next[tp] = max(self.next.get(tp, 0), offset + 1)

    def settle(self, tp: TopicPartition, offset: int) -> None:
        self.outstanding[tp].discard(offset)

    def commit_points(self, partitions: set[TopicPartition]) -> dict[TopicPartition, int]:
        points: dict[TopicPartition, int] = {}
        for tp in partitions:
            waiting = self.outstanding.get(tp)
            point = min(waiting) if waiting else self.next[tp]
            if point > self.committed.get(tp, -1):
                points[tp] = point
        return points


async def partitions(client: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions; the metadata is fetched first when the client has none for it yet."""
    parts = client.partitions_for_topic(topic)
    if parts is None:
        await client.topics()
        parts = client.partitions_for_topic(topic)
    return [TopicPartition(topic, p) for p in sorted(parts or ())]


async def _behind(reader: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    return any([await reader.position(tp) < end for tp, end in ends.items()])


class KafkaAdapter:
    """Topic `channels.subject`, group `channels.consumer`, dead-letter topic `channels.dead_letter`."""

    name = "kafka"

    def __init__(self, url: str, channels: Channels, *, clock: Callable[[], datetime], partitions: int = 1) -> None:
        self._bootstrap = urlsplit(url).netloc or url
        self._ch = channels
        self._clock = clock
        self._partitions = partitions
        self.broker = KafkaBroker(self._bootstrap, logger=None, graceful_timeout=None)
        self.offsets = Offsets()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._probe: AIOKafkaConsumer | None = None
        self._subscriber: Any = None
        self._stopping = False
        self._declared = False

    def subscribe(self, sink: Sink) -> None:
        clock = self._clock

        async def handle(_: Any, message: KafkaMessage) -> None:
            records: tuple[Any, ...] = message.raw_message
            self._consumer = message.consumer
            for r in records:
                self.offsets.received(TopicPartition(r.topic, r.partition), r.offset)
            if self._stopping:  # left outstanding: never committed, delivered again after restart
                return
            now = clock()
            await sink(
                [Delivery(r.value or b"", r, r.topic, now, f"{r.topic}:{r.partition}:{r.offset}") for r in records]
            )

        self._subscriber = subscriber = self.broker.subscriber(
            self._ch.subject,
            group_id=self._ch.consumer,
            batch=True,
            max_records=self._ch.fetch_size,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            decoder=pass_through,
            title="workforce events",
            description="HR events of the union social-work program (staffing, turnover, training, pay, org)",
        )
        subscriber(handle)  # the decorator returns the handler wrapper; keep the subscriber to stop it

    async def declare(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await admin.start()
        retention = {"retention.ms": str(self._ch.dead_letter_days * 86_400_000)}
        try:
            for topic, configs in ((self._ch.subject, None), (self._ch.dead_letter, retention)):
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics([NewTopic(topic, self._partitions, 1, topic_configs=configs)])
        finally:
            await admin.close()
        self._declared = True

    async def _producer_started(self) -> AIOKafkaProducer:
        """The producer, after declaring: a topic auto-created by a first send would get the broker's defaults."""
        if not self._declared:
            await self.declare()
        if self._producer is None:
            self._producer = AIOKafkaProducer(bootstrap_servers=self._bootstrap, acks="all")
            await self._producer.start()
        return self._producer

    async def start(self) -> None:
        await self.declare()
        await self.broker.start()

    async def stop_consuming(self) -> None:
        """Pause instead of stopping the consumer: handed-over deliveries must still be committable."""
        self._stopping = True
        if self._consumer is not None:
            self._consumer.pause(*self._consumer.assignment())

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        touched: set[TopicPartition] = set()
        for delivery in deliveries:
            record: Any = delivery.handle  # an aiokafka ConsumerRecord
            tp = TopicPartition(record.topic, record.partition)
            self.offsets.settle(tp, record.offset)
            touched.add(tp)
        await self._commit(touched)

    async def _commit(self, touched: set[TopicPartition]) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        points = self.offsets.commit_points(touched & consumer.assignment())
        if not points:
            return
        try:
            await consumer.commit(points)
        except (CommitFailedError, IllegalStateError) as exc:  # rebalanced away: the new owner redelivers
            log.warning(
                "offset commit refused after a rebalance, messages will be redelivered: %s",
                exc,
                extra={"event": "commit_refused", "reason": str(exc)},
            )
            return
        self.offsets.committed.update(points)

    async def nack(self, deliveries: Sequence[Delivery]) -> None:
        """Nothing to send: the offsets stay outstanding, so no commit passes them."""

    async def dead_letter_limit(self) -> int:
        return _LARGEST_RECORD

    async def dead_letter(self, records: Sequence[RejectRecord]) -> list[RejectRecord]:
        too_large: list[RejectRecord] = []
        try:
            producer = await self._producer_started()
            sent: list[tuple[RejectRecord, asyncio.Future[Any]]] = []
            for record in records:
                body, headers = letter(record)
                try:
                    future = await producer.send(
                        self._ch.dead_letter, body, headers=[(k, v.encode()) for k, v in headers.items()]
                    )
                except _TOO_LARGE:
                    too_large.append(record)
                    continue
                sent.append((record, future))
            results = await asyncio.gather(*(future for _, future in sent), return_exceptions=True)
        except (KafkaError, OSError) as exc:
            raise BrokerUnavailable(f"Kafka refused a dead letter: {exc!r}") from exc
        for (record, _), result in zip(sent, results, strict=True):
            if isinstance(result, _TOO_LARGE):
                too_large.append(record)
            elif isinstance(result, BaseException):
                raise BrokerUnavailable(f"Kafka refused a dead letter: {result!r}") from result
        return too_large

    async def _probe_started(self) -> AIOKafkaConsumer:
        if self._probe is None:
            self._probe = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap, group_id=self._ch.consumer, enable_auto_commit=False
            )
            await self._probe.start()
        return self._probe

    async def pending(self) -> int | None:
        try:
            probe = await self._probe_started()
            tps = await partitions(probe, self._ch.subject)
            if not tps:
                return None
            ends = await probe.end_offsets(tps)
            if self._consumer is not None:  # the fetch high-water mark, where known, also covers brokers
                for tp in self._consumer.assignment():  # whose ListOffsets lags (Tansu after batched produce)
                    ends[tp] = max(ends.get(tp, 0), self._consumer.highwater(tp) or 0)
            starts = await probe.beginning_offsets(tps)
            lag = 0
            for tp in tps:
                committed = await probe.committed(tp)
                lag += ends[tp] - (starts[tp] if committed is None else committed)
        except KafkaError as exc:
            log.warning("lag unknown: %s", exc, extra={"event": "lag_unknown", "reason": str(exc)})
            return None
        return lag

    async def ping(self) -> bool:
        try:
            probe = await asyncio.wait_for(self._probe_started(), 5)
            await asyncio.wait_for(probe.topics(), 2)
        except Exception:  # a yes/no health answer: any failure is a no
            return False
        return True

    async def publish(self, bodies: Sequence[bytes], subject: str | None = None) -> None:
        producer = await self._producer_started()
        target = subject or self._ch.subject
        sent = [await producer.send(target, body) for body in bodies]
        await asyncio.gather(*sent)

    async def replay_dead_letters(self, limit: int | None = None) -> int:
        """Read the dead-letter topic from group `<consumer>_replay`'s position to its current end."""
        producer = await self._producer_started()
        reader = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=f"{self._ch.consumer}_replay",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await reader.start()
        moved = 0
        try:
            tps = await partitions(reader, self._ch.dead_letter)
            reader.assign(tps)
            ends = await reader.end_offsets(tps)
            while (limit is None or moved < limit) and await _behind(reader, ends):
                batch = await reader.getmany(*tps, timeout_ms=_REPLAY_WAIT_MS, max_records=limit and limit - moved)
                done: dict[TopicPartition, int] = {}
                for tp, records in batch.items():
                    for r in records:
                        headers = dict(r.headers)
                        if not is_reference(headers):  # a reference has no original to re-submit: passed over
                            original = headers.get("x-original-subject", b"").decode() or self._ch.subject
                            await (await producer.send(original, r.value))
                            moved += 1
                        done[tp] = r.offset + 1
                if done:
                    await reader.commit(done)
        finally:
            await reader.stop()
        return moved

    async def close(self) -> None:
        await self.broker.stop()
        for client in (self._producer, self._probe):
            if client is not None:
                await client.stop()
        self._producer = self._probe = None
        self._consumer = None
