"""EventWriter against a real ClickHouse: the duplicate lookup finds exactly the stored ids."""

from __future__ import annotations

import gc
import uuid
import weakref
from datetime import UTC, date, datetime

from services.common.clickhouse import ConnectClickHouse
from services.ingest.rows import EVENT_COLUMNS, EventRow
from services.ingest.writer import EventWriter

AT = datetime(2026, 11, 1, tzinfo=UTC)


def _row(event_id: str) -> EventRow:
    return EventRow(event_id, "staffing.hired.v1", AT, AT, AT, "hr", "k", date(2026, 11, 1), "{}", f"h{event_id}")


def test_known_returns_exactly_the_stored_ids_across_lookup_chunks(store: ConnectClickHouse) -> None:
    writer = EventWriter(store)
    stored = [str(uuid.UUID(int=i)) for i in range(1, 6_001)]
    writer.write_events([_row(event_id) for event_id in stored])
    absent = {str(uuid.uuid4()) for _ in range(6_000)}
    asked = set(stored[::2]) | absent
    found = writer.known(asked)
    assert set(found) == set(stored[::2])
    assert all(found[i].content_hash == f"h{i}" and found[i].event_type == "staffing.hired.v1" for i in found)
    assert writer.known(set()) == {}


class _Row(list[object]):
    """A row that can be weakly referenced (tuples cannot)."""


def test_an_insert_does_not_keep_its_rows_alive(store: ConnectClickHouse) -> None:
    """Rows are freed when the insert returns, not at the next full cyclic collection: a batch's rows must not
    pile up in ingest between collections."""
    rows = [_Row(_row(str(uuid.uuid4()))) for _ in range(100)]
    refs = [weakref.ref(row) for row in rows]
    gc.disable()
    try:
        store.insert_rows("events", rows, EVENT_COLUMNS)
        del rows
        alive = sum(ref() is not None for ref in refs)
    finally:
        gc.enable()
    assert alive == 0, f"{alive} of 100 rows still referenced after the insert returned"
