"""Decide, for a batch of valid rows, what is new, what is a duplicate and what must be refused.

Pure: it needs only the rows and what the store already holds for their ids and correction targets.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from .deliveries import Reject
from .rows import EventRow

CORRECTION_PREFIX = "correction."


@dataclass(frozen=True, slots=True)
class Known:
    """What the store (or an earlier row of the batch) holds for one event id."""

    content_hash: str
    event_type: str
    data: str


@dataclass(slots=True)
class Resolution:
    """`new` rows to insert, indices of `duplicates` (absorbed silently) and of `rejects` with their reason."""

    new: list[tuple[int, EventRow]] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    rejects: list[tuple[int, Reject]] = field(default_factory=list)


AmendmentCheck = Callable[[str, dict[str, object]], str | None]
"""(target event type, merged data) → None if valid, else the reason."""

EarlierHashes = Callable[[int], Collection[str]]
"""Delivery index → the content hashes its row would have had under each previous pseudonym key (none without)."""


def _no_earlier_keys(_: int) -> Collection[str]:
    return ()


def lookup_ids(rows: Iterable[EventRow]) -> set[str]:
    """Every event id the store must be asked about: the rows' own ids and their correction targets."""
    ids: set[str] = set()
    for row in rows:
        ids.add(row.event_id)
        if row.event_type.startswith(CORRECTION_PREFIX):
            ids.add(json.loads(row.data)["target_event_id"])
    return ids


def resolve(
    rows: list[tuple[int, EventRow]],
    stored: Mapping[str, Known],
    check_amendment: AmendmentCheck,
    earlier_hashes: EarlierHashes = _no_earlier_keys,
) -> Resolution:
    """Walk the rows in delivery order; the first content seen for an event id wins. A stored row made under a
    previous pseudonym key is the same content when its hash is the row's hash under that key (a redelivery
    after a key rotation is a duplicate, not a conflict)."""
    seen: dict[str, Known] = dict(stored)
    out = Resolution()
    for index, row in rows:
        earlier = seen.get(row.event_id)
        if earlier is not None:
            if earlier.content_hash == row.content_hash or earlier.content_hash in earlier_hashes(index):
                out.duplicates.append(index)
            else:
                out.rejects.append((index, _conflict(row)))
            continue
        problem = _correction_problem(row, seen, check_amendment)
        if problem is not None:
            out.rejects.append(
                (
                    index,
                    Reject("invalid_correction", problem, "data.target_event_id", row.event_type, row.event_id),
                )
            )
            continue
        seen[row.event_id] = Known(row.content_hash, row.event_type, row.data)
        out.new.append((index, row))
    return out


def _conflict(row: EventRow) -> Reject:
    return Reject(
        "conflict",
        f"event_id {row.event_id} was already stored with different content; the first version is kept",
        "event_id",
        row.event_type,
        row.event_id,
    )


def _correction_problem(row: EventRow, seen: Mapping[str, Known], check: AmendmentCheck) -> str | None:
    if not row.event_type.startswith(CORRECTION_PREFIX):
        return None
    data = json.loads(row.data)
    target_id = data["target_event_id"]
    target = seen.get(target_id)
    if target is None:
        # Out of order: the target may still arrive. Stored: the schema already checked each change against a
        # type that has the field; the metrics engine applies it once the target exists if the target's data
        # stays valid, and reports it as an anomaly otherwise or while the target is missing (docs/contract.md §2).
        return None
    if target.event_type.startswith(CORRECTION_PREFIX):
        return f"correction of a correction ({target_id}) is not allowed"
    if row.event_type.startswith("correction.amended"):
        named = data.get("target_event_type")
        if named is not None and named != target.event_type:
            return f"amendment names target type {named}, but {target_id} is {target.event_type}"
        merged = {**json.loads(target.data), **data["changes"]}
        reason = check(target.event_type, merged)
        if reason is not None:
            return f"amendment makes {target.event_type} {target_id} invalid: {reason}"
    return None
