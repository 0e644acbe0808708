"""Headcount, flows and turnover rates: hand-computed scenarios."""

from __future__ import annotations

from pytest import approx

from tests.unit.test_engine_support import Log


def test_avg_headcount_is_sum_of_daily_headcounts_over_days() -> None:
    """avg headcount Jan 2024: (31 days x 2 workers + 10 days x 1) / 31 = 2.3226."""
    log = Log()
    log.hire("a", "2024-01-01")
    log.hire("b", "2023-12-01")
    log.hire("c", "2024-01-22")  # 22..31 = 10 days
    r = log.run("2024-03-15")
    assert r.value("headcount_avg", "2024-01-01") == approx((31 * 2 + 10) / 31)
    assert r.value("headcount_avg", "2024-01-01") == approx(2.3226, abs=1e-4)
    assert r.value("headcount_end", "2024-01-01") == 3
    assert r.value("hires", "2024-01-01") == 2
    # the as-of month is to date: 1..15 March, 3 workers every day -> 45 / 15
    assert r.value("headcount_avg", "2024-03-01") == approx(3.0)
    assert r.row("headcount_avg", "2024-01-01").workers == 3


def test_hire_and_separation_on_the_same_day_count_one_day() -> None:
    """Feb 2024 (29 days): one worker for one day -> 1 / 29; hires 1, separations 1, end 0."""
    log = Log()
    log.hire("a", "2024-02-10")
    log.separate("a", "2024-02-10")
    r = log.run("2024-03-15")
    assert r.value("headcount_avg", "2024-02-01") == approx(1 / 29)
    assert r.value("hires", "2024-02-01") == 1
    assert r.value("separations", "2024-02-01") == 1
    assert r.value("headcount_end", "2024-02-01") == 0
    # separation rate = 1 / (1/29) x 100 = 2900
    assert r.value("separation_rate", "2024-02-01") == approx(2900.0)


def test_separation_on_last_day_counts_that_day() -> None:
    """Separated 31 Jan: employed on 31 Jan (end = 1, avg = 31/31), gone in February."""
    log = Log()
    log.hire("a", "2023-12-01")
    log.separate("a", "2024-01-31", kind="involuntary", reason="dismissal")
    r = log.run("2024-03-15")
    assert r.value("headcount_end", "2024-01-01") == 1
    assert r.value("headcount_avg", "2024-01-01") == approx(1.0)
    # nobody employed in February: population 0 < k, so even the all cell is suppressed (never shown as 0)
    assert r.row("headcount_avg", "2024-02-01").suppressed
    assert r.row("headcount_avg", "2024-02-01").workers == 0
    assert r.value("separations_involuntary", "2024-01-01") == 1
    assert r.value("separations_voluntary", "2024-01-01") == 0
    assert r.value("separations_by_reason", "2024-01-01", cat="dismissal") == 1
    assert r.value("separations_by_reason", "2024-01-01", cat="pay") == 0
    # involuntary rate = 1 / 1 x 100
    assert r.value("involuntary_rate", "2024-01-01") == approx(100.0)


def test_rehire_on_separation_day_starts_a_new_spell_counted_once() -> None:
    """Separated and rehired 15 Jan: headcount 1 every day (31/31); hires 2 (Jan 1 and 15), separations 1.

    Tenure at 31 Jan counts from the new spell: 31 - 15 + 1 = 17 days; leaver tenure 15 - 1 + 1 = 15.
    """
    log = Log()
    log.hire("a", "2024-01-01")
    log.separate("a", "2024-01-15")
    log.hire("a", "2024-01-15", channel="purchased_service")
    r = log.run("2024-02-20")
    assert r.value("headcount_avg", "2024-01-01") == approx(1.0)
    assert r.value("hires", "2024-01-01") == 2
    assert r.value("separations", "2024-01-01") == 1
    assert r.value("net_change", "2024-01-01") == 1
    assert r.value("replacement_ratio", "2024-01-01") == approx(2.0)
    assert r.value("median_tenure_current", "2024-01-01") == 17
    assert r.value("median_tenure_leavers", "2024-01-01") == 15
    # the 15th belongs to the new spell's channel: graduate 14 days, purchased_service 17 days
    assert r.value("headcount_avg", "2024-01-01", dim="source_channel", sl="graduate") == approx(14 / 31)
    assert r.value("headcount_avg", "2024-01-01", dim="source_channel", sl="purchased_service") == approx(17 / 31)
    assert r.anomalies() == []


def test_transfer_moves_unit_level_counts_and_is_not_a_program_flow() -> None:
    """S1 -> S2 on 11 Jan (both under D): S1 avg 10/31, S2 21/31, D 31/31; transfers out S1, in S2, none at D."""
    log = Log()
    log.unit("D", level="district")
    log.unit("S1", "D", model="park")
    log.unit("S2", "D", model="building")
    log.hire("a", "2024-01-01", "S1")
    log.transfer("a", "2024-01-11", "S1", "S2")
    r = log.run("2024-02-20")
    assert r.value("headcount_avg", "2024-01-01", dim="org", sl="S1") == approx(10 / 31)
    assert r.value("headcount_avg", "2024-01-01", dim="org", sl="S2") == approx(21 / 31)
    assert r.value("headcount_avg", "2024-01-01", dim="org", sl="D") == approx(1.0)
    assert r.value("headcount_avg", "2024-01-01", dim="service_model", sl="park") == approx(10 / 31)
    assert r.value("transfers_out", "2024-01-01", dim="org", sl="S1") == 1
    assert r.value("transfers_in", "2024-01-01", dim="org", sl="S2") == 1
    assert r.value("transfers_in", "2024-01-01", dim="org", sl="D") == 0
    assert r.value("transfers_out", "2024-01-01", dim="org", sl="D") == 0
    assert not r.has("transfers_in", "2024-01-01")
    assert r.value("separations", "2024-01-01", dim="org", sl="S1") == 0
    assert r.value("hires", "2024-01-01", dim="org", sl="S2") == 0
    assert r.value("hires", "2024-01-01", dim="org", sl="S1") == 1


def test_year_and_rolling_rates_are_jolts_annual() -> None:
    """2023: one worker all year, a second hired 1 Jul and separated 31 Dec.

    Year headcount_avg = sum of monthly averages / 12 = (12 x 1 + 6 x 1) / 12 = 1.5; separation rate =
    1 / 1.5 x 100 = 66.67; rolling12 ending Dec 2023 is the same window.
    """
    log = Log()
    log.hire("a", "2023-01-01")
    log.hire("b", "2023-07-01")
    log.separate("b", "2023-12-31")
    r = log.run("2024-01-10")
    assert r.value("headcount_avg", "2023-01-01", kind="year") == approx(1.5)
    assert r.value("separations", "2023-01-01", kind="year") == 1
    assert r.value("hires", "2023-01-01", kind="year") == 2
    assert r.value("separation_rate", "2023-01-01", kind="year") == approx(100 / 1.5)
    assert r.value("hires_rate", "2023-01-01", kind="year") == approx(200 / 1.5)
    assert r.value("separation_rate", "2023-12-01", kind="rolling12") == approx(100 / 1.5)
    # v5: the voluntary, involuntary and hires rates have rolling-12 rows too (b's separation is voluntary)
    assert r.value("voluntary_rate", "2023-12-01", kind="rolling12") == approx(100 / 1.5)
    assert r.value("involuntary_rate", "2023-12-01", kind="rolling12") == 0
    assert r.value("hires_rate", "2023-12-01", kind="rolling12") == approx(200 / 1.5)
    # a rolling window must start at or after the first month: none ends before Dec 2023
    assert not r.has("separation_rate", "2023-11-01", kind="rolling12")
    # 2024 is not complete on 10 Jan 2024
    assert not r.has("headcount_avg", "2024-01-01", kind="year")


def test_events_breaking_the_same_day_rules_are_anomalies() -> None:
    """Hire of an employed worker, separation of one not employed, transfer on the hire date or to the current unit."""
    log = Log()
    log.hire("a", "2024-01-01", "U")
    bad_transfer = log.transfer("a", "2024-01-01", "U", "V")
    bad_hire = log.hire("a", "2024-01-05", "U")
    same_unit = log.transfer("a", "2024-01-06", "U", "U")
    log.separate("a", "2024-01-10")
    bad_sep = log.separate("a", "2024-01-12")
    second = log.hire("b", "2024-01-03")
    twice = log.hire("b", "2024-01-03")
    r = log.run("2024-01-31")
    assert sorted(r.anomalies()) == [
        (bad_transfer, "transfer_on_hire_date"),
        (bad_hire, "hire_while_employed"),
        (same_unit, "transfer_to_current_unit"),
        (bad_sep, "separation_not_employed"),
        (twice, "second_hire_same_day"),
    ]
    assert second < twice
    assert r.value("hires", "2024-01-01") == 2
    assert r.value("separations", "2024-01-01") == 1
