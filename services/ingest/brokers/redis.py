"""Redis Streams: consumer group `channels.consumer` on stream `channels.subject`, dead letters on a second stream.

Message field: each stream entry carries the raw event bytes in the field ``__data__`` — the field FastStream's
stream publisher writes and its subscriber reads. An upstream producer writes plain
``XADD workforce.events * __data__ <event JSON bytes>``; an entry written by FastStream's own publisher (a binary
envelope with headers in ``__data__``) is unwrapped to its body. Entries without ``__data__`` fall back to a
``payload`` field, else reach the pipeline as the JSON of their fields, so they are rejected with their content.

Dead letters are entries of stream `channels.dead_letter` with the original bytes in ``payload`` plus the reject
headers (``x-reject-code``, ``x-reject-reason``, ...) as further fields. Each write trims the stream to entries of
the last `channels.dead_letter_days` (``XADD ... MINID``, exact: entry ids are their arrival time in milliseconds;
approximate trimming would keep a small stream's old entries until a whole node of them could go). A dead letter
over 16 MiB goes by reference.

Redelivery: FastStream reads only new entries (``>``) and never re-reads the pending-entries list, so on start the
adapter claims (XCLAIM) what this consumer name left pending in an earlier life, and while running it claims
entries other consumers of the group left pending for longer than `claim_idle` seconds, handing both to the sink.
A nack marks its entries idle for `claim_idle` already, so they are claimed on the next look, not a minute later.
The consumer name is ``<hostname>-<pid>``: one adapter per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, Final, cast

from faststream import AckPolicy
from faststream.redis import BinaryMessageFormatV1, RedisBroker, StreamSub
from faststream.redis.annotations import RedisBatchStreamMessage
from faststream.redis.message import FAKE_CONSUMER, BatchStreamMessage
from faststream.redis.message import RedisBatchStreamMessage as _BatchMessage
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from ..deliveries import Delivery
from ..errors import BrokerUnavailable
from ..writer import RejectRecord
from .base import LARGEST_DEAD_LETTER, Channels, Sink, is_reference, letter, pass_through

DATA_FIELD: Final = b"__data__"
PAYLOAD_FIELD: Final = b"payload"
_CHUNK: Final = 500
_MAGIC: Final = BinaryMessageFormatV1.IDENTITY_HEADER

log = logging.getLogger("workforce.ingest.redis")
Entry = tuple[bytes, dict[bytes, bytes]]


def body_of(fields: dict[bytes, bytes]) -> bytes:
    """The event bytes of one stream entry (see the module docstring for the fields read)."""
    data = fields.get(DATA_FIELD)
    if data is not None:
        return BinaryMessageFormatV1.parse(data)[0] if data.startswith(_MAGIC) else data
    payload = fields.get(PAYLOAD_FIELD)
    if payload is not None:
        return payload
    decoded = {k.decode(errors="replace"): v.decode(errors="replace") for k, v in fields.items()}
    return json.dumps(decoded).encode()


async def _raw_batch(message: BatchStreamMessage) -> _BatchMessage:
    """Skip FastStream's body parsing, which cannot take entries without its `__data__` field."""
    return _BatchMessage(raw_message=message, body=b"", consumer=FAKE_CONSUMER, group=None)


def _entry_id(entry: object) -> str:
    """The stream entry id: the same on every redelivery of one entry."""
    return entry.decode() if isinstance(entry, bytes) else str(entry)


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _chunks_by_stream(deliveries: Sequence[Delivery]) -> Iterator[tuple[str, list[bytes]]]:
    """The deliveries' entry ids per stream, in chunks of at most `_CHUNK` (one command each)."""
    by_stream: defaultdict[str, list[bytes]] = defaultdict(list)
    for delivery in deliveries:
        by_stream[delivery.subject].append(delivery.handle)  # type: ignore[arg-type]
    for stream, ids in by_stream.items():
        for i in range(0, len(ids), _CHUNK):
            yield stream, ids[i : i + _CHUNK]


class RedisAdapter:
    """Stream `channels.subject`, group `channels.consumer`, dead letters on stream `channels.dead_letter`."""

    name = "redis"

    def __init__(
        self,
        url: str,
        channels: Channels,
        *,
        clock: Callable[[], datetime],
        claim_idle: float = 60.0,
        consumer: str | None = None,
    ) -> None:
        self._url = url
        self._ch = channels
        self._clock = clock
        self._claim_idle_ms = int(claim_idle * 1000)
        self._me = consumer or consumer_name()
        # None silences FastStream's own logging as in the NATS adapter; the kwargs TypedDict omits Optional
        self.broker = RedisBroker(url, logger=None, graceful_timeout=None)  # type: ignore[arg-type]
        self._client: Redis | None = None
        self._subscriber: Any = None
        self._sink: Sink | None = None
        self._claimer: asyncio.Task[None] | None = None

    def subscribe(self, sink: Sink) -> None:
        clock = self._clock
        self._sink = sink

        async def handle(_: Any, message: RedisBatchStreamMessage) -> None:
            raw = message.raw_message
            now = clock()
            ids, data, stream = raw["message_ids"], raw["data"], raw["channel"]
            await sink([Delivery(body_of(f), i, stream, now, _entry_id(i)) for i, f in zip(ids, data, strict=True)])

        self._subscriber = subscriber = self.broker.subscriber(
            stream=StreamSub(
                self._ch.subject,
                group=self._ch.consumer,
                consumer=self._me,
                batch=True,
                max_records=self._ch.fetch_size,
            ),
            ack_policy=AckPolicy.MANUAL,
            parser=_raw_batch,
            decoder=pass_through,
            title="workforce events",
            description="HR events of the union social-work program (staffing, turnover, training, pay, org)",
        )
        subscriber(handle)  # the decorator returns the handler wrapper; keep the subscriber to stop it

    async def _redis(self) -> Redis:
        if self._client is None:
            self._client = Redis.from_url(self._url)
        return self._client

    async def declare(self) -> None:
        """Create the group at the stream's start (FastStream would create it at `$` and skip older entries)."""
        client = await self._redis()
        try:
            await client.xgroup_create(self._ch.subject, self._ch.consumer, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def start(self) -> None:
        await self.declare()
        leftover = await self._pending_ids(mine=True, min_idle_ms=0)
        await self.broker.start()
        if self._sink is not None:
            self._claimer = asyncio.create_task(self._recover(self._sink, leftover), name="redis-claim")

    async def _pending_ids(self, *, mine: bool, min_idle_ms: int) -> list[bytes]:
        """Ids pending in the group: this consumer's (`mine`) or other consumers' idle for `min_idle_ms`."""
        client = await self._redis()
        ids: list[bytes] = []
        start: bytes | str = "-"
        while True:
            page: list[dict[str, Any]] = await client.xpending_range(
                self._ch.subject,
                self._ch.consumer,
                min=start,
                max="+",
                count=_CHUNK,
                consumername=self._me if mine else None,
                idle=min_idle_ms or None,
            )
            ids += [e["message_id"] for e in page if mine or e["consumer"].decode() != self._me]
            if len(page) < _CHUNK:
                return ids
            start = b"(" + page[-1]["message_id"]

    async def _claim(self, sink: Sink, ids: list[bytes], min_idle_ms: int) -> None:
        client = await self._redis()
        for i in range(0, len(ids), self._ch.fetch_size):
            chunk = ids[i : i + self._ch.fetch_size]
            entries = cast(
                list[Entry],
                await client.xclaim(
                    self._ch.subject, self._ch.consumer, self._me, min_idle_time=min_idle_ms, message_ids=[*chunk]
                ),
            )
            now = self._clock()
            found = [Delivery(body_of(f), i, self._ch.subject, now, _entry_id(i)) for i, f in entries if f is not None]
            if found:
                log.info(
                    "redelivering %d pending entries of %s",
                    len(found),
                    self._ch.subject,
                    extra={"event": "redelivering", "count": len(found), "subject": self._ch.subject},
                )
                await sink(found)

    async def _recover(self, sink: Sink, leftover: list[bytes]) -> None:
        """Hand over what an earlier life left pending, then keep claiming what dead consumers leave."""
        await self._claim(sink, leftover, 0)
        while True:
            try:
                idle = self._claim_idle_ms
                await self._claim(sink, await self._pending_ids(mine=False, min_idle_ms=idle), idle)
            except RedisError as exc:
                log.warning(
                    "claiming pending entries failed, retrying: %s",
                    exc,
                    extra={"event": "claim_failed", "reason": str(exc)},
                )
            await asyncio.sleep(max(self._claim_idle_ms / 2000, 0.1))

    async def stop_consuming(self) -> None:
        if self._claimer is not None:
            self._claimer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._claimer
            self._claimer = None
        if self._subscriber is not None:
            await self._subscriber.stop()

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        client = await self._redis()
        for stream, ids in _chunks_by_stream(deliveries):
            await client.xack(stream, self._ch.consumer, *ids)

    async def nack(self, deliveries: Sequence[Delivery]) -> None:
        """Hand entries back at once: they stay pending (Redis has no nack), re-claimed by this consumer with
        their idle time set to `claim_idle`, so any other consumer of the group, or this host's next process
        (a new consumer name), claims them on its next look instead of `claim_idle` later."""
        client = await self._redis()
        for stream, ids in _chunks_by_stream(deliveries):
            await client.xclaim(
                stream,
                self._ch.consumer,
                self._me,
                min_idle_time=0,
                message_ids=[*ids],
                idle=self._claim_idle_ms,
                justid=True,
            )

    async def dead_letter_limit(self) -> int:
        return LARGEST_DEAD_LETTER

    async def dead_letter(self, records: Sequence[RejectRecord]) -> list[RejectRecord]:
        oldest = f"{int((time.time() - self._ch.dead_letter_days * 86_400) * 1000)}-0"
        try:
            client = await self._redis()
            async with client.pipeline(transaction=False) as pipe:
                for record in records:
                    body, headers = letter(record)
                    fields: dict[str | bytes, bytes | str] = {"payload": body}
                    fields.update(headers)
                    pipe.xadd(self._ch.dead_letter, fields, minid=oldest, approximate=False)  # type: ignore[arg-type]
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise BrokerUnavailable(f"Redis refused a dead letter: {exc!r}") from exc
        return []

    async def pending(self) -> int | None:
        client = await self._redis()
        try:
            groups: list[dict[str, Any]] = await client.xinfo_groups(self._ch.subject)
        except ResponseError:
            return None
        for group in groups:
            if group["name"].decode() == self._ch.consumer:
                lag = group.get("lag")
                return None if lag is None else int(group["pending"]) + int(lag)
        return None

    async def ping(self) -> bool:
        try:
            client = await self._redis()
            return bool(await asyncio.wait_for(client.ping(), 2))
        except Exception:  # a yes/no health answer: any failure is a no
            return False

    async def publish(self, bodies: Sequence[bytes], subject: str | None = None) -> None:
        client = await self._redis()
        target = subject or self._ch.subject
        for i in range(0, len(bodies), _CHUNK):
            async with client.pipeline(transaction=False) as pipe:
                for body in bodies[i : i + _CHUNK]:
                    pipe.xadd(target, {DATA_FIELD: body})
                await pipe.execute()

    async def replay_dead_letters(self, limit: int | None = None) -> int:
        """Originals the stream held when the replay began move (XADD to their subject, XDEL here); references stay,
        and the read goes on past them."""
        client = await self._redis()
        newest = cast(list[Entry], await client.xrevrange(self._ch.dead_letter, count=1))
        if not newest:
            return 0
        moved = 0
        after: bytes | str = "-"
        while limit is None or moved < limit:
            count = min(_CHUNK, limit - moved) if limit is not None else _CHUNK
            entries = cast(
                list[Entry], await client.xrange(self._ch.dead_letter, min=after, max=newest[0][0], count=count)
            )
            if not entries:
                break
            originals = [
                (i, f) for i, f in entries if not is_reference({k.decode(errors="replace"): v for k, v in f.items()})
            ]
            async with client.pipeline(transaction=True) as pipe:
                for entry_id, fields in originals:
                    target = fields.get(b"x-original-subject", b"").decode() or self._ch.subject
                    pipe.xadd(target, {DATA_FIELD: fields.get(PAYLOAD_FIELD, b"")})
                    pipe.xdel(self._ch.dead_letter, entry_id)
                await pipe.execute()
            moved += len(originals)
            after = b"(" + entries[-1][0]
        return moved

    async def close(self) -> None:
        await self.stop_consuming()
        await self.broker.stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
