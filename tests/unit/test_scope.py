"""From which year a batch of new events can change the indicators (``services.metrics.scope``)."""

from __future__ import annotations

from datetime import date

from services.metrics.scope import recompute_from
from tests.unit.test_engine_support import Log

KNOWN = {"a": date(2022, 3, 1), "b": date(2019, 1, 1)}


def test_a_grade_change_reaches_back_to_the_workers_first_year() -> None:
    """A promotion in 2024 changes promoted_within of the worker's hire year (2022) and everything after it."""
    log = Log()
    log.grade("a", "2024-05-01", 2)
    assert recompute_from(log.events, KNOWN) == 2022


def test_a_new_workers_hire_starts_at_its_year_and_a_rehire_asks_for_everything() -> None:
    new = Log()
    new.hire("c", "2025-02-01", level=1)
    assert recompute_from(new.events, KNOWN) == 2025
    again = Log()
    again.hire("a", "2025-02-01", level=2)
    assert recompute_from(again.events, KNOWN) is None


def test_org_events_and_corrections_ask_for_everything() -> None:
    org = Log()
    org.unit("U")
    assert recompute_from(org.events, KNOWN) is None
    fix = Log()
    fix.retract("e0001")
    assert recompute_from(fix.events, KNOWN) is None
