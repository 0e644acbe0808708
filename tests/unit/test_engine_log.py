"""`EventLog` updated batch by batch prepares exactly what preparing the whole log at once does."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import pytest

from services.metrics.engine import EventRecord, compute
from services.metrics.engine.log import EventLog
from tests.oracle.synth import synthetic_log

AS_OF = date(2024, 12, 31)
CORRECTIONS = ("correction.retracted.v1", "correction.amended.v1")


def _batches(events: list[EventRecord], seed: int) -> list[list[EventRecord]]:
    """The log shuffled (targets may come after their corrections) and cut into uneven batches."""
    rng = random.Random(seed)
    shuffled = events[:]
    rng.shuffle(shuffled)
    cuts = sorted(rng.sample(range(1, len(shuffled)), 40))
    return [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]


@pytest.mark.parametrize("seed", [3, 11])
def test_batch_by_batch_equals_the_whole_log_after_every_batch(seed: int) -> None:
    events = synthetic_log(workers=50, start=date(2021, 1, 1), end=AS_OF, seed=seed)
    assert any(e.event_type in CORRECTIONS for e in events)
    log = EventLog()
    seen: list[EventRecord] = []
    for batch in _batches(events, seed):
        log.add(batch)
        seen.extend(batch)
        assert log.prepared() == EventLog(seen).prepared()
    # compute is a pure function of what is prepared; once is enough to show it takes a prepared log
    assert compute(log.prepared(), as_of=AS_OF, k=3) == compute(events, as_of=AS_OF, k=3)


def test_a_plain_batch_replays_only_the_workers_it_touches() -> None:
    events = [e for e in synthetic_log(workers=30, end=AS_OF, seed=5) if e.event_type not in CORRECTIONS]
    pay = next(e for e in events if e.event_type == "staffing.pay_set.v1")
    log = EventLog([e for e in events if e is not pay])
    before = {w.key: w for w in log.prepared().workers}
    assert log.add([pay]) == [pay]
    after = {w.key: w for w in log.prepared().workers}
    assert list(after) == sorted(after)
    replayed = {key for key in after if after[key] is not before[key]}
    assert replayed == {pay.worker_key}
    assert log.prepared() == EventLog(events).prepared()


def test_a_correction_reprepares_everything_and_a_repeated_id_is_ignored() -> None:
    events = [e for e in synthetic_log(workers=30, end=AS_OF, seed=5) if e.event_type not in CORRECTIONS]
    log = EventLog(events)
    before = {w.key: w for w in log.prepared().workers}
    hire = next(e for e in events if e.event_type == "staffing.hired.v1")
    retraction = replace(
        hire, event_id="00000000-0000-4000-8000-000000000001", event_type="correction.retracted.v1", worker_key=""
    )
    retraction = replace(retraction, data={"target_event_id": hire.event_id.upper(), "reason": "entered twice"})
    assert log.add([retraction, hire]) == [retraction]
    after = log.prepared()
    assert after == EventLog([*events, retraction]).prepared()
    assert all(after_worker is not before[after_worker.key] for after_worker in after.workers)
