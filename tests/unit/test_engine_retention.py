"""Retention rate, stability index, cohort retention, tenures and half-life."""

from __future__ import annotations

from pytest import approx

from tests.unit.test_engine_support import Log


def test_retention_rate_first_day_to_last_day_same_spell() -> None:
    """March 2024: a, b, c employed on 1 Mar; b leaves 10 Mar; c leaves and is rehired 31 Mar (new spell);
    d hired 5 Mar is not in it. Retention = 1 (a) / 3 x 100 = 33.33."""
    log = Log()
    for w in ("a", "b", "c"):
        log.hire(w, "2024-01-01")
    log.separate("b", "2024-03-10")
    log.separate("c", "2024-03-31")
    log.hire("c", "2024-03-31")
    log.hire("d", "2024-03-05")
    r = log.run("2024-04-10")
    row = r.row("retention_rate", "2024-03-01")
    assert (row.numerator, row.denominator) == (1, 3)
    assert row.value == approx(100 / 3)


def test_retention_in_a_slice_needs_the_same_slice_on_both_days() -> None:
    """a moves S1 -> S2 in March: S1 retention 0/1, S2 has nobody on 1 Mar (NULL), D keeps a: 1/1."""
    log = Log()
    log.unit("D", level="district")
    log.unit("S1", "D")
    log.unit("S2", "D")
    log.hire("a", "2024-01-01", "S1")
    log.transfer("a", "2024-03-15", "S1", "S2")
    r = log.run("2024-04-10")
    assert r.value("retention_rate", "2024-03-01", dim="org", sl="S1") == 0
    assert r.value("retention_rate", "2024-03-01", dim="org", sl="S2") is None
    assert r.value("retention_rate", "2024-03-01", dim="org", sl="D") == approx(100.0)


def test_stability_index_on_29_february_looks_back_to_28_february() -> None:
    """D = 29 Feb 2024, D - 1 year = 28 Feb 2023. Employed then: a (hired 28 Feb 2023) and c.
    b (hired 1 Mar 2023) is not in the base; c separated and rehired on D is in a new spell.
    Stability = 1 / 2 x 100 = 50."""
    log = Log()
    log.hire("a", "2023-02-28")
    log.hire("b", "2023-03-01")
    log.hire("c", "2022-01-01")
    log.separate("c", "2024-02-29")
    log.hire("c", "2024-02-29")
    r = log.run("2024-03-10")
    row = r.row("stability_index", "2024-02-01")
    assert (row.numerator, row.denominator, row.value) == approx((1, 2, 50.0))
    assert row.workers == 2  # population: employed on D - 1 year


def test_cohort_retention_excludes_hires_too_young_for_a_mark() -> None:
    """Jan 2024 cohort, as_of 15 Mar 2024: a hired 10 Jan, b hired 31 Jan and separated 1 Mar (= h + 30).
    30 days: both eligible (9 Feb, 1 Mar <= as_of); b employed at the end of 1 Mar -> 2/2.
    90 days: nobody eligible -> denominator 0, NULL (and population 0 -> suppressed)."""
    log = Log()
    log.hire("a", "2024-01-10")
    log.hire("b", "2024-01-31")
    log.separate("b", "2024-03-01")
    r = log.run("2024-03-15")
    row = r.row("cohort_retention", "2024-01-01", kind="cohort", cat="30")
    assert (row.numerator, row.denominator, row.value) == approx((2, 2, 100.0))
    young = r.row("cohort_retention", "2024-01-01", kind="cohort", cat="90")
    assert young.workers == 0 and young.suppressed and young.value is None


def test_cohort_retention_counts_a_rehire_on_the_mark_day_as_gone() -> None:
    log = Log()
    log.hire("a", "2023-01-01")
    log.separate("a", "2023-01-31")  # h + 30
    log.hire("a", "2023-01-31")
    r = log.run("2024-06-30")
    assert r.value("cohort_retention", "2023-01-01", kind="cohort", cat="30") == 0


def test_cohort_half_life_is_first_day_half_or_fewer_remain() -> None:
    """Cohort Jan 2023 of 2: a stays, b leaves 10 Jan (9 days after hire). remaining(9) = 2, remaining(10) = 1:
    2 x 1 <= 2 -> half-life 10 days."""
    log = Log()
    log.hire("a", "2023-01-01")
    log.hire("b", "2023-01-01")
    log.separate("b", "2023-01-10")
    r = log.run("2023-03-01")
    assert r.value("cohort_half_life", "2023-01-01", kind="cohort") == 10
    # all stay -> never reached
    log2 = Log()
    log2.hire("a", "2023-01-01")
    assert log2.run("2023-03-01").value("cohort_half_life", "2023-01-01", kind="cohort") is None


def test_median_tenures() -> None:
    """31 Jan 2024: tenures a 31 (from 1 Jan), b 11 (from 21 Jan) -> median 21; leaver c: 1..10 Jan -> 10."""
    log = Log()
    log.hire("a", "2024-01-01")
    log.hire("b", "2024-01-21")
    log.hire("c", "2024-01-01")
    log.separate("c", "2024-01-10")
    r = log.run("2024-02-10")
    assert r.value("median_tenure_current", "2024-01-01") == 21
    assert r.value("median_tenure_leavers", "2024-01-01") == 10
