"""Career progression (issue 16; METRICS.md v5 "Career progression", contract section 4 "Career"): hand-computed."""

from __future__ import annotations

from datetime import date

from pytest import approx

from services.metrics.engine.cells import Cells
from services.metrics.engine.orgs import build_org_tree
from services.metrics.engine.suppression import suppress
from tests.unit.test_engine_support import Log


def _moves_log() -> tuple[Log, dict[str, str]]:
    """a, b hired 1 Jan 2023 at levels 1 and 2; c 1 Jun 2023 with no level; d 5 Mar 2024 at 1; e left 10 Feb 2024.
    March 2024: a 1 -> 2 on the 10th (promotion; a second change that day is refused), b 2 -> 1 on the 15th
    (demotion, title x), c unknown -> 2 on the 20th (lateral: no level known before), d on its hire date (refused),
    e after leaving (refused). April: b 1 'x' again (unchanged, refused); a 2 with a title (lateral)."""
    log = Log()
    log.hire("a", "2023-01-01", level=1)
    log.hire("b", "2023-01-01", level=2)
    log.hire("c", "2023-06-01", channel="purchased_service")
    log.hire("e", "2023-01-01", level=1)
    log.separate("e", "2024-02-10")
    ids = {
        "a_up": log.grade("a", "2024-03-10", 2),
        "a_again": log.grade("a", "2024-03-10", 3),
        "b_down": log.grade("b", "2024-03-15", 1, "x"),
        "c_first": log.grade("c", "2024-03-20", 2),
        "d_hire_day": "",
        "e_gone": log.grade("e", "2024-03-01", 2),
        "b_same": log.grade("b", "2024-04-01", 1, "x"),
        "a_title": log.grade("a", "2024-04-05", 2, "组长"),
    }
    log.hire("d", "2024-03-05", level=1)
    ids["d_hire_day"] = log.grade("d", "2024-03-05", 2)
    return log, ids


def test_promotions_demotions_lateral_and_the_refused_changes() -> None:
    log, ids = _moves_log()
    r = log.run("2025-01-31")
    assert sorted(r.anomalies()) == sorted(
        [
            (ids["a_again"], "second_grade_change_same_day"),
            (ids["b_same"], "grade_unchanged"),
            (ids["d_hire_day"], "grade_change_on_hire_date"),
            (ids["e_gone"], "grade_change_not_employed"),
        ]
    )
    march, april = "2024-03-01", "2024-04-01"
    assert [r.value(name, march) for name in ("promotions", "demotions", "regrades_lateral")] == [1, 1, 1]
    assert [r.value(name, april) for name in ("promotions", "demotions", "regrades_lateral")] == [0, 0, 1]
    # c's lateral regrade counts in c's slices only
    assert r.value("regrades_lateral", march, dim="source_channel", sl="purchased_service") == 1
    assert r.value("promotions", march, dim="source_channel", sl="purchased_service") == 0
    # March average headcount: a, b, c all month, d from the 5th (27 of 31 days)
    rate = r.row("promotion_rate", march)
    assert (rate.numerator, rate.denominator, rate.value) == approx((1, 3 + 27 / 31, 100 / (3 + 27 / 31)))
    assert [r.value(name, "2024-01-01", kind="year") for name in ("promotions", "demotions", "regrades_lateral")] == [
        1,
        1,
        2,
    ]
    year = r.row("promotion_rate", "2024-01-01", kind="year")
    assert year.numerator == 1 and year.denominator and year.value == approx(100 / year.denominator)
    # the window Feb 2024 - Jan 2025 holds the one promotion
    assert r.row("promotion_rate", "2025-01-01", kind="rolling12").numerator == 1


def test_grade_mix_at_the_period_end() -> None:
    """End of Feb 2024: a 1, b 2, c unknown (e left on the 10th): a third each. End of March: a 2, b 1, c 2, d 1
    (its hire level): half each, and no `unknown` row (nobody's level is unknown then)."""
    log, _ = _moves_log()
    r = log.run("2025-01-31")
    for cat in ("1", "2", "unknown"):
        row = r.row("grade_mix", "2024-02-01", cat=cat)
        assert (row.numerator, row.denominator, row.value) == approx((1, 3, 100 / 3))
    assert [r.value("grade_mix", "2024-03-01", cat=cat) for cat in ("1", "2")] == [50, 50]
    assert not r.has("grade_mix", "2024-03-01", cat="unknown")
    assert r.value("grade_mix", "2024-03-01", dim="source_channel", sl="purchased_service", cat="2") == 100
    # the year's mix is that of 31 December
    assert [r.value("grade_mix", "2024-01-01", kind="year", cat=cat) for cat in ("1", "2")] == [50, 50]


def test_a_rehire_starts_from_its_own_hire_level() -> None:
    """f: hired at 1, promoted to 2 on 10 May 2024; on 1 Jun promoted to 3 (the change ranks before the day's
    separation, so it counts in the old spell), separated and rehired at 1 that day; promoted to 2 on 1 Jul."""
    log = Log()
    log.hire("f", "2023-01-01", level=1)
    log.grade("f", "2024-05-10", 2)
    log.grade("f", "2024-06-01", 3)
    log.separate("f", "2024-06-01")
    log.hire("f", "2024-06-01", level=1)
    log.grade("f", "2024-07-01", 2)
    r = log.run("2024-07-31")
    assert r.anomalies() == []
    assert [r.value("promotions", m) for m in ("2024-05-01", "2024-06-01", "2024-07-01")] == [1, 1, 1]
    assert r.value("grade_mix", "2024-06-01", cat="1") == 100
    assert r.value("grade_mix", "2024-07-01", cat="2") == 100


def test_promoted_within_by_hire_year() -> None:
    """2021 hires, as of 30 Jun 2023. g (1 Mar) promoted on hire + 365 days; h (1 Jun) promoted after 579 days;
    i (1 Dec) never; j (1 Feb, left 1 Aug, rehired 1 Oct 2021: its cohort spell is the first) promoted in the second
    spell. 365 days: all 4 eligible, g -> 25 %. 730 days: hired by 30 Jun 2021 (g, h, j) -> g, h: 2 of 3.
    1,095 days: nobody eligible -> the program row is suppressed (empty population)."""
    log = Log()
    for worker, day in (("g", "2021-03-01"), ("h", "2021-06-01"), ("i", "2021-12-01"), ("j", "2021-02-01")):
        log.hire(worker, day, level=1)
    log.grade("g", "2022-03-01", 2)
    log.grade("h", "2023-01-01", 2)
    log.separate("j", "2021-08-01")
    log.hire("j", "2021-10-01", level=1)
    log.grade("j", "2022-01-05", 2)
    r = log.run("2023-06-30")
    one = r.row("promoted_within", "2021-01-01", kind="year", cat="365")
    assert (one.numerator, one.denominator, one.value, one.workers) == (1, 4, 25, 4)
    two = r.row("promoted_within", "2021-01-01", kind="year", cat="730")
    assert (two.numerator, two.denominator, two.value) == approx((2, 3, 200 / 3))
    three = r.row("promoted_within", "2021-01-01", kind="year", cat="1095")
    assert three.suppressed and three.reason == "primary" and three.value is None
    assert not r.has("promoted_within", "2023-01-01", kind="year", cat="365")  # 2023 is not complete


def test_turnover_by_promotion() -> None:
    """Employed on 1 Jan 2024: p1 promoted 1 May 2022 (in 2021-2023) and quits in March; p2 promoted 31 Dec 2020
    (too early) and is dismissed; p3 promoted on 1 Jan 2024 itself (not before it); p4 never promoted, quits in July;
    p5 promoted in 2021 in an earlier spell (left 1 Jan 2022, rehired 1 Feb 2022). promoted: p1 -> 1 / 1;
    not promoted: p2, p3, p4, p5 -> 1 / 4."""
    log = Log()
    for worker in ("p1", "p2", "p3", "p4", "p5"):
        log.hire(worker, "2019-01-01", level=1)
    log.grade("p1", "2022-05-01", 2)
    log.grade("p2", "2020-12-31", 2)
    log.grade("p3", "2024-01-01", 2)
    log.grade("p5", "2021-06-01", 2)
    log.separate("p5", "2022-01-01")
    log.hire("p5", "2022-02-01", level=2)
    log.separate("p1", "2024-03-01")
    log.separate("p2", "2024-05-01", kind="involuntary", reason="dismissal")
    log.separate("p4", "2024-07-01")
    r = log.run("2025-01-31")
    up = r.row("turnover_by_promotion", "2024-01-01", kind="year", cat="promoted")
    assert (up.numerator, up.denominator, up.value, up.workers) == (1, 1, 100, 1)
    rest = r.row("turnover_by_promotion", "2024-01-01", kind="year", cat="not_promoted")
    assert (rest.numerator, rest.denominator, rest.value, rest.workers) == (1, 4, 25, 4)
    # at k = 2 the promoted group (1 worker) is suppressed, the other group is not
    r2 = log.run("2025-01-31", k=2)
    assert r2.row("turnover_by_promotion", "2024-01-01", kind="year", cat="promoted").reason == "primary"
    assert not r2.row("turnover_by_promotion", "2024-01-01", kind="year", cat="not_promoted").suppressed


def test_median_pay_by_level_needs_2k_workers() -> None:
    """End of Jan 2024, k = 1: level 1 a 5,000 and b 6,000 -> 5,500; level 2 c 7,000 alone (< 2k) is suppressed;
    d of unknown level has no level row."""
    log = Log()
    for worker, level, base in (("a", 1, "5000"), ("b", 1, "6000"), ("c", 2, "7000"), ("d", None, "8000")):
        log.hire(worker, "2023-12-01", level=level)
        log.pay(worker, "2023-12-01", base)
    r = log.run("2024-01-31")
    assert r.value("pay_median_by_level", "2024-01-01", cat="1") == 5500
    two = r.row("pay_median_by_level", "2024-01-01", cat="2")
    assert two.suppressed and two.reason == "primary" and two.value is None
    assert not r.has("pay_median_by_level", "2024-01-01", cat="unknown")


def test_an_amended_and_a_retracted_grade_change() -> None:
    """a promoted to 3 in March, amended to 1 (a demotion); b's promotion retracted."""
    log = Log()
    log.hire("a", "2023-01-01", level=2)
    log.hire("b", "2023-01-01", level=2)
    up = log.grade("a", "2024-03-10", 3)
    log.amend(up, new_level=1)
    log.retract(log.grade("b", "2024-03-10", 3))
    r = log.run("2024-03-31")
    assert [r.value(name, "2024-03-01") for name in ("promotions", "demotions")] == [0, 1]
    assert r.value("grade_mix", "2024-03-01", cat="1") == 50


def test_hidden_period_end_headcount_hides_its_grade_mix_and_hidden_hires_the_promoted_share() -> None:
    """Linked rule: the grade mix's denominator is the period-end headcount; promoted_within's population is at most
    the year's hires (hidden when equal)."""
    day, year = date(2024, 3, 1), date(2021, 1, 1)
    key = ("gender", "female")
    cells = Cells(1)
    cells.value("headcount_end", "month", day, ("all", "all"), 4, 4)
    cells.value("headcount_end", "month", day, key, 3, 3)
    for cat, num in (("1", 2), ("2", 1)):
        cells.rate("grade_mix", "month", day, key, num, 3, 3, category=cat)
    cells.value("hires", "year", year, key, 2, 2)
    cells.rate("promoted_within", "year", year, key, 1, 2, 2, category="365")
    cells.hide(("headcount_end", "month", day, ""), key, "audit")
    cells.hide(("hires", "year", year, ""), key, "audit")
    suppress(cells, build_org_tree([]))
    for cat in ("1", "2"):
        assert cells.families[("grade_mix", "month", day, cat)][key].reason == "linked"
    assert cells.families[("promoted_within", "year", year, "365")][key].reason == "linked"
