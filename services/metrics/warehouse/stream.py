"""Read the stored log worker by worker (issue 13): no process holds the whole log.

A worker's replay (``EventLog``: corrections, same-day order, spells) needs only that worker's events and the
corrections that name one of them; org events and their corrections are read apart, once. So the worker events are
read in one query sorted by their owner (``WORKER_EVENTS``: each worker event, and each correction whose
``target_event_id`` is a worker event, owned by that event's worker; a correction carries no worker of its own),
streamed block by block, and cut into batches of ``BATCH`` workers at owner boundaries. The server sorts the log
once, spilling to disk past ``SORT_IN_MEMORY`` bytes, instead of scanning the whole table once per batch (the events
table is ordered by event id), and this process holds one batch and one block. Corrections of corrections and of
unknown events change no cell: ``stray_corrections`` reads them apart, for the anomalies the reference engine reports.

Subqueries are ``GLOBAL`` (on a cluster, ``events`` is a ``Distributed`` table: the small side, the ids or the
corrections, is gathered once and sent to every shard; on one server the same as without). Event ids are UUIDs in
the store, so ``toString(event_id)`` is already the normalised id ``norm_id`` compares.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

from services.common.clickhouse import ClickHouse

from ..engine import EventRecord
from ..engine.corrections import CORRECTION_TYPES, DUPLICATE, OF_CORRECTION, UNKNOWN_TARGET, norm_id
from ..engine.model import Anomaly
from ..engine.orgs import ORG_TYPES
from ..loader import COLUMNS, records

BATCH: Final = 500
"""Workers per batch read (and replayed, and written as facts): what a loading process holds. At 1 M events a load
helper peaked at 245 MB with 500 (~58,000 events a batch), 381 MB with 2,000; a rebuild at 368 / 418 MiB, its time
the same (1.02x, three runs each, within their spread)."""

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

_PART: Final = "worker_key != '' AND modulo(cityHash64(worker_key), %(parts)s) = %(part)s"
"""The workers of one part of ``parts`` (``part`` 0 .. parts - 1), by a hash of the worker key."""

WORKER_EVENTS: Final = f"""
SELECT * FROM (
    SELECT {COLUMNS}, worker_key AS owner FROM events WHERE {_PART}
    UNION ALL
    SELECT c.* EXCEPT (target), t.worker_key AS owner
    FROM (SELECT toString(event_id) AS id, worker_key FROM events WHERE {_PART}) AS t
    GLOBAL INNER JOIN (
        SELECT {COLUMNS}, {_NAMED} AS target FROM events WHERE event_type IN %(corrections)s
    ) AS c ON c.target = t.id
)
ORDER BY owner
"""
"""Every worker event of a part of the workers and every correction that names one, each with its ``owner`` (the
worker), sorted by owner."""

SORT_IN_MEMORY: Final = 256 * 1024 * 1024
"""Bytes the server sorts ``WORKER_EVENTS`` in memory before it spills sorted runs to disk."""
BLOCK: Final = 8_192
"""Rows a streamed block holds (the server's 65,409 by default held ~160 MB in this process at a time, this ~45)."""
SETTINGS: Final = {"max_bytes_before_external_sort": SORT_IN_MEMORY, "max_block_size": BLOCK}

STRAY_CORRECTIONS: Final = f"""
SELECT {COLUMNS}, {_NAMED} GLOBAL IN (SELECT toString(event_id) FROM events WHERE event_type IN %(corrections)s)
FROM events
WHERE event_type IN %(corrections)s
  AND {_NAMED} GLOBAL NOT IN (
    SELECT toString(event_id) FROM events WHERE worker_key != '' OR event_type IN %(org)s
  )
"""
"""The corrections neither stream reads (naming no worker or org event), each with whether it names a correction."""

EVENTS_OF: Final = _with_corrections("worker_key IN %(keys)s")
"""The events of the workers ``keys`` and the corrections that name one of them."""


def org_events(store: ClickHouse) -> list[EventRecord]:
    """Every org event with its corrections (a few thousand at most)."""
    rows = store.query_rows(ORG_EVENTS, {"org": tuple(sorted(ORG_TYPES)), "corrections": _CORRECTIONS})
    return [record for _, record in records(rows, {})]


def stray_corrections(store: ClickHouse) -> list[Anomaly]:
    """The anomalies of the corrections that name no stored worker or org event, as the reference engine reports
    them: one per event (a redelivered copy is the same event), a correction of a correction or of no stored event,
    or a duplicate (an id another one's differs from only in case or spaces)."""
    rows = store.query_rows(STRAY_CORRECTIONS, {"org": tuple(sorted(ORG_TYPES)), "corrections": _CORRECTIONS})
    ids: set[str] = set()
    keys: set[str] = set()
    out: list[Anomaly] = []
    for row in rows:
        _, ev = next(records((row[:-1],), {}))
        if ev.event_id in ids:
            continue
        ids.add(ev.event_id)
        key = norm_id(ev.event_id)
        reason = DUPLICATE if key in keys else OF_CORRECTION if row[-1] else UNKNOWN_TARGET
        keys.add(key)
        out.append(Anomaly(ev.event_id, ev.worker_key, reason))
    return out


def events_of(store: ClickHouse, keys: Sequence[str]) -> list[EventRecord]:
    """Every stored event of the workers ``keys`` with the corrections that name them (a refresh re-derives the
    workers new events touch); a redelivered event may come twice (``EventLog`` keeps one)."""
    rows = store.query_rows(EVENTS_OF, {"keys": tuple(keys), "corrections": _CORRECTIONS})
    return [record for _, record in records(rows, {})]


Part = tuple[int, int]
"""One part of the workers: its number and the number of parts (``(0, 1)``: every worker)."""


def worker_batches(store: ClickHouse, batch: int = BATCH, part: Part = (0, 1)) -> Iterator[list[EventRecord]]:
    """The stored worker events of ``part`` of the workers, ``batch`` workers at a time (by worker key), each batch
    with the corrections that name its events; a redelivered event may come twice (``EventLog`` keeps one)."""
    chunk: list[EventRecord] = []
    workers, last = 0, None
    pool: dict[str, str] = {}
    chosen = {"corrections": _CORRECTIONS, "part": part[0], "parts": part[1]}
    for block in store.stream_rows(WORKER_EVENTS, chosen, settings=SETTINGS):
        for row in block:
            owner = row[-1]
            if owner != last:
                if workers == batch:
                    yield chunk
                    chunk, workers, pool = [], 0, {}
                workers, last = workers + 1, owner
            chunk.extend(record for _, record in records((row[:-1],), pool))
    if chunk:
        yield chunk
