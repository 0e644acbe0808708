"""The storage stage: ask what the store already holds, insert new rows and rejects. Synchronous I/O
through the ClickHouse port; the consumer runs it in a worker thread."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from services.common.clickhouse import ClickHouse

from .deliveries import Delivery, Reject
from .rejects import Kept, keep
from .resolve import Known
from .rows import EVENT_COLUMNS, EventRow, dedup_token

REJECT_COLUMNS: Final = (
    "received_at",
    "reason_code",
    "reason",
    "field_path",
    "event_type",
    "event_id",
    "payload",
    "broker",
    "subject",
    "reject_key",
    "payload_form",
    "payload_bytes",
    "payload_sha256",
    "dead_letter",
)
_LOOKUP_CHUNK: Final = 5_000  # 5,000 ids are 185 kB of query text, under ClickHouse's max_query_size (256 kB)
# The ids travel as one heredoc string ($ids$…$ids$, bound by the driver as bytes, never escaped char by char).
_KNOWN_SQL: Final = (
    "SELECT toString(event_id), content_hash, event_type, data FROM events "
    "WHERE event_id IN (SELECT toUUID(arrayJoin(splitByChar(',', $ids$)))) LIMIT 1 BY event_id"
)
_UUID: Final = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_UUID_LIST: Final = re.compile(f"{_UUID}(?:,{_UUID})*")


def id_list(event_ids: list[str]) -> bytes:
    """Comma-separated canonical UUIDs; anything else is refused (it could end the heredoc)."""
    joined = ",".join(event_ids)
    if not _UUID_LIST.fullmatch(joined):
        raise ValueError("event ids must be canonical lower-case UUIDs")
    return joined.encode("ascii")


@dataclass(frozen=True, slots=True)
class RejectRecord:
    """A refused delivery as stored in `ingest_rejects` and sent to the dead-letter destination.

    `kept` is what ClickHouse stores of the message (`rejects.keep`; without it, the skeleton). `dead_letter`
    says what the dead-letter destination gets: "original" (the bytes as sent), "reference" (a small JSON
    body pointing here: the original does not fit the broker) or "none" (backfill: the file is the original).
    """

    delivery: Delivery
    reject: Reject
    broker: str
    kept: Kept | None = None
    dead_letter: str = "original"

    @property
    def key(self) -> str:
        """Same for a redelivery of one message; distinct for two sends of the same bad bytes (when the
        broker names its messages)."""
        digest = hashlib.sha256(f"{self.delivery.subject}\n{self.delivery.message_id}\n".encode())
        digest.update(self.delivery.body)
        return digest.hexdigest()

    @property
    def stored(self) -> Kept:
        return self.kept if self.kept is not None else keep(self.delivery.body, None)

    def by_reference(self) -> RejectRecord:
        return replace(self, dead_letter="reference")

    def as_tuple(self) -> tuple[object, ...]:
        kept = self.stored
        return (
            self.delivery.received_at,
            self.reject.code,
            kept.scrub(self.reject.reason),
            kept.scrub(self.reject.field_path),
            kept.scrub(self.reject.event_type),
            canonical_uuid(self.reject.event_id),
            kept.payload,
            self.broker,
            kept.scrub(self.delivery.subject),
            self.key,
            kept.form,
            kept.size,
            kept.sha256,
            self.dead_letter,
        )


def canonical_uuid(value: str | None) -> str | None:
    """The event id as the UUID column takes it; None for anything a sender made up that is not a UUID."""
    if value is None or len(value) > 45:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


class EventWriter:
    """Reads and writes the `events` and `ingest_rejects` tables."""

    def __init__(self, store: ClickHouse) -> None:
        self._store = store

    def known(self, event_ids: set[str]) -> dict[str, Known]:
        """What the store holds for these ids (one row per id; a conflicting second version is never stored)."""
        found: dict[str, Known] = {}
        ids = sorted(event_ids)
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            for event_id, content_hash, event_type, data in self._store.query_rows(
                _KNOWN_SQL, {"$ids$": id_list(ids[start : start + _LOOKUP_CHUNK])}
            ):
                found[event_id] = Known(content_hash, event_type, data)
        return found

    def write_events(self, rows: Sequence[EventRow], *, key_id: str | None = None) -> None:
        """Insert rows once: a retry of the same set carries the same deduplication token. `key_id` names the
        pseudonym key that made the rows' worker keys (stored on rows that have one; '' when None)."""
        if not rows:
            return
        token = dedup_token([row.event_id for row in rows])
        if key_id is None:
            self._store.insert_rows("events", [row.as_tuple() for row in rows], EVENT_COLUMNS, dedup_token=token)
        else:
            keyed = [(*row, key_id if row.worker_key else "") for row in rows]
            self._store.insert_rows("events", keyed, (*EVENT_COLUMNS, "key_id"), dedup_token=token)

    def write_rejects(self, records: Sequence[RejectRecord]) -> None:
        if records:
            # a row rewritten to say it went by reference is a new insert, not a retry of the first
            token = "rejects-" + dedup_token([f"{record.key}:{record.dead_letter}" for record in records])
            self._store.insert_rows(
                "ingest_rejects", [record.as_tuple() for record in records], REJECT_COLUMNS, dedup_token=token
            )

    def last_stored(self) -> datetime | None:
        rows = self._store.query_rows("SELECT max(received_at) FROM events")
        return rows[0][0] if rows and rows[0][0] and rows[0][0].year > 1970 else None
