"""The bench's fill against a real ClickHouse: events stored as a live ingest stores them, over time."""

from __future__ import annotations

from bench.later import _fill
from services.common.clickhouse import ConnectClickHouse
from services.metrics.loader import OVERLAP


def test_the_fill_stores_each_event_when_it_was_emitted(store: ConnectClickHouse) -> None:
    stored = _fill(store, 3)
    [(rows, at_emission, newest)] = store.query_rows(
        "SELECT count(), countIf(stored_at = emitted_at), max(stored_at) FROM events"
    )
    assert rows == at_emission == stored > 1_000
    [(overlap,)] = store.query_rows(
        "SELECT count() FROM events WHERE stored_at > %(since)s", {"since": newest - OVERLAP}
    )
    assert overlap <= 5  # what the running service reads again at each refresh: a few, not every event
