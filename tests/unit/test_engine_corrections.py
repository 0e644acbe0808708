"""Corrections: retraction beats amendment; amendments in (emitted_at, event_id) order, field by field."""

from __future__ import annotations

from pytest import approx

from tests.unit.test_engine_support import Log


def test_retracted_event_counts_nowhere_even_if_amended() -> None:
    log = Log()
    log.hire("a", "2024-01-01")
    hire_b = log.hire("b", "2024-01-01")
    log.amend(hire_b, hire_date="2024-01-05")
    log.retract(hire_b)
    r = log.run("2024-01-31")
    assert r.value("hires", "2024-01-01") == 1
    assert r.value("headcount_avg", "2024-01-01") == approx(1.0)


def test_amendments_apply_in_order_and_can_move_the_date() -> None:
    """Hire moved from 1 Jan to 22 Jan (then unit changed by a later amendment): 10 days in Jan -> 10/31."""
    log = Log()
    log.unit("X")
    hire = log.hire("a", "2024-01-01", "U")
    log.amend(hire, hire_date="2024-01-10")
    log.amend(hire, hire_date="2024-01-22", org_unit_id="X")
    r = log.run("2024-01-31")
    assert r.value("headcount_avg", "2024-01-01") == approx(10 / 31)
    assert r.value("headcount_avg", "2024-01-01", dim="org", sl="X") == approx(10 / 31)
    assert not r.has("headcount_avg", "2024-01-01", dim="org", sl="U")


def test_amended_separation_kind_moves_between_kinds() -> None:
    log = Log()
    log.hire("a", "2024-01-01")
    sep = log.separate("a", "2024-01-20", kind="voluntary", reason="pay")
    log.amend(sep, kind="other", reason="retirement")
    r = log.run("2024-01-31")
    assert r.value("separations_voluntary", "2024-01-01") == 0
    assert r.value("separations_other", "2024-01-01") == 1
    assert r.value("separations_by_reason", "2024-01-01", cat="retirement") == 1


def test_corrections_of_unknown_events_or_of_corrections_are_anomalies() -> None:
    log = Log()
    hire = log.hire("a", "2024-01-01")
    unknown = log.retract("no-such-event")
    amendment = log.amend(hire, gender="male")
    of_correction = log.retract(amendment)
    r = log.run("2024-01-31")
    assert sorted(r.anomalies()) == [
        (unknown, "correction_unknown_target"),
        (of_correction, "correction_of_correction"),
    ]
    # the amendment itself still applies
    assert r.value("headcount_avg", "2024-01-01", dim="gender", sl="male") == approx(1.0)
