"""The one interface every broker adapter implements; the consumer loop knows nothing else of brokers.

An adapter owns a FastStream broker: it declares what it needs (streams, queues, groups), registers one
subscriber that turns received messages into `Delivery`s and hands them to a sink, settles deliveries
(ack after storage, nack to redeliver), and publishes dead letters with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..deliveries import Delivery
from ..writer import RejectRecord

Sink = Callable[[list[Delivery]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Channels:
    """Names an adapter consumes from and dead-letters to; every field has a sane default in settings."""

    subject: str
    dead_letter: str
    stream: str
    consumer: str
    fetch_size: int
    in_flight: int = 20_000
    """Messages a consumer may hold unacknowledged: room for a full batch being stored and the next filling."""
    dead_letter_days: int = 90
    """How long the dead-letter destination keeps a letter (INGEST_REJECT_TTL_DAYS); each adapter says how."""


class BrokerAdapter(Protocol):
    """What ingest needs from a broker."""

    name: str

    def subscribe(self, sink: Sink) -> None:
        """Register the subscriber; messages flow to `sink` once `start` has run."""

    async def start(self) -> None:
        """Connect, declare, start consuming."""

    async def stop_consuming(self) -> None:
        """Stop taking new messages; already handed-over deliveries can still be settled."""

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Settle for good: the deliveries are stored (or dead-lettered)."""

    async def nack(self, deliveries: Sequence[Delivery]) -> None:
        """Give back for redelivery (shutdown with the store down, or reject limit reached)."""

    async def dead_letter(self, records: Sequence[RejectRecord]) -> None:
        """Publish each refused message's original bytes with its reason to the dead-letter destination."""

    async def pending(self) -> int | None:
        """Messages waiting for this consumer in the broker, if the broker can tell."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...

    async def publish(self, bodies: Sequence[bytes], subject: str | None = None) -> None:
        """Publish raw event bodies to the consumed subject (simulator, replay of dead letters)."""

    async def replay_dead_letters(self, limit: int | None = None) -> int:
        """Move dead-lettered messages back to the consumed subject; returns how many moved."""


def reject_headers(record: RejectRecord) -> dict[str, str]:
    """Headers that travel with a dead letter."""
    return {
        "x-reject-code": record.reject.code,
        "x-reject-reason": record.reject.reason[:1000],
        "x-reject-field": record.reject.field_path,
        "x-event-type": record.reject.event_type,
        "x-received-at": record.delivery.received_at.isoformat(),
        "x-original-subject": record.delivery.subject,
    }
