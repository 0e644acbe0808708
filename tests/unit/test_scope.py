"""From which month a batch of new events can change the indicators (``services.metrics.scope``)."""

from __future__ import annotations

from datetime import date

import pytest

from services.metrics.engine import compute
from services.metrics.engine.compute import kept
from services.metrics.scope import event_date, first_dates, recompute_since
from tests.oracle.synth import synthetic_log
from tests.unit.test_engine_support import Log

KNOWN = {"a": date(2022, 3, 1), "b": date(2019, 1, 1)}
AS_OF = date(2025, 10, 31)  # 2025 not complete: its months are recomputed on their own
MID_YEAR = date(2024, 8, 20)
CHANGES = (
    "staffing.pay_set.v1",
    "staffing.transferred.v1",
    "training.completed.v1",
    "staffing.grade_changed.v1",
    "turnover.separated.v1",
)


def test_a_grade_change_reaches_back_to_the_workers_first_year() -> None:
    """A promotion in 2024 changes promoted_within of the worker's hire year (2022) and everything after it."""
    log = Log()
    log.grade("a", "2024-05-01", 2)
    assert recompute_since(log.events, KNOWN, AS_OF) == date(2022, 1, 1)


def test_a_new_workers_hire_starts_at_its_month_and_a_rehire_asks_for_everything() -> None:
    new = Log()
    new.hire("c", "2025-02-14", level=1)
    assert recompute_since(new.events, KNOWN, AS_OF) == date(2025, 2, 1)
    again = Log()
    again.hire("a", "2025-02-01", level=2)
    assert recompute_since(again.events, KNOWN, AS_OF) is None


def test_a_month_of_a_complete_year_starts_at_its_january() -> None:
    """The months of a complete year share its month-in-year groups (suppression): the whole year is recomputed."""
    late = Log()
    late.hire("c", "2024-11-20", level=1)
    assert recompute_since(late.events, KNOWN, AS_OF) == date(2024, 1, 1)
    assert recompute_since(late.events, KNOWN, date(2024, 12, 30)) == date(2024, 11, 1)


def test_a_batch_starts_at_the_earliest_month_its_rules_name() -> None:
    training = Log()
    training.hire("c", "2025-05-10", level=1)
    training.train("c", "2025-07-09", kind="initial")
    assert recompute_since(training.events, KNOWN, AS_OF) == date(2025, 4, 1)  # on time: hires 90 days before
    pay = Log()
    pay.pay("b", "2025-07-09", "6000")
    pay.transfer("b", "2025-08-01", "U1", "U2")
    assert recompute_since(pay.events, KNOWN, AS_OF) == date(2025, 7, 1)  # a known worker's: from its own date


@pytest.mark.parametrize("seed", [3, 7])
def test_an_event_of_a_known_worker_changes_no_cell_before_the_month_named(seed: int) -> None:
    """Taken out of a log and added back, a worker event of a known worker changes no cell of the periods
    `compute(since=...)` leaves out (`engine.compute.kept`) for the month `recompute_since` names."""
    events = synthetic_log(workers=60, start=date(2021, 1, 1), end=MID_YEAR, seed=seed)
    targets = {str(e.data.get("target_event_id")) for e in events if e.event_type.startswith("correction.")}
    full = compute(events, as_of=MID_YEAR, k=3).rows
    for kind in CHANGES:
        candidates = [e for e in events if e.event_type == kind and e.event_id not in targets]
        for event in (candidates[-1], next(e for e in candidates if str(event_date(e)) >= "2024")):
            base = [e for e in events if e is not event]
            known = first_dates(base)
            assert event.worker_key in known
            since = recompute_since([event], known, MID_YEAR)
            assert since is not None
            before = compute(base, as_of=MID_YEAR, k=3).rows
            left = [row for row in full if not kept(row.period_kind, row.period, since)]
            assert left == [row for row in before if not kept(row.period_kind, row.period, since)], (kind, since)


def test_org_events_and_corrections_ask_for_everything() -> None:
    org = Log()
    org.unit("U")
    assert recompute_since(org.events, KNOWN, AS_OF) is None
    fix = Log()
    fix.retract("e0001")
    assert recompute_since(fix.events, KNOWN, AS_OF) is None
