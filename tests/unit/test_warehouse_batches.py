"""``stream.worker_batches`` cuts the sorted stream of worker events into batches of whole workers, wherever the
server's blocks end (the SQL itself runs in tests/integration/test_warehouse_stream.py); ``compute.owned_anomalies``
tells whose each batch's anomalies are."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from services.metrics.engine.model import Anomaly, EventRecord
from services.metrics.warehouse import stream
from services.metrics.warehouse.compute import owned_anomalies

AT = datetime(2024, 1, 1, tzinfo=UTC)


def _row(number: int, owner: str, correction: bool = False) -> tuple[Any, ...]:
    kind = "correction.amend" if correction else "staffing.hired"
    worker = "" if correction else owner
    return (f"e{number}", kind, AT, AT, worker, json.dumps({"n": number}), AT, owner)


class Blocks:
    """A store whose answer comes in the blocks given."""

    def __init__(self, blocks: Sequence[Sequence[tuple[Any, ...]]]) -> None:
        self.blocks = blocks
        self.settings: Mapping[str, Any] | None = None

    def stream_rows(
        self, sql: str, parameters: Mapping[str, Any] | None = None, *, settings: Mapping[str, Any] | None = None
    ) -> Iterator[Sequence[Sequence[Any]]]:
        self.settings = settings
        yield from self.blocks


def test_batches_hold_whole_workers_across_blocks() -> None:
    """Worker b's events span two blocks, and its correction (no worker of its own) is owned by b: with 2 workers
    a batch, a and b (the correction too) make the first batch and c the second; the sort may spill."""
    store = Blocks([
        [_row(1, "a"), _row(2, "b")],
        [_row(3, "b"), _row(4, "b", correction=True)],
        [_row(5, "c")],
        [],
    ])  # fmt: skip
    batches = list(stream.worker_batches(store, 2))  # type: ignore[arg-type]
    assert [[ev.event_id for ev in batch] for batch in batches] == [["e1", "e2", "e3", "e4"], ["e5"]]
    assert batches[0][3].worker_key == ""  # the correction as stored: its owner only places it
    assert store.settings == stream.SETTINGS


def test_no_worker_events_no_batch() -> None:
    assert list(stream.worker_batches(Blocks([]), 2)) == []  # type: ignore[arg-type]


def test_a_corrections_anomaly_counts_for_the_worker_of_the_event_it_names() -> None:
    """``compute.owned_anomalies``: a worker's own anomaly counts for them, an amendment's (no worker of its own) for
    the worker of the event it names (ids compared normalised), one naming no event of the batch for none ('')."""
    hire = EventRecord("AAA", "staffing.hired.v1", AT, AT, "w1", {})
    amend = EventRecord("ccc", "correction.amended.v1", AT, AT, "", {"target_event_id": " aaa"})
    found = [Anomaly("ccc", "", "correction_invalid"), Anomaly("AAA", "w1", "x"), Anomaly("zzz", "", "y")]
    assert owned_anomalies([hire, amend], found) == {"w1": 2, "": 1}
    assert owned_anomalies([hire, amend], found[1:2]) == {"w1": 1}
