"""The one interface every broker adapter implements; the consumer loop knows nothing else of brokers.

An adapter owns a FastStream broker: it declares what it needs (streams, queues, groups), registers one
subscriber that turns received messages into `Delivery`s and hands them to a sink, settles deliveries
(ack after storage, nack to redeliver), and publishes dead letters with the reason.

A dead letter is the refused message's original bytes with the reject headers, unless those do not fit what the
broker takes (`dead_letter_limit`): then it is a reference, a small JSON body (`reference_body`) with the reason,
size, SHA-256 and skeleton of the message and the `reject_key` of its row in ClickHouse `ingest_rejects`, which
keeps its content with worker ids pseudonymised. The original bytes of such a message are kept nowhere.
`x-dead-letter` says which ("original" / "reference"); a replay re-submits originals and skips references.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from ..deliveries import Delivery
from ..rejects import skeleton
from ..writer import RejectRecord

LARGEST_DEAD_LETTER: Final = 16 * 1024 * 1024
"""RabbitMQ's default max_message_size since 4.0 (128 MiB before); also the cap on Redis, whose own limit (512 MB)
is far beyond what a stream should hold per entry."""
DEAD_LETTER_HEADER: Final = "x-dead-letter"
_HEADER_MAX: Final = 1_000
_CONTROL: Final = re.compile("[\x00-\x1f\x7f]")

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

    async def dead_letter_limit(self) -> int:
        """The largest dead letter, body plus headers (`letter_size`), the broker takes."""

    async def dead_letter(self, records: Sequence[RejectRecord]) -> list[RejectRecord]:
        """Publish each record's `letter` to the dead-letter destination. Returns the records the broker refused
        as too large; raises BrokerUnavailable when it took not all of the others (retry the call)."""

    async def pending(self) -> int | None:
        """Messages waiting for this consumer in the broker, if the broker can tell."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...

    async def publish(self, bodies: Sequence[bytes], subject: str | None = None) -> None:
        """Publish raw event bodies to the consumed subject (simulator, replay of dead letters)."""

    async def replay_dead_letters(self, limit: int | None = None) -> int:
        """Move dead-lettered originals back to the consumed subject (references stay); returns how many moved."""


def header_value(text: str) -> str:
    """A header value every broker takes: no control characters, at most 1,000 characters."""
    return _CONTROL.sub(" ", text[:_HEADER_MAX])


def reject_headers(record: RejectRecord) -> dict[str, str]:
    """Headers that travel with a dead letter."""
    return {
        "x-reject-code": record.reject.code,
        "x-reject-reason": header_value(record.reject.reason),
        "x-reject-field": header_value(record.reject.field_path),
        "x-event-type": header_value(record.reject.event_type),
        "x-received-at": record.delivery.received_at.isoformat(),
        "x-original-subject": header_value(record.delivery.subject),
        DEAD_LETTER_HEADER: "reference" if record.dead_letter == "reference" else "original",
    }


def reference_body(record: RejectRecord) -> bytes:
    """The body of a dead letter by reference: what the message was and where its content is kept."""
    kept = record.stored
    return json.dumps(
        {
            "dead_letter": "reference",
            "reason_code": record.reject.code,
            "reason": header_value(kept.scrub(record.reject.reason)),
            "bytes": kept.size,
            "sha256": kept.sha256,
            "skeleton": skeleton(record.delivery.body),
            "reject_key": record.key,
            "kept_in": f"ClickHouse ingest_rejects, reject_key = '{record.key}' (payload_form {kept.form})",
        },
        ensure_ascii=False,
    ).encode()


def letter(record: RejectRecord) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a record's dead letter."""
    body = reference_body(record) if record.dead_letter == "reference" else record.delivery.body
    return body, reject_headers(record)


def letter_size(body: bytes, headers: Mapping[str, str]) -> int:
    """Body plus headers as NATS counts them against max_payload (`NATS/1.0\\r\\n`, `k: v\\r\\n` each, `\\r\\n`); at
    least what the other brokers count."""
    return len(body) + 12 + sum(len(k.encode()) + len(v.encode()) + 4 for k, v in headers.items())


def is_reference(headers: Mapping[str, object] | None) -> bool:
    value = (headers or {}).get(DEAD_LETTER_HEADER)
    return value in ("reference", b"reference")


async def pass_through(_: Any) -> None:
    """Keep FastStream from decoding bodies: bad JSON must reach the pipeline, not fail in the decoder."""
    return None
