"""Read what the engine needs from ClickHouse: events deduplicated by event_id, reference wages."""

from __future__ import annotations

import json
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.common.clickhouse import ClickHouse

from .engine import EventRecord, ReferenceWage

PAGE = 200_000


OVERLAP = timedelta(seconds=60)
"""Rows become visible when their insert commits, which can be later than their `stored_at`: re-read this much."""


@dataclass
class Overlap:
    """What the last complete re-read of the overlap saw: its lower bound and how many distinct events were stored
    after it. Kept by a caller that loads again and again (the service's refresher): while the bound and that count
    are unchanged no event has become visible there, and the overlap's ids are not read again. Without it, after a
    bulk load (the demo stores 119,536 events within seconds, all inside one overlap) every poll read every one of
    their ids, and looked each up, for nothing."""

    since: datetime | None = None
    count: int = -1


def load_events(
    store: ClickHouse,
    *,
    stored_after: datetime | None = None,
    known: Container[str] = frozenset(),
    pool: dict[str, str] | None = None,
    overlap: Overlap | None = None,
) -> Iterator[tuple[datetime, EventRecord]]:
    """Stored events with their `stored_at`: all of them, or those stored after `stored_after` − OVERLAP whose
    `event_id` is not in `known` (the re-read overlap costs one id query, not a payload parse per event).
    A redelivered event may come twice; callers key by event_id (the first content is the only content).

    Equal short strings (types, worker keys, payload keys, dates, unit ids, enumerations) come back as one shared
    object from ``pool`` (kept by a caller that holds the log between loads): the log holds every event, and
    sharing them about halves its memory (1.3 kB → 0.7 kB per simulated event). With ``overlap`` (see `Overlap`),
    an overlap in which nothing became visible since the last load costs one count, not a read of its ids."""
    pool = {} if pool is None else pool
    if stored_after is None:
        yield from _scan(store, datetime(1970, 1, 1, tzinfo=UTC), pool)
        return
    since = stored_after - OVERLAP
    if overlap is not None:
        # counted before the ids are read: an event that becomes visible in between makes the next count differ
        count = int(store.query_rows(_COUNT, {"since": since})[0][0])
        if (overlap.since, overlap.count) == (since, count):
            return
        yield from _unseen(store, since, known, pool)
        overlap.since, overlap.count = since, count  # only once every unseen event has been handed over
        return
    yield from _unseen(store, since, known, pool)


_COUNT = "SELECT uniqExact(event_id) FROM events WHERE stored_at > %(since)s"


def _unseen(
    store: ClickHouse, since: datetime, known: Container[str], pool: dict[str, str]
) -> Iterator[tuple[datetime, EventRecord]]:
    ids = store.query_rows(
        "SELECT DISTINCT toString(event_id) FROM events WHERE stored_at > %(since)s", {"since": since}
    )
    fresh = sorted(str(row[0]) for row in ids if row[0] not in known)
    if len(fresh) > PAGE // 2:
        yield from _scan(store, since, pool)  # a backfill landed: one ordered scan beats long id lists
        return
    for start in range(0, len(fresh), ID_CHUNK):
        rows = store.query_rows(
            f"SELECT {COLUMNS} FROM events WHERE stored_at > %(since)s AND event_id IN %(ids)s ORDER BY event_id",
            {"since": since, "ids": tuple(fresh[start : start + ID_CHUNK])},
        )
        yield from records(rows, pool)


COLUMNS = "toString(event_id), event_type, occurred_at, emitted_at, worker_key, data, stored_at"
ID_CHUNK = 5_000


def _scan(store: ClickHouse, since: datetime, pool: dict[str, str]) -> Iterator[tuple[datetime, EventRecord]]:
    last = "00000000-0000-0000-0000-000000000000"
    while True:
        rows = store.query_rows(
            f"SELECT {COLUMNS} FROM events WHERE stored_at > %(since)s AND event_id > toUUID(%(after)s) "
            "ORDER BY event_id LIMIT %(page)s",
            {"since": since, "after": last, "page": PAGE},
        )
        yield from records(rows, pool)
        if len(rows) < PAGE:
            return
        last = rows[-1][0]


SHARED_MAX = 40
"""Strings up to this length are pooled; longer ones (free-text notes) are mostly unique."""


def records(rows: Sequence[Sequence[Any]], pool: dict[str, str]) -> Iterator[tuple[datetime, EventRecord]]:
    share = pool.setdefault
    for event_id, event_type, occurred_at, emitted_at, worker_key, data, stored_at in rows:
        payload = {
            share(k, k): share(v, v) if type(v) is str and len(v) <= SHARED_MAX else v
            for k, v in json.loads(data).items()
        }
        record = EventRecord(
            event_id, share(event_type, event_type), occurred_at, emitted_at, share(worker_key, worker_key), payload
        )
        yield stored_at, record


def load_reference_wages(store: ClickHouse) -> list[ReferenceWage]:
    rows = store.query_rows(
        "SELECT region, year, annual_amount, source FROM reference_wages FINAL ORDER BY region, year"
    )
    return [ReferenceWage(str(r), int(y), float(a), str(s)) for r, y, a, s in rows]
