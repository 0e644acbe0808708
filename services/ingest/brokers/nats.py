"""NATS JetStream: a durable pull consumer (explicit acks), dead letters on a second stream.

FastStream owns the connection and documents the subscriber (AsyncAPI); the messages themselves are pulled
by `Puller`, which keeps several pull requests open (FastStream's batch subscriber fetches one at a time).

Dead letters: stream `<stream>_DLQ` over `channels.dead_letter`, with `max_age` = `channels.dead_letter_days`
(set on an existing stream too). A dead letter's body and headers together must fit the server's max_payload
(1 MiB by default): a bigger one would make the server close the connection, so it goes by reference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

import nats
import nats.errors
from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import APIError, NotFoundError

from ..deliveries import Delivery
from ..errors import BrokerUnavailable
from ..writer import RejectRecord
from .base import Channels, Sink, is_reference, letter, pass_through
from .nats_pull import Puller, PullSettings

_MESSAGE_TOO_LARGE: Final = 10054  # JetStream: "message size exceeds maximum allowed"


def stream_sequence(reply: str) -> str:
    """`stream:sequence` from a JetStream ack subject (`$JS.ACK.<stream>.<consumer>.<delivered>.<seq>…`,
    or with `<domain>.<account hash>` before the stream); "" for anything else."""
    tokens = reply.split(".")
    if len(tokens) == 9 and tokens[0] == "$JS":
        return f"{tokens[2]}:{tokens[5]}"
    if len(tokens) >= 11 and tokens[0] == "$JS":
        return f"{tokens[4]}:{tokens[7]}"
    return ""


class NatsAdapter:
    """JetStream stream `channels.stream` over `channels.subject`; durable consumer `channels.consumer`."""

    name = "nats"

    def __init__(self, url: str, channels: Channels, *, clock: Callable[[], datetime], ack_wait: float = 60.0) -> None:
        self._url = url
        self._ch = channels
        self._clock = clock
        self._ack_wait = ack_wait
        self.broker = NatsBroker(url, logger=None, graceful_timeout=None)
        self._stream = JStream(channels.stream, subjects=[channels.subject])
        self._dlq_stream = f"{channels.stream}_DLQ"
        self._dlq_max_age = channels.dead_letter_days * 86_400.0
        self._nc: Client | None = None
        self._sink: Sink | None = None
        self._puller: Puller | None = None

    def _consumer_config(self) -> ConsumerConfig:
        return ConsumerConfig(
            max_ack_pending=max(50_000, self._ch.fetch_size * 8),
            ack_wait=self._ack_wait,
            max_deliver=-1,
        )

    def subscribe(self, sink: Sink) -> None:
        self._sink = sink

        async def handle(_: Any, message: NatsMessage) -> None:  # documents the channel; `Puller` consumes it
            raw: list[Msg] = message.raw_message  # type: ignore[assignment]
            await self._deliver(raw)

        subscriber = self.broker.subscriber(
            self._ch.subject,
            stream=self._stream,
            durable=self._ch.consumer,
            pull_sub=PullSub(batch_size=self._ch.fetch_size, timeout=0.5, batch=True),
            ack_policy=AckPolicy.MANUAL,
            decoder=pass_through,
            config=self._consumer_config(),
            title="workforce events",
            description="HR events of the union social-work program (staffing, turnover, training, pay, org)",
        )
        subscriber(handle)

    async def _deliver(self, msgs: list[Msg]) -> None:
        assert self._sink is not None, "subscribe() comes before start()"
        now = self._clock()
        await self._sink([Delivery(m.data, m, m.subject, now, stream_sequence(m.reply)) for m in msgs])

    async def _client(self) -> Client:
        if self._nc is None or self._nc.is_closed:
            self._nc = await nats.connect(self._url, name="workforce-ingest-admin")
        return self._nc

    async def declare(self) -> None:
        js = (await self._client()).jetstream()
        try:
            await js.stream_info(self._ch.stream)
        except NotFoundError:
            await js.add_stream(StreamConfig(name=self._ch.stream, subjects=[self._ch.subject]))
        try:
            dlq = (await js.stream_info(self._dlq_stream)).config
        except NotFoundError:
            config = StreamConfig(name=self._dlq_stream, subjects=[self._ch.dead_letter], max_age=self._dlq_max_age)
            await js.add_stream(config)
            return
        if dlq.max_age != self._dlq_max_age:
            dlq.max_age = self._dlq_max_age
            await js.update_stream(dlq)

    async def _ensure_consumer(self, client: Client) -> None:
        js = client.jetstream()
        try:
            await js.consumer_info(self._ch.stream, self._ch.consumer)
        except NotFoundError:
            config = self._consumer_config()
            config.durable_name = self._ch.consumer
            config.filter_subject = self._ch.subject
            config.ack_policy = JsAckPolicy.EXPLICIT
            await js.add_consumer(self._ch.stream, config)

    async def start(self) -> None:
        await self.declare()
        client = await self.broker.connect()
        await self._ensure_consumer(client)
        settings = PullSettings(batch=self._ch.fetch_size)
        self._puller = Puller(client, self._ch.stream, self._ch.consumer, self._deliver, settings)
        await self._puller.start()

    async def stop_consuming(self) -> None:
        if self._puller is not None:
            await self._puller.stop()
            self._puller = None

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            msg: Msg = delivery.handle  # type: ignore[assignment]
            await msg.ack()
        if deliveries and self._nc is not None:
            await self._nc.flush()

    async def nack(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            msg: Msg = delivery.handle  # type: ignore[assignment]
            await msg.nak(delay=5)

    async def dead_letter_limit(self) -> int:
        try:
            return (await self._client()).max_payload
        except (nats.errors.Error, OSError) as exc:
            raise BrokerUnavailable(f"NATS: {exc!r}") from exc

    async def dead_letter(self, records: Sequence[RejectRecord]) -> list[RejectRecord]:
        subject = self._ch.dead_letter.rstrip(">").rstrip(".*") or self._ch.dead_letter
        too_large: list[RejectRecord] = []
        try:
            js = (await self._client()).jetstream()
            for record in records:
                body, headers = letter(record)
                try:
                    await js.publish(f"{subject}.{record.reject.code}", body, headers=headers)
                except nats.errors.MaxPayloadError:
                    too_large.append(record)
                except APIError as exc:
                    if exc.err_code != _MESSAGE_TOO_LARGE:  # the stream's own max_msg_size
                        raise
                    too_large.append(record)
        except (nats.errors.Error, OSError) as exc:
            raise BrokerUnavailable(f"NATS refused a dead letter: {exc!r}") from exc
        return too_large

    async def pending(self) -> int | None:
        js = (await self._client()).jetstream()
        try:
            info = await js.consumer_info(self._ch.stream, self._ch.consumer)
        except NotFoundError:
            return None
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def ping(self) -> bool:
        try:
            client = await self._client()
            await asyncio.wait_for(client.flush(), 2)
            return client.is_connected
        except Exception:  # a yes/no health answer: any failure is a no
            return False

    async def publish(self, bodies: Sequence[bytes], subject: str | None = None) -> None:
        js = (await self._client()).jetstream()
        target = subject or self._ch.subject.replace(">", "events").replace("*", "events")
        pending = [await js.publish_async(target, body) for body in bodies]
        await asyncio.gather(*pending)

    async def replay_dead_letters(self, limit: int | None = None) -> int:
        """Re-submit the originals the dead-letter stream held when the replay began (a letter refused again while
        it runs waits for the next replay); references are passed over."""
        js = (await self._client()).jetstream()
        last = (await js.stream_info(self._dlq_stream)).state.last_seq
        sub = await js.pull_subscribe(
            self._ch.dead_letter, durable=f"{self._ch.consumer}_replay", stream=self._dlq_stream
        )
        moved = 0
        try:
            while limit is None or moved < limit:
                try:
                    msgs = await sub.fetch(min(500, (limit or 500) - moved or 500), timeout=1)
                except TimeoutError:
                    break
                later = [m for m in msgs if m.metadata.sequence.stream > last]
                for msg in msgs:
                    if msg in later:
                        await msg.nak()
                        continue
                    if not is_reference(msg.headers):  # a reference has no original to re-submit: it stays put
                        default = self._ch.subject.replace(">", "events")
                        await js.publish((msg.headers or {}).get("x-original-subject") or default, msg.data)
                        moved += 1
                    await msg.ack()
                if later:
                    break
        finally:
            await sub.unsubscribe()
        return moved

    async def close(self) -> None:
        await self.broker.stop()
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.drain()
