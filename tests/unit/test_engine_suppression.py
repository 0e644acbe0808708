"""Suppression: primary k, secondary by sibling (rounds), month-in-year for flow counts, rates follow counts."""

from __future__ import annotations

from datetime import date

from services.metrics.engine import ReferenceWage, compute
from services.metrics.engine.cells import Cells
from services.metrics.engine.compute import kept
from services.metrics.engine.model import IndicatorRow
from services.metrics.engine.orgs import build_org_tree
from services.metrics.engine.slices import ALL
from services.metrics.engine.suppression import suppress
from tests.unit.test_engine_support import Log


def test_primary_hides_value_and_population_and_says_why() -> None:
    """k = 2: a unit with one worker is suppressed: no value, no population (workers 0), reason primary; the all
    cell (2 workers) is shown with reason ''."""
    log = Log()
    log.unit("U1")
    log.unit("U2")
    log.hire("a", "2024-01-01", "U1")
    log.hire("b", "2024-01-01", "U2")
    r = log.run("2024-01-31", k=2)
    row = r.row("headcount_avg", "2024-01-01", dim="org", sl="U1")
    assert row.suppressed and row.reason == "primary"
    assert (row.value, row.numerator, row.denominator, row.workers) == (None, None, None, 0)
    shown = r.row("headcount_avg", "2024-01-01")
    assert not shown.suppressed and shown.reason == "" and shown.workers == 2


def test_secondary_hides_the_smallest_sibling_ties_by_slice() -> None:
    """k = 2, roots U1 (1 worker), U2 (3), U3 (3) under all: U1 primary; then U2 (tie with U3, 'U2' < 'U3')."""
    log = Log()
    for unit in ("U1", "U2", "U3"):
        log.unit(unit)
    log.hire("a1", "2024-01-01", "U1")
    for i in range(3):
        log.hire(f"b{i}", "2024-01-01", "U2")
        log.hire(f"c{i}", "2024-01-01", "U3")
    r = log.run("2024-01-31", k=2)
    flags = {u: r.row("headcount_avg", "2024-01-01", dim="org", sl=u).suppressed for u in ("U1", "U2", "U3")}
    assert flags == {"U1": True, "U2": True, "U3": False}


def test_child_units_nest_under_their_parent_unit() -> None:
    """k = 2, D has S1 (1 worker) and S2 (2): S1 primary, S2 secondary; D (3) stays published."""
    log = Log()
    log.unit("D", level="district")
    log.unit("S1", "D")
    log.unit("S2", "D")
    log.hire("a", "2024-01-01", "S1")
    log.hire("b", "2024-01-01", "S2")
    log.hire("c", "2024-01-01", "S2")
    r = log.run("2024-01-31", k=2)
    assert r.row("hires", "2024-01-01", dim="org", sl="S2").suppressed
    assert not r.row("hires", "2024-01-01", dim="org", sl="D").suppressed


def test_month_in_year_rule_needs_a_second_round() -> None:
    """k = 2. 2023: m1 (male) and f1, f2 (female) hired 10 Jan; m2 (male) hired 10 Feb.

    Round 1: Jan male hires (1 worker) primary -> Jan female hires hidden (sibling rule); in the male year
      cell's months only Jan is suppressed -> male Feb hidden (smallest month, ties by month). At once after
      the round (linked): the rates on those hidden counts, male Feb hires_rate among them.
    Round 2 (judged on the flags after round 1 and its linked cells): the female year cell now has exactly one
      hidden month (Jan) -> Feb female hires hidden; and in Feb's hires_rate across gender the male cell is
      hidden (linked) -> the female one (population 2 >= k) is hidden as secondary, in the same round.
    Round 3: nothing changes. Non-flow indicators (headcount_avg) are not touched by the month rule.
    """
    log = Log()
    for w, gender in (("m1", "male"), ("f1", "female"), ("f2", "female")):
        log.hire(w, "2023-01-10", gender=gender)
    log.hire("m2", "2023-02-10", gender="male")
    r = log.run("2024-01-15", k=2)

    def hidden(indicator: str, month: str, gender: str) -> bool:
        return r.row(indicator, month, dim="gender", sl=gender).suppressed

    def reason(indicator: str, month: str, gender: str) -> str:
        return r.row(indicator, month, dim="gender", sl=gender).reason

    assert reason("hires", "2023-01-01", "male") == "primary"
    assert reason("hires", "2023-01-01", "female") == "secondary"  # round 1, sibling
    assert reason("hires", "2023-02-01", "male") == "secondary"  # round 1, month in year
    assert reason("hires_rate", "2023-02-01", "male") == "linked"  # after round 1
    assert reason("hires", "2023-02-01", "female") == "secondary"  # round 2
    assert reason("hires_rate", "2023-02-01", "female") == "secondary"  # round 2, beside the linked male cell
    assert not hidden("hires", "2023-03-01", "female")
    assert not r.row("hires", "2023-01-01", kind="year", dim="gender", sl="female").suppressed
    assert r.row("hires_rate", "2023-02-01", dim="gender", sl="female").workers == 0  # not published
    assert not hidden("headcount_avg", "2023-02-01", "female")
    assert not hidden("hires_rate", "2023-03-01", "female")


def test_rate_is_suppressed_with_its_headcount_denominator() -> None:
    """k = 2, gender: one man, three women -> male headcount_avg primary, female secondary; separation_rate
    of both follows (its denominator cell is hidden)."""
    log = Log()
    log.hire("m", "2024-01-01", gender="male")
    for w in ("f1", "f2", "f3"):
        log.hire(w, "2024-01-01", gender="female")
    log.separate("f1", "2024-01-20")
    r = log.run("2024-01-31", k=2)
    assert r.row("headcount_avg", "2024-01-01", dim="gender", sl="female").suppressed
    assert r.row("separation_rate", "2024-01-01", dim="gender", sl="female").suppressed
    assert not r.row("separation_rate", "2024-01-01").suppressed


def _two_streets() -> Log:
    """D (district) has streets S1 and S2; second-tier T1 under S1 (a), T2 under S2 (b, c); X never registered (d)."""
    log = Log()
    log.unit("D", level="district")
    log.unit("S1", "D")
    log.unit("S2", "D")
    log.unit("T1", "S1", level="second_tier")
    log.unit("T2", "S2", level="second_tier")
    for worker, unit in (("a", "T1"), ("b", "T2"), ("c", "T2"), ("d", "X")):
        log.hire(worker, "2024-01-01", unit)
    return log


def test_unpublished_levels_get_no_cells_but_their_workers_count_above() -> None:
    r = _two_streets().run("2024-01-31", levels=frozenset({"district", "street"}))
    org = {row.slice: row.value for row in r.result.rows if row.indicator == "hires" and row.dimension == "org"}
    assert org == {"D": 3.0, "S1": 1.0, "S2": 2.0, "X": 1.0}  # X: level unknown, keeps its slice


def test_suppression_parent_skips_an_unpublished_level() -> None:
    """k = 2, streets not published: T1 (1 worker) and T2 (2) are siblings under D; T1 primary, T2 secondary.

    With every level published T2 stays shown: its parent S2 is hidden (beside S1), so its group cannot act.
    """
    r = _two_streets().run("2024-01-31", k=2, levels=frozenset({"district", "second_tier"}))
    assert ("hires", "month", date(2024, 1, 1), "org", "S1", "") not in r.rows
    assert r.row("hires", "2024-01-01", dim="org", sl="T1").suppressed
    assert r.row("hires", "2024-01-01", dim="org", sl="T2").suppressed
    every = _two_streets().run("2024-01-31", k=2)
    assert not every.row("hires", "2024-01-01", dim="org", sl="T2").suppressed


# --- METRICS v5 -------------------------------------------------------------------------------------------------

PAY_FIGURES = ("pay_p10", "pay_p25", "pay_median", "pay_p75", "pay_p90")


def _paid(log: Log, pays: list[str], unit: str = "U", genders: str = "") -> None:
    """Workers w0, w1, ... hired on 1 Jan 2024 in ``unit`` at these monthly base pays (allowances 100)."""
    for n, amount in enumerate(pays):
        gender = {"m": "male", "f": "female"}.get(genders[n:n + 1], "female")  # fmt: skip
        log.hire(f"{unit}w{n}", "2024-01-01", unit, gender=gender)
        log.pay(f"{unit}w{n}", "2024-01-01", amount, "100")


def test_a_district_of_five_workers_publishes_its_mean_pay_but_no_percentile_at_k5() -> None:
    """Pays 5000, 6100, 7300, 8800, 23456: at k = 5 the six figures would give all five pays (p25 = the second,
    median the third...). v5: the mean from k, the median and quartiles from 2k, p10 and p90 from 4k."""
    log = Log()
    log.unit("D", level="district")
    _paid(log, ["5000", "6100", "7300", "8800", "23456"], "D")
    r = log.run("2024-01-31", k=5)
    for comp in ("total", "base", "allowances"):
        assert r.value("pay_mean", "2024-01-01", dim="org", sl="D", cat=comp) is not None
        for name in PAY_FIGURES:
            row = r.row(name, "2024-01-01", dim="org", sl="D", cat=comp)
            assert row.suppressed and row.reason == "primary" and row.value is None, (name, comp)


def test_pay_percentiles_need_2k_and_p10_p90_4k_workers() -> None:
    """k = 2: four workers publish the median and quartiles, not p10/p90; eight publish all five."""
    four, eight = Log(), Log()
    _paid(four, ["1000", "2000", "3000", "4000"])
    _paid(eight, [str(1000 * n) for n in range(1, 9)])
    shown = {
        name: not four.run("2024-01-31", k=2).row(name, "2024-01-01", cat="total").suppressed for name in PAY_FIGURES
    }
    assert shown == {"pay_p10": False, "pay_p25": True, "pay_median": True, "pay_p75": True, "pay_p90": False}
    r = eight.run("2024-01-31", k=2)
    assert not any(r.row(name, "2024-01-01", cat="base").suppressed for name in PAY_FIGURES)


def test_the_median_pay_gap_needs_2k_men_and_2k_women_the_mean_gap_k() -> None:
    """k = 2, two men and two women: the mean gap is published, the median gap is not (each group 2 < 2k)."""
    log = Log()
    _paid(log, ["1000", "2000", "3000", "4000"], genders="mmff")
    r = log.run("2024-01-31", k=2)
    assert not r.row("pay_gap_mean", "2024-01-01").suppressed
    assert r.row("pay_gap_median", "2024-01-01").reason == "primary"


def test_pay_growth_and_pay_vs_reference_are_medians_needing_2k() -> None:
    log = Log()
    for n in range(3):
        log.hire(f"w{n}", "2023-01-01")
        log.pay(f"w{n}", "2023-01-01", "5000")
    refs = (ReferenceWage("all", 2023, 60000.0, "NBS"),)
    assert log.run("2024-01-31", k=2, refs=refs).row("pay_vs_reference", "2023-01-01", kind="year").reason == "primary"
    assert log.run("2024-01-31", k=2).row("pay_growth", "2024-01-01").reason == "primary"
    shown = log.run("2024-01-31", k=1, refs=refs)  # 3 >= 2k = 2
    assert shown.value("pay_vs_reference", "2023-01-01", kind="year") == 1.0
    assert shown.value("pay_growth", "2024-01-01") == 0


def test_band_shares_take_the_workers_ranked_as_population_and_each_band_as_a_compared_group() -> None:
    """k = 2, seven workers paid: population 7; bands hold ranks 1, 2-3, 4-5, 6-7 -> q1 (1 worker) is hidden."""
    log = Log()
    _paid(log, [str(1000 * n) for n in range(1, 8)])
    r = log.run("2024-01-31", k=2)
    q1 = r.row("pay_quartile_female_share", "2024-01-01", cat="q1")
    q2 = r.row("pay_quartile_female_share", "2024-01-01", cat="q2")
    assert q1.reason == "primary" and (q2.workers, q2.denominator, q2.value) == (7, 2.0, 100.0)


def test_no_pay_gap_or_band_share_within_a_gender_slice() -> None:
    log = Log()
    _paid(log, ["1000", "2000", "3000", "4000"], genders="mmff")
    r = log.run("2024-01-31")
    assert r.has("pay_gap_mean", "2024-01-01") and r.has(
        "pay_median", "2024-01-01", dim="gender", sl="male", cat="total"
    )
    for name in ("pay_gap_mean", "pay_gap_median"):
        assert not r.has(name, "2024-01-01", dim="gender", sl="male")
    for name in ("pay_quartile_female_share", "pay_quartile_male_share"):
        assert not r.has(name, "2024-01-01", dim="gender", sl="female", cat="q1")


def test_an_empty_slice_gets_no_row_and_hides_no_sibling_even_at_k1() -> None:
    """U1 has a worker until 31 Jan; U2 one worker throughout. February: U1's population is empty -> no row (it
    used to be a suppressed row with population 0, and hid U2's cell as its only published sibling). The program
    row exists even when empty: nobody in March -> suppressed, population 0 < k."""
    log = Log()
    for unit in ("U1", "U2"):
        log.unit(unit)
    log.hire("a", "2024-01-01", "U1")
    log.separate("a", "2024-01-31")
    log.hire("b", "2024-01-01", "U2")
    log.separate("b", "2024-02-29")
    r = log.run("2024-03-31", k=1)
    assert not r.has("headcount_avg", "2024-02-01", dim="org", sl="U1")
    assert not r.row("headcount_avg", "2024-02-01", dim="org", sl="U2").suppressed
    march = r.row("headcount_avg", "2024-03-01")
    assert march.suppressed and march.reason == "primary"
    assert not r.has("pay_mean", "2024-02-01", cat="total", dim="org", sl="U2")  # nobody paid


def test_a_cohort_row_whose_denominator_is_a_hidden_hires_count_is_linked() -> None:
    """k = 2 (METRICS v5 example): women F1, F2 hired on 1 and 2 March 2021, man M1 in February, one unit.
    March's hires by gender: men (population 1) primary, women (2) secondary. The women's March cohort has 2
    eligible hires at every mark: its retention, half-life and on-time rows would give the hidden count 2."""
    log = Log()
    log.hire("M1", "2021-02-10", gender="male")
    log.hire("F1", "2021-03-01", gender="female")
    log.hire("F2", "2021-03-02", gender="female")
    r = log.run("2024-01-31", k=2)
    hires = r.row("hires", "2021-03-01", dim="gender", sl="female")
    assert hires.reason == "secondary"
    for mark in ("30", "90", "180", "365", "730"):
        row = r.row("cohort_retention", "2021-03-01", kind="cohort", dim="gender", sl="female", cat=mark)
        assert row.suppressed and row.reason == "linked", mark
    for name in ("cohort_half_life", "initial_training_on_time"):
        assert r.row(name, "2021-03-01", kind="cohort", dim="gender", sl="female").reason == "linked"


def test_a_cohort_row_smaller_than_its_hidden_hires_is_not_linked() -> None:
    """k = 2: women F0..F2 hired on 1-3 March, F9 on 30 March; as of 20 April F9 is not eligible at 30 days, so
    the women's 30-day row (3 eligible) does not equal their hidden March hires (4) and stays published."""
    log = Log()
    log.hire("M1", "2021-02-10", gender="male")
    for n in range(3):
        log.hire(f"F{n}", f"2021-03-0{n + 1}", gender="female")
    log.hire("F9", "2021-03-30", gender="female")
    r = log.run("2021-04-20", k=2)
    assert r.row("hires", "2021-03-01", dim="gender", sl="female").reason == "secondary"  # 4 women, 1 man
    thirty = r.row("cohort_retention", "2021-03-01", kind="cohort", dim="gender", sl="female", cat="30")
    assert not thirty.suppressed and thirty.denominator == 3  # F9 not yet eligible: 3 != 4 hidden hires


def test_a_stability_index_whose_denominator_is_a_hidden_year_ago_headcount_is_linked() -> None:
    """k = 2. On 31 Jan 2023: one man, four women, three undisclosed (a fourth left on 15 Jan 2023). January 2023
    headcount_end by gender: men primary; women and undisclosed both have population 4, the women's 4 hidden in
    round 1 (slice order). January 2024 stability by gender: men primary; round 1 hides the smallest published
    sibling (undisclosed, 3 on D - 1 year); after it the women's index, whose denominator is that hidden 4, is
    linked. Before v5 it was published, and gave the hidden headcount away."""
    log = Log()
    log.hire("m", "2022-12-01", gender="male")
    for n in range(4):
        log.hire(f"f{n}", "2022-12-01", gender="female")
        log.hire(f"u{n}", "2022-12-01", gender="undisclosed")
    log.separate("u3", "2023-01-15")
    r = log.run("2024-01-31", k=2)
    assert r.row("headcount_end", "2023-01-01", dim="gender", sl="female").reason == "secondary"
    women = r.row("stability_index", "2024-01-01", dim="gender", sl="female")
    assert women.suppressed and women.reason == "linked"
    assert r.row("stability_index", "2024-01-01", dim="gender", sl="undisclosed").reason == "secondary"
    # the same from 2024 on (an incremental refresh): the year before's headcount cells are read, not published
    part = compute(log.events, as_of=date(2024, 1, 31), k=2, since=date(2024, 1, 1)).rows
    assert {row.period.year for row in part} == {2024}
    assert sorted(part) == sorted(row for row in r.result.rows if row.period.year >= 2024)


def _paid_by_gender(women_paid: int, undisclosed_paid: int) -> Log:
    """One man, four women and five undisclosed workers hired on 1 January 2023 (one undisclosed leaves on the
    15th); the man, the first ``women_paid`` women and ``undisclosed_paid`` of the four undisclosed still employed
    are paid."""
    log = Log()
    log.hire("m", "2023-01-01", gender="male")
    log.pay("m", "2023-01-01", "6000")
    for n in range(5):
        if n < 4:
            log.hire(f"f{n}", "2023-01-01", gender="female")
            if n < women_paid:
                log.pay(f"f{n}", "2023-01-01", str(5000 + 100 * n))
        log.hire(f"u{n}", "2023-01-01", gender="undisclosed")
        if n < undisclosed_paid:
            log.pay(f"u{n}", "2023-01-01", str(5000 + 100 * n))
    log.separate("u4", "2023-01-15")
    return log


def test_a_pay_figure_whose_paid_workers_equal_a_hidden_period_end_headcount_is_linked() -> None:
    """k = 2. January 2023's headcount_end by gender: the man's primary; the women's (population 4) hidden before
    the undisclosed workers' (population 5). Pay by gender: the man's primary; the undisclosed workers' (3 paid)
    hidden before the women's (4 paid). The women's pay figures then show 4 paid workers, their hidden headcount:
    they are linked. With 3 of the 4 women paid, their pay says only "at least 3" and is published."""
    r = _paid_by_gender(women_paid=4, undisclosed_paid=3).run("2023-01-31", k=2)
    assert r.row("headcount_end", "2023-01-01", dim="gender", sl="female").reason == "secondary"
    assert r.row("pay_mean", "2023-01-01", dim="gender", sl="undisclosed", cat="total").reason == "secondary"
    for name in ("pay_mean", "pay_median"):
        for comp in ("total", "base", "allowances"):
            women = r.row(name, "2023-01-01", dim="gender", sl="female", cat=comp)
            assert women.suppressed and women.reason == "linked", (name, comp)
    r = _paid_by_gender(women_paid=3, undisclosed_paid=2).run("2023-01-31", k=2)
    assert r.row("headcount_end", "2023-01-01", dim="gender", sl="female").suppressed
    women = r.row("pay_mean", "2023-01-01", dim="gender", sl="female", cat="total")
    assert not women.suppressed and women.workers == 3


def _undisclosed_hire_in_january() -> Log:
    """Three men, three women employed from December 2022 on; u1, u2 (undisclosed) from December 2022 to 31
    December 2023; u3 (undisclosed) hired on 10 January 2024, the only undisclosed worker of that month."""
    log = Log()
    for n in range(3):
        log.hire(f"m{n}", "2022-12-01", gender="male")
        log.hire(f"f{n}", "2022-12-01", gender="female")
    for w in ("u1", "u2"):
        log.hire(w, "2022-12-01", gender="undisclosed")
        log.separate(w, "2023-12-31")
    log.hire("u3", "2024-01-10", gender="undisclosed")
    return log


def test_a_window_over_a_hidden_month_is_hidden_by_the_rules() -> None:
    """k = 2 (issue 12, route rule). January 2024's undisclosed hires (1, population 1) are primary-hidden; the
    windows ending December 2023 (hires 0) and January 2024 (hires 1, population 3) differ by exactly January 2024
    minus January 2023 (published: 0), so the window ending January 2024 would give the hidden hire away: it is
    hidden (secondary), for every rolling rate (their average headcount's January is hidden too), without the
    audit; the window ending December 2023, over published months only, stays."""
    r = _undisclosed_hire_in_january().run("2024-01-31", k=2)
    assert r.row("hires", "2024-01-01", dim="gender", sl="undisclosed").reason == "primary"
    assert not r.row("hires", "2023-01-01", dim="gender", sl="undisclosed").suppressed
    before = r.row("hires_rate", "2023-12-01", kind="rolling12", dim="gender", sl="undisclosed")
    assert not before.suppressed and before.numerator == 0
    for rate in ("hires_rate", "separation_rate", "voluntary_rate", "involuntary_rate", "promotion_rate"):
        window = r.row(rate, "2024-01-01", kind="rolling12", dim="gender", sl="undisclosed")
        assert window.suppressed and window.reason == "secondary", rate
        assert r.result.audit is None


def test_windows_after_since_read_the_flags_of_the_year_before() -> None:
    """k = 2. The male February 2023 hires are hidden by the month-in-year rule (January's are primary): the window
    ending January 2024 (February 2023 - January 2024) is hidden by the route rule, that ending February 2024 is
    not. An incremental refresh from January or February 2024 gives exactly the full computation's windows: it
    reads the 2023 flags, the year cell the month-in-year rule needs included."""
    log = Log()
    for w, gender in (("m1", "male"), ("f1", "female"), ("f2", "female")):
        log.hire(w, "2023-01-10", gender=gender)
    log.hire("m2", "2023-02-10", gender="male")
    as_of = date(2024, 2, 29)
    full = compute(log.events, as_of=as_of, k=2).rows
    r = log.run(as_of.isoformat(), k=2)
    assert r.row("hires", "2023-02-01", dim="gender", sl="male").reason == "secondary"
    assert not r.row("headcount_avg", "2023-02-01", dim="gender", sl="male").suppressed
    assert r.row("hires_rate", "2024-01-01", kind="rolling12", dim="gender", sl="male").reason == "secondary"
    assert not r.row("hires_rate", "2024-02-01", kind="rolling12", dim="gender", sl="male").suppressed
    for since in (date(2024, 1, 1), date(2024, 2, 1)):
        part = compute(log.events, as_of=as_of, k=2, since=since).rows
        assert sorted(part) == sorted(row for row in full if kept(row.period_kind, row.period, since)), since


def _undisclosed_alone_in_december() -> Log:
    """Three men, and three undisclosed hired on 1 January 2023 of whom u1 leaves in June and u3 in November."""
    log = Log()
    for n in range(3):
        log.hire(f"m{n}", "2023-01-01", gender="male")
    for w in ("u1", "u2", "u3"):
        log.hire(w, "2023-01-01", gender="undisclosed")
    log.separate("u1", "2023-06-15")
    log.separate("u3", "2023-11-30")
    return log


def test_a_year_end_headcount_or_average_with_one_hidden_month_is_hidden() -> None:
    """k = 2: the undisclosed December 2023 (u2 alone) is primary-hidden, its period-end and average headcount
    among its cells. The year's period-end headcount (population 3) equals December's, and its average headcount
    minus the 11 published months gives December's: both hidden."""
    r = _undisclosed_alone_in_december().run("2023-12-31", k=2)

    def undisclosed(indicator: str, period: str, kind: str = "month") -> IndicatorRow:
        return r.row(indicator, period, kind=kind, dim="gender", sl="undisclosed")

    assert undisclosed("headcount_end", "2023-12-01").reason == "primary"
    assert [m for m in range(1, 13) if undisclosed("headcount_avg", f"2023-{m:02d}-01").suppressed] == [12]
    for indicator in ("headcount_end", "headcount_avg"):
        year = undisclosed(indicator, "2023-01-01", kind="year")
        assert year.suppressed and year.reason == "secondary", indicator


def _year_of_training(hidden: tuple[int, ...]) -> Cells:
    cells = Cells(5)
    for month in range(1, 13):
        workers = 2 if month in hidden else 9
        cells.value("training_hours", "month", date(2024, month, 1), ("all", "all"), 8.0 * month, workers)
    cells.value("training_hours", "year", date(2024, 1, 1), ("all", "all"), 624.0, 9)
    return cells


def test_a_year_with_exactly_one_hidden_month_is_hidden_with_two_it_stays() -> None:
    """The year minus its published months is the hidden month when there is one; with two, only their sum."""
    one = _year_of_training((3,))
    suppress(one, build_org_tree([]))
    assert one.families[("training_hours", "year", date(2024, 1, 1), "")][ALL].reason == "secondary"
    two = _year_of_training((3, 7))
    suppress(two, build_org_tree([]))
    assert not two.families[("training_hours", "year", date(2024, 1, 1), "")][ALL].suppressed
