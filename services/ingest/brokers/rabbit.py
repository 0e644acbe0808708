"""RabbitMQ: durable queue `channels.subject` (manual acks) dead-lettering into durable queue `channels.dead_letter`.

The main queue carries ``x-dead-letter-exchange`` → the durable direct exchange ``<dead_letter>.dlx``, bound to the
dead-letter queue with routing key `channels.dead_letter`, so messages the broker itself dead-letters (expiry,
``reject(requeue=False)``) land there too. Rejected events are published there by the adapter with the reject
headers and a per-message expiration of ``channels.dead_letter_days`` (queue arguments cannot change on an existing
queue; a message the broker dead-letters itself keeps no expiration). A dead letter over 16 MiB (RabbitMQ's default
max_message_size since 4.0) goes by reference. Prefetch is ``channels.in_flight`` (two batches; AMQP caps it at
65,535): with acks deferred until storage it bounds the messages in flight, and below a batch it would make every
batch wait for its timer.

FastStream owns the connection and documents the subscriber (AsyncAPI); the messages themselves arrive through
an aio-pika consumer on a channel of that connection and reach the sink in runs, not one handler call each
(FastStream has no batch subscriber for RabbitMQ). A settled batch is acknowledged with one ``multiple`` ack
when no earlier delivery of the channel is still outstanding, else message by message.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from aio_pika.exceptions import AMQPError, ChannelClosed
from faststream import AckPolicy
from faststream.rabbit import Channel, ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage

from ..deliveries import Delivery
from ..errors import BrokerUnavailable
from ..writer import RejectRecord
from .base import LARGEST_DEAD_LETTER, Channels, Sink, is_reference, letter, pass_through

_CHUNK: Final = 500
MAX_PREFETCH: Final = 65_535  # prefetch-count is a 16-bit field of basic.qos


class RabbitAdapter:
    """Queue `channels.subject`; dead letters via exchange `<dead_letter>.dlx` into queue `channels.dead_letter`."""

    name = "rabbit"

    def __init__(self, url: str, channels: Channels, *, clock: Callable[[], datetime]) -> None:
        self._url = url
        self._ch = channels
        self._prefetch = min(MAX_PREFETCH, max(channels.fetch_size, channels.in_flight))
        self._clock = clock
        self.broker = RabbitBroker(url, logger=None, graceful_timeout=None)
        self.dlx = RabbitExchange(f"{channels.dead_letter}.dlx", type=ExchangeType.DIRECT, durable=True)
        self.queue = RabbitQueue(
            channels.subject,
            durable=True,
            arguments={"x-dead-letter-exchange": self.dlx.name, "x-dead-letter-routing-key": channels.dead_letter},
        )
        self.dlq = RabbitQueue(channels.dead_letter, durable=True, routing_key=channels.dead_letter)
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._subscriber: Any = None
        self._declared = False
        self._sink: Sink | None = None
        self._consuming: tuple[AbstractQueue, str] | None = None
        self._arrived: list[Delivery] = []
        self._wake = asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        self._outstanding: dict[int, object] = {}  # delivery tag → its channel, received and not yet settled

    def subscribe(self, sink: Sink) -> None:
        self._sink = sink

        async def handle(_: Any, message: RabbitMessage) -> None:  # documents the channel; `start` consumes it
            self._received(message.raw_message)

        self._subscriber = subscriber = self.broker.subscriber(
            self.queue,
            channel=Channel(prefetch_count=self._prefetch),
            ack_policy=AckPolicy.MANUAL,
            decoder=pass_through,
            title="workforce events",
            description="HR events of the union social-work program (staffing, turnover, training, pay, org)",
        )
        subscriber(handle)

    def _received(self, raw: AbstractIncomingMessage) -> None:
        if raw.delivery_tag is not None:
            self._outstanding[raw.delivery_tag] = raw.channel
        self._arrived.append(Delivery(raw.body, raw, self._ch.subject, self._clock(), raw.message_id or ""))
        self._wake.set()

    async def _on_message(self, raw: AbstractIncomingMessage) -> None:
        self._received(raw)

    async def _drain(self) -> None:
        """Hand what has arrived to the sink, a run at a time (the sink applies back-pressure)."""
        assert self._sink is not None, "subscribe() comes before start()"
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._arrived:
                run, self._arrived = self._arrived, []
                await self._sink(run)

    async def _admin(self) -> AbstractChannel:
        if self._connection is None or self._connection.is_closed:
            self._connection = await aio_pika.connect_robust(self._url, client_properties={"connection_name": "ingest"})
        if self._channel is None or self._channel.is_closed:
            self._channel = await self._connection.channel(publisher_confirms=True)
        return self._channel

    async def _declared_channel(self) -> AbstractChannel:
        """The admin channel, after declaring: publishing to a queue not yet declared would drop the messages."""
        if not self._declared:
            await self.declare()
        return await self._admin()

    async def declare(self) -> None:
        channel = await self._admin()
        dlx = await channel.declare_exchange(self.dlx.name, aio_pika.ExchangeType.DIRECT, durable=True)
        dlq = await channel.declare_queue(self.dlq.name, durable=True)
        await dlq.bind(dlx, routing_key=self._ch.dead_letter)
        await channel.declare_queue(self.queue.name, durable=True, arguments=self.queue.arguments)
        self._declared = True

    async def start(self) -> None:
        await self.declare()
        connection: AbstractRobustConnection = await self.broker.connect()
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=self._prefetch)
        queue = await channel.get_queue(self.queue.name, ensure=False)
        self._drainer = asyncio.create_task(self._drain(), name="rabbit-drain")
        self._consuming = (queue, await queue.consume(self._on_message))

    async def stop_consuming(self) -> None:
        """Cancel the consumer, then hand over what had already arrived (it is stored and acked, not dropped)."""
        if self._consuming is not None:
            queue, tag = self._consuming
            self._consuming = None
            with contextlib.suppress(Exception):  # a closed channel has no consumer left to cancel
                await queue.cancel(tag)
        if self._drainer is not None:
            self._drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drainer
            self._drainer = None
        if self._arrived and self._sink is not None:
            run, self._arrived = self._arrived, []
            await self._sink(run)

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        messages: list[AbstractIncomingMessage] = [d.handle for d in deliveries]  # type: ignore[misc]
        for message in messages:
            self._outstanding.pop(message.delivery_tag or -1, None)
        last = max(messages, key=lambda m: m.delivery_tag or 0, default=None)
        if last is None:
            return
        top = last.delivery_tag or 0
        same_channel = all(m.channel is last.channel for m in messages)
        earlier = any(tag < top and ch is last.channel for tag, ch in self._outstanding.items())
        if same_channel and not earlier:
            await last.ack(multiple=True)  # every earlier delivery of this channel is settled: one frame
            return
        for message in messages:
            await message.ack()

    async def nack(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            message: AbstractIncomingMessage = delivery.handle  # type: ignore[assignment]
            self._outstanding.pop(message.delivery_tag or -1, None)
            await message.nack(requeue=True)

    async def _publish(
        self, exchange: AbstractExchange, routing_key: str, messages: Sequence[aio_pika.Message]
    ) -> None:
        for i in range(0, len(messages), _CHUNK):
            await asyncio.gather(*(exchange.publish(m, routing_key) for m in messages[i : i + _CHUNK]))

    async def dead_letter_limit(self) -> int:
        return LARGEST_DEAD_LETTER

    async def dead_letter(self, records: Sequence[RejectRecord]) -> list[RejectRecord]:
        expiration = timedelta(days=self._ch.dead_letter_days)
        messages = []
        for record in records:
            body, headers = letter(record)
            persistent = aio_pika.DeliveryMode.PERSISTENT
            messages.append(
                aio_pika.Message(body, headers=dict(headers), delivery_mode=persistent, expiration=expiration)
            )
        try:
            channel = await self._declared_channel()
            exchange = await channel.get_exchange(self.dlx.name, ensure=False)
            await self._publish(exchange, self._ch.dead_letter, messages)
        except (AMQPError, OSError, TimeoutError) as exc:
            raise BrokerUnavailable(f"RabbitMQ refused a dead letter: {exc!r}") from exc
        return []

    async def pending(self) -> int | None:
        channel = await self._admin()
        # aio-pika's robust channel hands back its cached queue (with a stale count): ask the underlying channel
        raw = await channel.get_underlay_channel()
        try:
            declared = await raw.queue_declare(self.queue.name, passive=True)
        except ChannelClosed:  # the queue does not exist (a failed passive declare closes the channel)
            return None
        return None if declared.message_count is None else int(declared.message_count)

    async def ping(self) -> bool:
        try:
            await asyncio.wait_for(self._admin(), 2)
        except Exception:  # a yes/no health answer: any failure is a no
            return False
        return self._connection is not None and not self._connection.is_closed

    async def publish(self, bodies: Sequence[bytes], subject: str | None = None) -> None:
        channel = await self._declared_channel()
        persistent = aio_pika.DeliveryMode.PERSISTENT
        messages = [aio_pika.Message(body, delivery_mode=persistent, message_id=str(uuid.uuid4())) for body in bodies]
        await self._publish(channel.default_exchange, subject or self._ch.subject, messages)

    async def replay_dead_letters(self, limit: int | None = None) -> int:
        channel = await self._declared_channel()
        queue = await channel.declare_queue(self.dlq.name, durable=True)
        # what the queue held when the replay began (the robust channel's cached queue has a stale count)
        declared = await (await channel.get_underlay_channel()).queue_declare(self.dlq.name, passive=True)
        waiting = int(declared.message_count or 0)
        moved = 0
        references: list[AbstractIncomingMessage] = []  # held unacknowledged, so `get` moves past them
        for _ in range(waiting):
            if limit is not None and moved >= limit:
                break
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            if is_reference(message.headers):
                references.append(message)
                continue
            original = str((message.headers or {}).get("x-original-subject") or self._ch.subject)
            out = aio_pika.Message(message.body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
            await channel.default_exchange.publish(out, original)
            await message.ack()
            moved += 1
        for message in references:  # a reference has no original to re-submit: it goes back to the queue
            await message.nack(requeue=True)
        return moved

    async def close(self) -> None:
        await self.stop_consuming()
        await self.broker.stop()
        if self._connection is not None and not self._connection.is_closed:
            await self._connection.close()
        self._connection = self._channel = None
