"""decode → validate → pseudonymise → rows → resolve → store: one call per flushed batch.

`Pipeline.store` is synchronous and safe to retry: nothing is acknowledged here, and a repeated call with
the same deliveries stores nothing twice (duplicates are found in the store, inserts carry a dedup token).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from schemas import REGISTRY, Event, EventError, validate_many

from .deliveries import Delivery, Reject
from .pseudonymise import Pseudonymiser
from .rejects import keep
from .resolve import EarlierHashes, lookup_ids, resolve
from .rows import EventRow, to_row
from .writer import EventWriter, RejectRecord


@dataclass(slots=True)
class Outcome:
    """What became of each delivery of a batch."""

    stored: list[EventRow] = field(default_factory=list)
    duplicates: list[Delivery] = field(default_factory=list)
    rejected: list[RejectRecord] = field(default_factory=list)
    settled: list[Delivery] = field(default_factory=list)
    """Deliveries that may be acknowledged (stored, duplicates); rejected ones are settled by the caller."""


_MODELS_AT_ONCE = 1_000  # validated models live only until their rows are made: bounds a batch's peak memory
Prepared = tuple[list[tuple[int, EventRow]], list[RejectRecord]]
"""What `Pipeline.validate` makes of a batch: (delivery index, row) of the valid ones, and the rejects."""


def reject_of(error: EventError) -> Reject:
    return Reject(error.code, error.message, error.field_path, error.event_type or "", error.event_id)


def check_amendment(event_type: str, merged: dict[str, object]) -> str | None:
    """Validate a target's data with an amendment applied, against the target type's payload model."""
    model: Any = REGISTRY[event_type].model_fields["data"].annotation
    try:
        model.model_validate_json(json.dumps(merged, ensure_ascii=False))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"data.{where}: {first['msg']}"
    return None


class Pipeline:
    """The pure stages plus the writer, for one broker's deliveries."""

    def __init__(
        self,
        writer: EventWriter,
        pseudonymise: Pseudonymiser,
        *,
        zone: ZoneInfo,
        broker: str,
        clock: Callable[[], datetime],
        dead_letters: bool = True,
        previous: Sequence[Pseudonymiser] = (),
    ) -> None:
        self._writer = writer
        self._pseudonymise = pseudonymise
        self._previous = tuple(previous)
        self._zone = zone
        self._broker = broker
        self._clock = clock
        self._dead_letter = "original" if dead_letters else "none"

    def validate(self, deliveries: Sequence[Delivery]) -> Prepared:
        """Pure part: every delivery becomes a row or a reject, in order."""
        now = self._clock()
        rows: list[tuple[int, EventRow]] = []
        rejects: list[RejectRecord] = []
        for start in range(0, len(deliveries), _MODELS_AT_ONCE):
            chunk = deliveries[start : start + _MODELS_AT_ONCE]
            self._to_rows(start, chunk, validate_many([d.body for d in chunk], now=now), rows, rejects)
        return rows, rejects

    def _to_rows(
        self,
        start: int,
        deliveries: Sequence[Delivery],
        results: list[Event | EventError],
        rows: list[tuple[int, EventRow]],
        rejects: list[RejectRecord],
    ) -> None:
        for index, (delivery, result) in enumerate(zip(deliveries, results, strict=True), start):
            if isinstance(result, EventError):
                rejects.append(self._reject(delivery, reject_of(result)))
            else:
                event: BaseModel = result
                row = to_row(event, received_at=delivery.received_at, pseudonymise=self._pseudonymise, zone=self._zone)
                rows.append((index, row))

    def _reject(self, delivery: Delivery, reject: Reject) -> RejectRecord:
        """A refused delivery with what ClickHouse may keep of it (worker ids pseudonymised)."""
        kept = keep(delivery.body, self._pseudonymise)
        return RejectRecord(delivery, reject, self._broker, kept, self._dead_letter)

    def _earlier_hashes(self, deliveries: Sequence[Delivery]) -> EarlierHashes:
        """The content hashes a delivery's row has under each previous key; asked only when the stored row
        differs from it under the current key (rare: a redelivery after a rotation, or a conflict)."""

        def hashes(index: int) -> list[str]:
            delivery = deliveries[index]
            result = validate_many([delivery.body], now=self._clock())[0] if self._previous else None
            if result is None or isinstance(result, EventError):
                return []
            return [
                to_row(result, received_at=delivery.received_at, pseudonymise=key, zone=self._zone).content_hash
                for key in self._previous
            ]

        return hashes

    def write_rejects(self, records: Sequence[RejectRecord]) -> None:
        """Record refused deliveries in `ingest_rejects` (once: redeliveries share their key)."""
        self._writer.write_rejects(records)

    def store(self, deliveries: Sequence[Delivery], *, write_rejects: bool = True) -> Outcome:
        """Validate, resolve against the store, insert new rows (and, unless told not to, the rejects).
        Raises StoreUnavailable."""
        return self.commit(deliveries, self.validate(deliveries), write_rejects=write_rejects)

    def commit(self, deliveries: Sequence[Delivery], prepared: Prepared, *, write_rejects: bool = True) -> Outcome:
        """The I/O part of `store` for rows `validate` already made; batches must be committed one at a time."""
        rows, rejects = prepared
        known = self._writer.known(lookup_ids(row for _, row in rows))
        resolution = resolve(rows, known, check_amendment, self._earlier_hashes(deliveries))
        outcome = Outcome()
        outcome.stored = [row for _, row in resolution.new]
        outcome.duplicates = [deliveries[i] for i in resolution.duplicates]
        outcome.rejected = rejects + [self._reject(deliveries[i], r) for i, r in resolution.rejects]
        self._writer.write_events(outcome.stored, key_id=self._pseudonymise.key_id)
        if write_rejects:
            self._writer.write_rejects(outcome.rejected)
        outcome.settled = [deliveries[i] for i, _ in resolution.new] + outcome.duplicates
        return outcome
