"""Read what the engine needs from ClickHouse: events deduplicated by event_id, reference wages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from services.common.clickhouse import ClickHouse

from .engine import EventRecord, ReferenceWage

PAGE = 200_000


OVERLAP = timedelta(seconds=60)
"""Rows become visible when their insert commits, which can be later than their `stored_at`: re-read this much."""


def load_events(store: ClickHouse, *, stored_after: datetime | None = None) -> Iterator[tuple[datetime, EventRecord]]:
    """Stored events with their `stored_at`, all of them or those stored after `stored_after` − OVERLAP.
    A redelivered event may come twice; callers key by event_id (the first content is the only content)."""
    since = (stored_after - OVERLAP) if stored_after else datetime(1970, 1, 1, tzinfo=UTC)
    last = "00000000-0000-0000-0000-000000000000"
    while True:
        rows = store.query_rows(
            "SELECT toString(event_id), event_type, occurred_at, emitted_at, worker_key, data, stored_at "
            "FROM events WHERE stored_at > %(since)s AND event_id > toUUID(%(after)s) "
            "ORDER BY event_id LIMIT %(page)s",
            {"since": since, "after": last, "page": PAGE},
        )
        for event_id, event_type, occurred_at, emitted_at, worker_key, data, stored_at in rows:
            yield stored_at, EventRecord(event_id, event_type, occurred_at, emitted_at, worker_key, json.loads(data))
        if len(rows) < PAGE:
            return
        last = rows[-1][0]


def load_reference_wages(store: ClickHouse) -> list[ReferenceWage]:
    rows = store.query_rows(
        "SELECT region, year, annual_amount, source FROM reference_wages FINAL ORDER BY region, year"
    )
    return [ReferenceWage(str(r), int(y), float(a), str(s)) for r, y, a, s in rows]
