"""Corrections: retraction beats amendment; amendments in (emitted_at, event_id) order, field by field."""

from __future__ import annotations

import math
from datetime import date

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


def test_a_stored_amendment_the_engine_cannot_apply_is_an_anomaly_and_the_rest_counts() -> None:
    """Amendments stored before ingest checked their changes (or written to the store by hand) reach the engine
    as they are: each that would leave its target invalid is skipped as an anomaly, its target counted unamended,
    and nothing else changes (the four of issue 15, and one naming another type)."""
    log = Log()
    hire_a = log.hire("a", "2024-01-01", birth_year=1990)
    log.hire("b", "2024-01-01", gender="male")
    pay_a = log.pay("a", "2024-01-01", "5000")
    pay_b = log.pay("b", "2024-01-01", "7000")
    named_hire = {"target_event_type": "staffing.hired.v1", "changes": {"monthly_base": "1"}, "reason": None}
    hostile = [
        log.amend(pay_a, monthly_base="abc"),
        log.amend(hire_a, birth_year="x"),
        log.amend(hire_a, hire_date="1969-12-01"),
        log.amend(pay_b, monthly_base=float("inf")),  # what a stored 1e400 reads back as
        log.add("correction.amended.v1", "", {**named_hire, "target_event_id": pay_b}),
        log.add("correction.amended.v1", "", {"target_event_id": pay_b, "changes": ["not", "an", "object"]}),
    ]
    fine = log.amend(pay_b, monthly_base="7100")
    r = log.run("2024-01-31")
    assert sorted(r.anomalies()) == sorted(
        [(e, "correction_invalid") for e in hostile[:4]]
        + [(hostile[4], "correction_wrong_target_type"), (hostile[5], "correction_invalid")]
    )
    assert fine not in dict(r.anomalies())
    assert r.value("headcount_end", "2024-01-01") == 2
    assert min(row.period for row in r.result.rows) == date(2024, 1, 1)  # no period opened in 1969
    assert r.value("pay_median", "2024-01-01", cat="base") == approx(6050.0)  # 5000 and the amended 7100
    assert r.value("headcount_end", "2024-01-01", dim="age_band", sl="25-34") == 2  # birth year 1990 kept
    assert all(row.value is None or math.isfinite(row.value) for row in r.result.rows)


def test_a_later_valid_amendment_still_applies_after_a_skipped_one() -> None:
    log = Log()
    log.hire("a", "2024-01-01")
    pay = log.pay("a", "2024-01-01", "5000")
    skipped = log.amend(pay, weekly_hours="0")
    log.amend(pay, monthly_base="6000")
    r = log.run("2024-01-31")
    assert r.anomalies() == [(skipped, "correction_invalid")]
    assert r.value("pay_mean", "2024-01-01", cat="base") == approx(6000.0)  # one worker: no median (2k)


def test_a_plain_event_stored_by_hand_that_the_engine_cannot_read_is_an_anomaly() -> None:
    """Ingest refuses these; a row inserted into `events` by hand must not stop the engine either."""
    log = Log()
    log.hire("a", "2024-01-01")
    log.hire("b", "2024-01-01")
    bad_pay = log.pay("a", "2024-01-01", "abc")
    infinite_pay = log.pay("b", "2024-01-01", "Infinity")
    early_hire = log.hire("c", "1969-12-01")
    no_unit = log.add("staffing.hired.v1", "d", {"hire_date": "2024-01-02", "source_channel": "graduate"})
    long_training = log.train("a", "2024-01-10", hours="1e400")
    r = log.run("2024-01-31")
    assert sorted(r.anomalies()) == sorted(
        (e, "invalid_payload") for e in (bad_pay, infinite_pay, early_hire, no_unit, long_training)
    )
    assert r.value("headcount_end", "2024-01-01") == 2
    assert min(row.period for row in r.result.rows) == date(2024, 1, 1)
    assert all(row.value is None or math.isfinite(row.value) for row in r.result.rows)
