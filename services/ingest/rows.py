"""Validated event → `events` row. Pure: the same event, key and zone always give the same row."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from json.encoder import encode_basestring
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from .pseudonymise import Pseudonymiser

EVENT_COLUMNS: Final = (
    "event_id",
    "event_type",
    "occurred_at",
    "emitted_at",
    "received_at",
    "source",
    "worker_key",
    "event_date",
    "data",
    "content_hash",
)

# The payload field that dates each event type (docs/contract.md §2); corrections are dated by occurred_at.
DATE_FIELD: Final[dict[str, str]] = {
    "org.unit_registered.v1": "effective_date",
    "org.unit_changed.v1": "effective_date",
    "staffing.hired.v1": "hire_date",
    "staffing.grade_changed.v1": "effective_date",
    "staffing.transferred.v1": "effective_date",
    "staffing.pay_set.v1": "effective_date",
    "turnover.separated.v1": "separation_date",
    "training.completed.v1": "end_date",
}


class EventRow(NamedTuple):
    """One row of `events`, fields in `EVENT_COLUMNS` order, plus what the resolver needs to know about it.

    A named tuple: ingest builds one per event, and a tuple is also the shape the insert takes.
    """

    event_id: str
    event_type: str
    occurred_at: datetime
    emitted_at: datetime
    received_at: datetime
    source: str
    worker_key: str
    event_date: date
    data: str
    content_hash: str

    def as_tuple(self) -> tuple[Any, ...]:
        return self


_CANONICAL: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace, non-ASCII kept as is."""
    return _CANONICAL.encode(value)


def hashed_document(
    event_id: str, event_type: str, occurred_at: str, emitted_at: str, source: str, worker_key: str, data_json: str
) -> str:
    """`canonical_json` of the hashed fields, assembled around the already canonical `data_json`.

    Keys in sorted order; byte for byte what `canonical_json({..., "data": data})` gives, so content
    hashes of stored rows stay valid.
    """
    text = encode_basestring  # what the canonical encoder does with a str (ensure_ascii=False), minus its overhead
    return (
        f'{{"data":{data_json},"emitted_at":{text(emitted_at)},"event_id":{text(event_id)},'
        f'"event_type":{text(event_type)},"occurred_at":{text(occurred_at)},"source":{text(source)},'
        f'"worker_key":{text(worker_key)}}}'
    )


def to_row(event: BaseModel, *, received_at: datetime, pseudonymise: Pseudonymiser, zone: ZoneInfo) -> EventRow:
    """Build the stored row: the clear worker id is replaced by its pseudonym before anything else."""
    envelope: Any = event
    data = envelope.data.model_dump(mode="json")
    worker_key = pseudonymise(envelope.worker_id)
    event_type: str = envelope.event_type
    event_id = str(envelope.event_id)
    occurred_at: datetime = envelope.occurred_at
    emitted_at: datetime = envelope.emitted_at
    field = DATE_FIELD.get(event_type)
    event_date = date.fromisoformat(data[field]) if field else occurred_at.astimezone(zone).date()
    data_json = _CANONICAL.encode(data)
    hashed = hashed_document(
        event_id, event_type, occurred_at.isoformat(), emitted_at.isoformat(), envelope.source, worker_key, data_json
    )
    return EventRow(
        event_id,
        event_type,
        occurred_at,
        emitted_at,
        received_at,
        envelope.source,
        worker_key,
        event_date,
        data_json,
        hashlib.sha256(hashed.encode("utf-8")).hexdigest(),
    )


def dedup_token(event_ids: list[str]) -> str:
    """The insert deduplication token of a batch: the same set of events always gives the same token."""
    digest = hashlib.sha256("\n".join(sorted(event_ids)).encode("ascii"))
    return digest.hexdigest()
