"""In memory: a broker held by this process, behind the same interface as the real adapters (after arroyo's
`LocalBroker`). It runs through the contract suite the real ones run through (tests/broker_contract.py), so
tests of the consumer's ack / nack / flush logic can use it without a server.

`MemoryBroker` is the server: an append-only log per subject and, per (subject, consumer name), a group with a
read position, the messages handed out and not yet settled, and how often each was delivered. `MemoryAdapter`s
on one `MemoryBroker` are the processes: a second adapter with the same consumer name competes for the same
messages, and one started after another closed gets what that one left unsettled. As the real adapters do:

- a message is handed out once and stays unsettled until acked; `nack` puts it back at once, ahead of newer
  messages; `close` puts back everything the adapter still holds (a closed channel, a restarted process);
- `Delivery.message_id` is `<subject>:<sequence>`, the same on every redelivery; `delivery_count` is the
  number of deliveries so far (NATS `num_delivered`, Redis' times-delivered), 1 on the first;
- at most `channels.in_flight` messages are unsettled per adapter, handed to the sink `fetch_size` at a time,
  and the sink's back-pressure holds the next run back;
- a dead letter goes to subject `channels.dead_letter` with the reject headers, or is returned as too large
  when body plus headers (`letter_size`) exceed `MemoryBroker.max_letter` (16 MiB by default, as RabbitMQ and
  Redis); letters older than `channels.dead_letter_days` (by the adapter's clock) go when the next is written;
- `replay_dead_letters` moves the originals the dead-letter subject held when it began back to their
  `x-original-subject`; references stay;
- `MemoryBroker.available = False` is a broker that is away: publish, dead letters and their limit raise
  BrokerUnavailable and `ping` is False (acks still settle, as they do on the real brokers' open channels).

What does not hold in memory, by construction: nothing survives the process (no broker restart, no
durability); a consumer that dies without `close` is not redelivered after an ack timeout (NATS `ack_wait`,
Redis `claim_idle`), because in one process there is no such death, only `close`; subjects are exact names
(no NATS wildcards); settling is per message, never Kafka's committed prefix.

Not a `BROKER_URL` scheme: `make_adapter` does not build it, by decision. Every entry point that reads
BROKER_URL (the ingest service, the `ingest` CLI's publish and replay, the simulator of `devtools.demo`) runs in
a process of its own, and a broker in one process's memory is shared with none of the others: `memory://`
would give an ingest that reports healthy and never receives an event, and a replay that finds nothing.
Tests and in-process tools build `MemoryAdapter(MemoryBroker(), channels, clock=...)` directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..deliveries import Delivery
from ..errors import BrokerUnavailable
from ..writer import RejectRecord
from .base import LARGEST_DEAD_LETTER, Channels, Sink, is_reference, letter, letter_size

__all__ = ["Handle", "MemoryAdapter", "MemoryBroker", "Stored"]


@dataclass(frozen=True, slots=True)
class Stored:
    """One message of a subject's log."""

    body: bytes
    headers: dict[str, str]
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Handle:
    """A memory delivery's `handle`: which message, which delivery of it, and the adapter it went to."""

    subject: str
    seq: int
    attempt: int
    holder: object


@dataclass(slots=True)
class _Group:
    position: int = 0
    returned: list[int] = field(default_factory=list)  # a heap: nacked or left by a closed adapter
    held: dict[int, tuple[object, int]] = field(default_factory=dict)  # seq → (holder, attempt)
    deliveries: Counter[int] = field(default_factory=Counter)


class MemoryBroker:
    """The shared state of every adapter built on it; see the module docstring."""

    def __init__(self, *, max_letter: int = LARGEST_DEAD_LETTER) -> None:
        self.max_letter = max_letter
        self.available = True
        self._logs: dict[str, list[Stored | None]] = {}
        self._groups: dict[tuple[str, str], _Group] = {}
        self.listeners: set[asyncio.Event] = set()

    def append(
        self, subject: str, body: bytes, headers: dict[str, str] | None = None, at: datetime | None = None
    ) -> None:
        self._logs.setdefault(subject, []).append(Stored(body, headers or {}, at))
        self.changed()

    def read(self, subject: str) -> list[Stored]:
        """The messages the subject holds now, oldest first (a dead-letter subject is read this way)."""
        return [m for m in self._logs.get(subject, []) if m is not None]

    def changed(self) -> None:
        for listener in self.listeners:
            listener.set()

    def log(self, subject: str) -> list[Stored | None]:
        return self._logs.setdefault(subject, [])

    def group(self, subject: str, consumer: str, *, create: bool = False) -> _Group | None:
        key = (subject, consumer)
        if create and key not in self._groups:
            self._groups[key] = _Group()
        return self._groups.get(key)

    def remove(self, subject: str, seq: int) -> None:
        self.log(subject)[seq] = None

    def trim(self, subject: str, older_than: datetime) -> None:
        log = self.log(subject)
        for seq, message in enumerate(log):
            if message is not None and message.at is not None and message.at < older_than:
                log[seq] = None


class MemoryAdapter:
    """Consumes subject `channels.subject` as consumer `channels.consumer` of `broker`; dead letters go to subject
    `channels.dead_letter`."""

    name = "memory"

    def __init__(self, broker: MemoryBroker, channels: Channels, *, clock: Callable[[], datetime]) -> None:
        self.broker = broker
        self._ch = channels
        self._clock = clock
        self._sink: Sink | None = None
        self._pump: asyncio.Task[None] | None = None
        self._me = object()

    def subscribe(self, sink: Sink) -> None:
        self._sink = sink

    async def start(self) -> None:
        assert self._sink is not None, "subscribe() comes before start()"
        self.broker.group(self._ch.subject, self._ch.consumer, create=True)
        self._pump = asyncio.create_task(self._deliver(self._sink), name="memory-deliver")

    async def _deliver(self, sink: Sink) -> None:
        wake = asyncio.Event()
        self.broker.listeners.add(wake)
        try:
            while True:
                wake.clear()
                run = self._take()
                if not run:
                    await wake.wait()
                    continue
                try:
                    await sink(run)
                except asyncio.CancelledError:  # stopped while the sink held the run back: it was never taken
                    self._give_back(run)
                    raise
        finally:
            self.broker.listeners.discard(wake)

    def _group(self) -> _Group:
        group = self.broker.group(self._ch.subject, self._ch.consumer)
        assert group is not None, "start() declares the group"
        return group

    def _take(self) -> list[Delivery]:
        group = self._group()
        mine = sum(1 for holder, _ in group.held.values() if holder is self._me)
        room = min(self._ch.fetch_size, self._ch.in_flight - mine)
        log = self.broker.log(self._ch.subject)
        seqs: list[int] = []
        while len(seqs) < room and group.returned:
            seq = heapq.heappop(group.returned)
            if log[seq] is not None:
                seqs.append(seq)
        while len(seqs) < room and group.position < len(log):
            if log[group.position] is not None:
                seqs.append(group.position)
            group.position += 1
        now = self._clock()
        run = []
        for seq in seqs:
            group.deliveries[seq] += 1
            attempt = group.deliveries[seq]
            group.held[seq] = (self._me, attempt)
            message = log[seq]
            assert message is not None
            handle = Handle(self._ch.subject, seq, attempt, self._me)
            run.append(Delivery(message.body, handle, self._ch.subject, now, f"{self._ch.subject}:{seq}"))
        return run

    def _settle(self, deliveries: Sequence[Delivery]) -> list[int]:
        """Drop the deliveries this adapter holds (a stale one, delivered again since, is passed over)."""
        group = self._group()
        settled = []
        for delivery in deliveries:
            handle = delivery.handle
            assert isinstance(handle, Handle), "a delivery of another adapter"
            if group.held.get(handle.seq) == (self._me, handle.attempt):
                del group.held[handle.seq]
                settled.append(handle.seq)
        return settled

    def _give_back(self, deliveries: Sequence[Delivery]) -> None:
        group = self._group()
        for seq in self._settle(deliveries):
            heapq.heappush(group.returned, seq)
        self.broker.changed()

    def delivery_count(self, delivery: Delivery) -> int:
        """How many times the message has been delivered, this delivery included."""
        handle = delivery.handle
        assert isinstance(handle, Handle), "a delivery of another adapter"
        return handle.attempt

    async def stop_consuming(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        self._settle(deliveries)
        self.broker.changed()

    async def nack(self, deliveries: Sequence[Delivery]) -> None:
        self._give_back(deliveries)

    def _require(self) -> None:
        if not self.broker.available:
            raise BrokerUnavailable("memory broker: away (MemoryBroker.available is False)")

    async def dead_letter_limit(self) -> int:
        self._require()
        return self.broker.max_letter

    async def dead_letter(self, records: Sequence[RejectRecord]) -> list[RejectRecord]:
        self._require()
        now = self._clock()
        self.broker.trim(self._ch.dead_letter, now - timedelta(days=self._ch.dead_letter_days))
        too_large = []
        for record in records:
            body, headers = letter(record)
            if letter_size(body, headers) > self.broker.max_letter:
                too_large.append(record)
            else:
                self.broker.append(self._ch.dead_letter, body, headers, now)
        return too_large

    async def pending(self) -> int | None:
        group = self.broker.group(self._ch.subject, self._ch.consumer)
        if group is None:
            return None
        log = self.broker.log(self._ch.subject)
        unread = sum(1 for message in log[group.position :] if message is not None)
        returned = sum(1 for seq in set(group.returned) if log[seq] is not None)
        return unread + returned + len(group.held)

    async def ping(self) -> bool:
        return self.broker.available

    async def close(self) -> None:
        await self.stop_consuming()
        group = self.broker.group(self._ch.subject, self._ch.consumer)
        if group is None:
            return
        for seq in [seq for seq, (holder, _) in group.held.items() if holder is self._me]:
            del group.held[seq]
            heapq.heappush(group.returned, seq)
        self.broker.changed()

    async def publish(self, bodies: Sequence[bytes], subject: str | None = None) -> None:
        self._require()
        for body in bodies:
            self.broker.append(subject or self._ch.subject, body)

    async def replay_dead_letters(self, limit: int | None = None) -> int:
        self._require()
        log = self.broker.log(self._ch.dead_letter)
        moved = 0
        for seq in range(len(log)):  # what the subject held when the replay began
            message = log[seq]
            if limit is not None and moved >= limit:
                break
            if message is None or is_reference(message.headers):
                continue
            self.broker.append(message.headers.get("x-original-subject") or self._ch.subject, message.body)
            self.broker.remove(self._ch.dead_letter, seq)
            moved += 1
        return moved
