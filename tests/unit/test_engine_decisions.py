"""The engine on the conventions fixed in docs/contract.md "Decisions": hand-computed scenarios."""

from __future__ import annotations

from pytest import approx

from services.metrics.engine import ReferenceWage
from tests.unit.test_engine_support import Log


def test_same_day_rehire_separation_counts_in_the_spell_it_ends() -> None:
    """a: A/graduate from 1 Jan 2024, separated and rehired into B/other on 10 Mar 2024.

    March: the separation is A's and graduate's (leaver tenure 31 + 29 + 10 = 70 days), the hire B's and
    other's; so each unit's end headcount moves by its own flows (A: 1 - 1 = 0, B: 0 + 1 = 1).
    """
    log = Log()
    log.hire("a", "2024-01-01", "A", channel="graduate")
    log.separate("a", "2024-03-10")
    log.hire("a", "2024-03-10", "B", channel="other")
    r = log.run("2024-05-31")
    march = "2024-03-01"
    assert r.value("separations", march, dim="org", sl="A") == 1
    assert r.value("separations", march, dim="org", sl="B") == 0
    assert r.value("hires", march, dim="org", sl="B") == 1
    assert r.value("separations", march, dim="source_channel", sl="graduate") == 1
    assert r.value("hires", march, dim="source_channel", sl="other") == 1
    assert r.value("median_tenure_leavers", march, dim="org", sl="A") == 70
    assert r.value("headcount_end", march, dim="org", sl="A") == 0
    assert r.value("headcount_end", march, dim="org", sl="B") == 1


def test_same_day_rehire_on_the_first_of_a_month_leaves_no_population_zero_cell() -> None:
    """b: A from 15 Jan 2024, separated and rehired into B on 1 Apr: April's separation is A's, but nobody was
    employed in A in April (1 Apr is B's), so A has no April row (v5: no row for an empty population), and does
    not hide B's cell beside it (it did, as an empty suppressed sibling, even at k = 1)."""
    log = Log()
    log.hire("b", "2024-01-15", "A")
    log.separate("b", "2024-04-01")
    log.hire("b", "2024-04-01", "B")
    r = log.run("2024-05-31")
    assert not r.has("separations", "2024-04-01", dim="org", sl="A")
    assert not r.row("separations", "2024-04-01", dim="org", sl="B").suppressed
    assert r.value("separations", "2024-04-01") == 1


def test_year_figures_include_end_headcount_tenure_and_training() -> None:
    """2023: a hired 1 Mar (8 training hours on 10 May), b hired 1 Jun and separated 30 Sep."""
    log = Log()
    log.hire("a", "2023-03-01")
    log.train("a", "2023-05-10", hours="8")
    log.hire("b", "2023-06-01")
    log.separate("b", "2023-09-30")
    r = log.run("2024-01-31")
    y = {"kind": "year"}
    assert r.value("headcount_end", "2023-01-01", **y) == 1
    assert r.value("net_change", "2023-01-01", **y) == 1
    assert r.value("replacement_ratio", "2023-01-01", **y) == 2
    assert r.value("median_tenure_current", "2023-01-01", **y) == 306  # 1 Mar .. 31 Dec
    assert r.value("median_tenure_leavers", "2023-01-01", **y) == 122  # 1 Jun .. 30 Sep
    assert r.value("trainee_times", "2023-01-01", **y) == 1
    assert r.value("trainees", "2023-01-01", **y) == 1
    assert r.value("training_hours", "2023-01-01", kind="year", cat="all") == 8
    assert r.value("share_trained", "2023-01-01", **y) == 50
    # year headcount: (306 days of a + 122 days of b) spread over the 12 monthly averages / 12
    avg = r.value("headcount_avg", "2023-01-01", **y)
    assert avg is not None
    assert r.value("training_hours_per_worker", "2023-01-01", **y) == approx(8 / avg)
    assert not r.has("stability_index", "2023-01-01", kind="year")
    assert not r.has("pay_mean", "2023-01-01", kind="year", cat="total")


def test_pay_gap_population_is_men_and_women_and_either_group_below_k_suppresses() -> None:
    """3 men, 1 woman, 1 undisclosed, all paid on 30 Jun: population 4; k = 2 hides it (1 woman)."""
    log = Log()
    for w, gender in (("m1", "male"), ("m2", "male"), ("m3", "male"), ("f1", "female"), ("u1", "undisclosed")):
        log.hire(w, "2023-06-01", gender=gender)
        log.pay(w, "2023-06-01", "5000")
    shown = log.run("2023-06-30", k=1).row("pay_gap_mean", "2023-06-01")
    assert shown.workers == 4 and not shown.suppressed and shown.value == 0
    hidden = log.run("2023-06-30", k=2).row("pay_gap_mean", "2023-06-01")
    assert hidden.suppressed and hidden.reason == "primary" and hidden.workers == 0  # population not published


def test_stability_row_for_a_slice_emptied_since_a_year_ago_and_no_empty_pay_growth() -> None:
    """a in A until 30 Jun 2023; b and c in B throughout. Jan 2024: A's index is 0 / 1 although A is empty now."""
    log = Log()
    log.hire("a", "2022-12-01", "A")
    log.separate("a", "2023-06-30")
    for worker in ("b", "c"):  # pay growth is a median: 2k workers
        log.hire(worker, "2022-12-01", "B")
        log.pay(worker, "2022-12-01", "5000")
    r = log.run("2024-01-31")
    row = r.row("stability_index", "2024-01-01", dim="org", sl="A")
    assert (row.value, row.numerator, row.denominator, row.workers) == (0, 0, 1, 1)
    assert not r.has("headcount_avg", "2024-01-01", dim="org", sl="A")
    assert not r.has("pay_growth", "2023-06-01")  # nobody paid on 30 Jun 2022
    assert r.value("pay_growth", "2023-12-01") == 0  # b and c paid 5000 on 31 Dec 2022 and 2023


def test_a_later_reference_wage_of_the_same_region_and_year_wins() -> None:
    log = Log()
    for worker in ("a", "b"):  # the median of 2k workers
        log.hire(worker, "2023-01-01")
        log.pay(worker, "2023-01-01", "5000")
    refs = (ReferenceWage("all", 2023, 30000.0, "first"), ReferenceWage("all", 2023, 60000.0, "reloaded"))
    r = log.run("2024-01-31", refs=refs)
    assert r.value("pay_vs_reference", "2023-01-01", kind="year") == 1.0
