"""Read the stored log worker by worker (issue 13): no process holds the whole log.

A worker's replay (``EventLog``: corrections, same-day order, spells) needs only that worker's events and the
corrections that name one of them; org events and their corrections are read apart, once. So the events table is
read in batches of workers (ordered by ``worker_key``): each batch is every event of ``BATCH`` workers plus the
corrections whose ``target_event_id`` is one of those events (a correction carries no worker). Corrections of
corrections and of unknown events change no cell; the reference engine reports them as anomalies, this path
does not read them.

The subqueries are ``GLOBAL IN`` (on a cluster, ``events`` is a ``Distributed`` table: the ids are gathered once and
sent to every shard; on one server the same as ``IN``). Event ids are UUIDs in the store, so ``toString(event_id)``
is already the normalised id ``norm_id`` compares.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

from services.common.clickhouse import ClickHouse

from ..engine import EventRecord
from ..engine.corrections import CORRECTION_TYPES
from ..engine.orgs import ORG_TYPES
from ..loader import COLUMNS, records

BATCH: Final = 2_000
"""Workers per batch read (and replayed, and written as facts)."""

_CORRECTIONS: Final = tuple(sorted(CORRECTION_TYPES))
_NAMED: Final = "lower(trim(JSONExtractString(data, 'target_event_id')))"
"""A correction's target as ``corrections.norm_id`` compares it."""


def _with_corrections(chosen: str) -> str:
    """The events ``chosen`` (a condition on ``events``) and the corrections that name one of them."""
    return f"""
SELECT {COLUMNS} FROM events WHERE {chosen}
UNION ALL
SELECT {COLUMNS} FROM events
WHERE event_type IN %(corrections)s
  AND {_NAMED} GLOBAL IN (SELECT toString(event_id) FROM events WHERE {chosen})
"""


ORG_EVENTS: Final = _with_corrections("event_type IN %(org)s")
"""Org events and the corrections that name one of them."""

WORKER_KEYS: Final = "SELECT DISTINCT worker_key FROM events WHERE worker_key != '' ORDER BY worker_key"

WORKER_EVENTS: Final = _with_corrections("worker_key BETWEEN %(first)s AND %(last)s")
"""The events of the workers ``first`` .. ``last`` (by key) and the corrections that name one of them."""

EVENTS_OF: Final = _with_corrections("worker_key IN %(keys)s")
"""The events of the workers ``keys`` and the corrections that name one of them."""


def org_events(store: ClickHouse) -> list[EventRecord]:
    """Every org event with its corrections (a few thousand at most)."""
    rows = store.query_rows(ORG_EVENTS, {"org": tuple(sorted(ORG_TYPES)), "corrections": _CORRECTIONS})
    return [record for _, record in records(rows, {})]


def events_of(store: ClickHouse, keys: Sequence[str]) -> list[EventRecord]:
    """Every stored event of the workers ``keys`` with the corrections that name them (a refresh re-derives the
    workers new events touch); a redelivered event may come twice (``EventLog`` keeps one)."""
    rows = store.query_rows(EVENTS_OF, {"keys": tuple(keys), "corrections": _CORRECTIONS})
    return [record for _, record in records(rows, {})]


def worker_batches(store: ClickHouse, batch: int = BATCH) -> Iterator[list[EventRecord]]:
    """The stored worker events, ``batch`` workers at a time (ordered by worker key), each batch with the
    corrections that name its events; a redelivered event may come twice (``EventLog`` keeps one)."""
    keys: Sequence[Any] = [row[0] for row in store.query_rows(WORKER_KEYS)]
    for start in range(0, len(keys), batch):
        chunk = keys[start : start + batch]
        rows = store.query_rows(WORKER_EVENTS, {"first": chunk[0], "last": chunk[-1], "corrections": _CORRECTIONS})
        yield [record for _, record in records(rows, {})]
