"""The oracle's career cells (issue 16) on small hand-computed logs, and the synthetic log's grade edge cases."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.metrics.engine.model import EventRecord
from tests.oracle.compute import Oracle, Worker, oracle_compute
from tests.oracle.synth import synthetic_log
from tests.unit.test_oracle import cell, ev, pay, separate, table

AMENDED, RETRACTED = "correction.amended.v1", "correction.retracted.v1"


def hire(worker: str, day: str, level: int | None = None, unit: str = "U1", channel: str = "graduate",
         gender: str = "female") -> EventRecord:  # fmt: skip
    data: dict[str, Any] = {"org_unit_id": unit, "hire_date": day, "source_channel": channel,
                            "contract_type": "fixed_term", "gender": gender, "birth_year": 1990}  # fmt: skip
    if level is not None:
        data["grade_level"] = level
    return ev("staffing.hired.v1", worker, **data)


def grade(worker: str, day: str, level: int, title: str | None = None) -> EventRecord:
    return ev("staffing.grade_changed.v1", worker, effective_date=day, new_level=level, title=title)


def rows_of(events: list[EventRecord], as_of: str, k: int = 1) -> dict[Any, Any]:
    return table(oracle_compute(events, as_of=date.fromisoformat(as_of), k=k))


def close(value: float | None, expected: float) -> bool:
    return value is not None and abs(value - expected) < 1e-9


def flows(rows: dict[Any, Any], month: date, **kw: Any) -> tuple[float, float, float]:
    return tuple(cell(rows, name, month, **kw).value for name in ("promotions", "demotions", "regrades_lateral"))  # type: ignore[return-value]


def mix(rows: dict[Any, Any], period: date, kind: str = "month", **kw: Any) -> dict[str, float]:
    dim, slice_ = kw.get("dim", "all"), kw.get("slice_", "all")
    return {
        key[5]: row.value
        for key, row in rows.items()
        if key[:5] == ("grade_mix", kind, period, dim, slice_)
    }  # fmt: skip


def test_state_rules_and_the_three_flows() -> None:
    # a: hired 2 Jan at level 2.          b: hired 10 Jan, level unknown.
    #   2 Jan  → 3: on the hire date, refused   1 Feb → 1: a first level where none was known, lateral
    #  10 Feb  → 3: promotion                   1 Mar → 2: promotion
    #  15 Mar  → 3 (null title): unchanged      1 Aug → 2 (null): unchanged, refused
    #  20 Mar  → 3 主管社工: lateral             1 Sep → 2 社工: lateral
    #   5 Apr  → 2 (first by event_id): demotion; → 5 the same day: second, refused
    #  31 May  → 4, then separated that day: the change ranks before the separation, a promotion (2 → 4)
    #   5 Jun  → 6: not employed, refused
    # b, 1 Oct → 2 with a null title while holding 社工: lateral (decision 17b)
    # b, 1 Nov → 2 (null, first by event_id: unchanged, refused), then → 3: a promotion (17a: the refused first
    # does not block it)
    events = [
        hire("a", "2023-01-02", level=2), grade("a", "2023-01-02", 3), grade("a", "2023-02-10", 3),
        grade("a", "2023-03-15", 3), grade("a", "2023-03-20", 3, "主管社工"), grade("a", "2023-04-05", 2),
        grade("a", "2023-04-05", 5), grade("a", "2023-05-31", 4), separate("a", "2023-05-31"),
        grade("a", "2023-06-05", 6),
        hire("b", "2023-01-10"), grade("b", "2023-02-01", 1), grade("b", "2023-03-01", 2),
        grade("b", "2023-08-01", 2), grade("b", "2023-09-01", 2, "社工"), grade("b", "2023-10-01", 2),
        grade("b", "2023-11-01", 2), grade("b", "2023-11-01", 3),
    ]  # fmt: skip
    rows = rows_of(events, "2023-12-31")
    # (promotions, demotions, lateral) per month
    expected = {1: (0, 0, 0), 2: (1, 0, 1), 3: (1, 0, 1), 4: (0, 1, 0), 5: (1, 0, 0), 6: (0, 0, 0), 8: (0, 0, 0),
                9: (0, 0, 1), 10: (0, 0, 1), 11: (1, 0, 0), 12: (0, 0, 0)}  # fmt: skip
    for month, counts in expected.items():
        assert flows(rows, date(2023, month, 1)) == counts, month
    assert flows(rows, date(2023, 1, 1), kind="year") == (4, 1, 4)
    assert flows(rows, date(2023, 2, 1), dim="org", slice_="U1") == (1, 0, 1)
    # February: both employed all 28 days → headcount_avg 2; promotion rate 1 ÷ 2 × 100 = 50
    rate = cell(rows, "promotion_rate", date(2023, 2, 1))
    assert (rate.numerator, rate.denominator, rate.value) == (1, 2, 50)
    # the year: monthly averages Jan (30 + 22) / 31 (a from the 2nd, b from the 10th), Feb..May 2 (a counted on
    # 31 May), Jun..Dec 1 → average (52/31 + 8 + 7) / 12; rate = 4 ÷ it × 100
    year_avg = (52 / 31 + 8 + 7) / 12
    rate = cell(rows, "promotion_rate", date(2023, 1, 1), kind="year")
    assert rate.numerator == 4 and close(rate.denominator, year_avg)
    assert close(rate.value, 400 / year_avg)
    # grade mix at the end of each month: categories are the levels held by someone then
    assert mix(rows, date(2023, 1, 1)) == {"2": 50, "unknown": 50}  # a at 2, b unknown
    assert mix(rows, date(2023, 3, 1)) == {"2": 50, "3": 50}  # a at 3 (主管社工), b at 2
    assert mix(rows, date(2023, 4, 1)) == {"2": 100}  # a demoted to 2
    assert mix(rows, date(2023, 5, 1)) == {"2": 50, "4": 50}  # a employed on 31 May, at 4 after that day's change
    assert mix(rows, date(2023, 6, 1)) == {"2": 100}  # b alone
    december = cell(rows, "grade_mix", date(2023, 1, 1), kind="year", category="3")  # b on 31 December
    assert (december.numerator, december.denominator, december.value, december.workers) == (1, 1, 100, 2)


def test_same_day_rehire_starts_from_its_hire_level_and_a_transfer_day_counts_in_the_new_unit() -> None:
    # c: U1/graduate at 3 from 2 Jan; → 4 on 1 Mar (promotion in U1). 10 Jun: → 5, separated, rehired into
    # U2/other at level 1: the change ranks before the separation, a promotion 4 → 5 in the old spell (U1,
    # graduate). 11 Jun: → 2, a promotion from the rehire's 1 (not a demotion from 5), in U2/other.
    # d: U1 at 1 from 2 Jan; 3 Apr: transferred to U2 and → 3 that day: a promotion counted in U2.
    events = [
        hire("c", "2023-01-02", level=3), grade("c", "2023-03-01", 4), grade("c", "2023-06-10", 5),
        separate("c", "2023-06-10"), hire("c", "2023-06-10", level=1, unit="U2", channel="other"),
        grade("c", "2023-06-11", 2),
        hire("d", "2023-01-02", level=1),
        ev("staffing.transferred.v1", "d", from_unit_id="U1", to_unit_id="U2", effective_date="2023-04-03"),
        grade("d", "2023-04-03", 3),
    ]  # fmt: skip
    rows = rows_of(events, "2023-07-31")
    june, april = date(2023, 6, 1), date(2023, 4, 1)
    assert flows(rows, june) == (2, 0, 0)
    assert flows(rows, june, dim="org", slice_="U1") == (1, 0, 0)
    assert flows(rows, june, dim="org", slice_="U2") == (1, 0, 0)
    assert flows(rows, june, dim="source_channel", slice_="graduate") == (1, 0, 0)
    assert flows(rows, june, dim="source_channel", slice_="other") == (1, 0, 0)
    assert flows(rows, april, dim="org", slice_="U1") == (0, 0, 0)
    assert flows(rows, april, dim="org", slice_="U2") == (1, 0, 0)
    assert mix(rows, date(2023, 5, 1)) == {"3": 50, "4": 50}  # c at 4, d at 3
    assert mix(rows, june) == {"2": 50, "3": 50}  # c at 2 in the new spell, d at 3
    assert mix(rows, june, dim="org", slice_="U2") == {"2": 50, "3": 50}
    assert mix(rows, june, dim="org", slice_="U1") == {}  # nobody in U1 at the end of June: no row


def test_corrections_of_grade_changes_and_of_the_hire_level() -> None:
    # e hired at 1, amended to 3. 1 Feb → 2: a demotion (from the amended 3). 1 Mar → 4: retracted.
    # 1 Apr → 5, amended to 1 May and level 4: a promotion (2 → 4) in May, nothing in April.
    first, retracted, moved = grade("e", "2023-02-01", 2), grade("e", "2023-03-01", 4), grade("e", "2023-04-01", 5)
    hired = hire("e", "2023-01-02", level=1)
    events = [
        hired, first, retracted, moved,
        ev(AMENDED, "", target_event_id=hired.event_id, changes={"grade_level": 3}, reason=None),
        ev(RETRACTED, "", target_event_id=retracted.event_id, reason=None),
        ev(AMENDED, "", target_event_id=moved.event_id, changes={"effective_date": "2023-05-01", "new_level": 4},
           reason=None),
    ]  # fmt: skip
    rows = rows_of(events, "2023-06-30")
    assert mix(rows, date(2023, 1, 1)) == {"3": 100}
    assert flows(rows, date(2023, 2, 1)) == (0, 1, 0)
    assert flows(rows, date(2023, 3, 1)) == (0, 0, 0)
    assert mix(rows, date(2023, 3, 1)) == {"2": 100}
    assert flows(rows, date(2023, 4, 1)) == (0, 0, 0)
    assert flows(rows, date(2023, 5, 1)) == (1, 0, 0)
    assert mix(rows, date(2023, 5, 1)) == {"4": 100}


def test_promoted_within_marks_and_a_young_cohort() -> None:
    # as_of 30 Jun 2024; the 2023 hire cohort (2023 is the only complete year):
    #   p hired 10 Jan 2023, promoted 10 Jan 2024 = hire + 365: promoted within 365 (the mark is inclusive)
    #   q hired 1 Feb 2023, promoted 2 Feb 2024 = hire + 366: eligible (1 Feb 2024 ≤ as_of), not promoted
    #   s hired 1 Mar 2023, separated 30 Jun, rehired 1 Aug, promoted 1 Sep: its cohort spell is the first one,
    #     so not promoted; eligible (1 Mar 2023 + 365 = 29 Feb 2024 ≤ as_of)
    #   r (in U2) hired 1 Sep 2023: + 365 = 31 Aug 2024 > as_of, not eligible (young), though promoted
    # 365: 1 ÷ 3 × 100; 730 and 1095: nobody eligible → the all row suppressed (population 0), no U1/U2 rows
    events = [
        hire("p", "2023-01-10", level=1), grade("p", "2024-01-10", 2),
        hire("q", "2023-02-01", level=1), grade("q", "2024-02-02", 2),
        hire("s", "2023-03-01", level=1), separate("s", "2023-06-30"), hire("s", "2023-08-01", level=1),
        grade("s", "2023-09-01", 2),
        hire("r", "2023-09-01", level=1, unit="U2"), grade("r", "2024-03-01", 2),
    ]  # fmt: skip
    rows = rows_of(events, "2024-06-30")
    year = date(2023, 1, 1)
    within = cell(rows, "promoted_within", year, kind="year", category="365")
    assert (within.numerator, within.denominator, within.workers) == (1, 3, 3)
    assert close(within.value, 100 / 3)
    assert cell(rows, "promoted_within", year, kind="year", dim="org", slice_="U1", category="365").denominator == 3
    for mark in ("730", "1095"):
        hidden = cell(rows, "promoted_within", year, kind="year", category=mark)
        assert (hidden.suppressed, hidden.reason, hidden.workers, hidden.value) == (True, "primary", 0, None)
        assert ("promoted_within", "year", year, "org", "U1", mark) not in rows
    assert ("promoted_within", "year", year, "org", "U2", "365") not in rows  # r not yet eligible


def test_promoted_within_is_linked_to_the_years_hidden_hires() -> None:
    # k = 2. M1 (male) hired Dec 2022, so in no 2023 cohort; F1, F2 hired Mar 2023, F1 promoted in October.
    # 2023 hires by gender: male 0 over a population of 1 → primary; female 2 → secondary (the only other
    # child). The female promoted_within at 365 has 2 eligible = those hidden hires → linked (its own family
    # has no male row, so no secondary rule reaches it). The all row: 1 of 2 → 50, published.
    events = [
        hire("M1", "2022-12-10", level=1, gender="male"),
        hire("F1", "2023-03-01", level=1), grade("F1", "2023-10-01", 2), hire("F2", "2023-03-02", level=1),
    ]  # fmt: skip
    rows = rows_of(events, "2024-06-30", k=2)
    year = date(2023, 1, 1)
    assert cell(rows, "hires", year, kind="year", dim="gender", slice_="female").reason == "secondary"
    female = cell(rows, "promoted_within", year, kind="year", dim="gender", slice_="female", category="365")
    assert (female.suppressed, female.reason) == (True, "linked")
    assert ("promoted_within", "year", year, "gender", "male", "365") not in rows
    assert cell(rows, "promoted_within", year, kind="year", category="365").value == 50


def test_turnover_by_promotion_groups_of_1_january() -> None:
    # t1 U1: hired Jun 2020, promoted 5 Jan 2021, quits 1 May 2024.
    # t2 U2: hired Jun 2020, promoted 31 Dec 2020, stays.
    # t3 U2: hired 1 Jan 2022, promoted 1 Jan 2024 (not before the year), involuntary exit 1 Mar 2024.
    # t4 U2: hired Feb 2021, promoted 31 Dec 2023, quits and is rehired on 1 Jan 2024 (at the end of that day in
    #        a new spell without a promotion), quits again 1 Jun 2024 (one leaver, counted once).
    # t5 U1: hired Mar 2022, promoted Jun 2022, stays.      t6: hired 2 Jan 2024, not employed on 1 January.
    q = {"kind": "voluntary", "reason": "pay"}
    events = [
        hire("t1", "2020-06-01", level=1), grade("t1", "2021-01-05", 2), separate("t1", "2024-05-01", **q),
        hire("t2", "2020-06-01", level=1, unit="U2"), grade("t2", "2020-12-31", 2),
        hire("t3", "2022-01-01", level=1, unit="U2"), grade("t3", "2024-01-01", 2),
        separate("t3", "2024-03-01", kind="involuntary", reason="dismissal"),
        hire("t4", "2021-02-01", level=1, unit="U2"), grade("t4", "2023-12-31", 2), separate("t4", "2024-01-01", **q),
        hire("t4", "2024-01-01", level=1, unit="U2"), separate("t4", "2024-06-01", **q),
        hire("t5", "2022-03-01", level=1), grade("t5", "2022-06-01", 2),
        hire("t6", "2024-01-02", level=1), separate("t6", "2024-02-01", **q),
    ]  # fmt: skip
    rows = rows_of(events, "2024-12-31")

    def group(year: int, category: str, **kw: Any) -> tuple[Any, ...]:
        c = cell(rows, "turnover_by_promotion", date(year, 1, 1), kind="year", category=category, **kw)
        return c.numerator, c.denominator, c.workers

    # 2020: nobody on 1 January: the all row of both groups exists, suppressed
    for category in ("promoted", "not_promoted"):
        empty = cell(rows, "turnover_by_promotion", date(2020, 1, 1), kind="year", category=category)
        assert (empty.suppressed, empty.workers) == (True, 0)
    # 2021 (window 2018..2020): t2 promoted on 31 Dec 2020; t1 not yet; no leaver
    assert group(2021, "promoted") == (0, 1, 1) and group(2021, "not_promoted") == (0, 1, 1)
    # 2022 (window 2019..2021): t1, t2 promoted; t3 (hired that 1 January) and t4 not
    assert group(2022, "promoted") == (0, 2, 2) and group(2022, "not_promoted") == (0, 2, 2)
    # 2023 (window 2020..2022): t1, t2, t5 promoted; t3, t4 not (t4's quit on 1 Jan 2024 is next year's)
    assert group(2023, "promoted") == (0, 3, 3) and group(2023, "not_promoted") == (0, 2, 2)
    # 2024 (window 2021..2023): promoted t1, t5 → t1 quits: 1/2 = 50; not promoted t2 (31 Dec 2020 is out of the
    # window), t3 (promoted on 1 Jan 2024), t4 (new spell) → t4 quits: 1/3
    assert group(2024, "promoted") == (1, 2, 2)
    assert cell(rows, "turnover_by_promotion", date(2024, 1, 1), kind="year", category="promoted").value == 50
    assert group(2024, "not_promoted") == (1, 3, 3)
    # a slice gets a row for its non-empty groups only: U1 holds t1, t5; U2 holds t2, t3, t4
    assert group(2024, "promoted", dim="org", slice_="U1") == (1, 2, 2)
    assert group(2024, "not_promoted", dim="org", slice_="U2") == (1, 3, 3)
    assert ("turnover_by_promotion", "year", date(2024, 1, 1), "org", "U1", "not_promoted") not in rows
    assert ("turnover_by_promotion", "year", date(2024, 1, 1), "org", "U2", "promoted") not in rows
    # k = 3: the promoted group (2) is hidden, the other (3) is published (decision 17h)
    rows = rows_of(events, "2024-12-31", k=3)
    year = date(2024, 1, 1)
    assert cell(rows, "turnover_by_promotion", year, kind="year", category="promoted").reason == "primary"
    assert close(cell(rows, "turnover_by_promotion", year, kind="year", category="not_promoted").value, 100 / 3)


def test_pay_median_by_level_needs_2k_and_leaves_unknown_out() -> None:
    # All hired 1 Jun 2023. Level 1: w1..w4 paid 1000..4000 (median 2500), w8 not paid. Level 2: w5 paid 5000 and
    # w6 (hired at 1, promoted on 30 Jun, the last day) paid 7000 → median 6000. w7 (unknown level) paid 9999:
    # in no row. k = 1 needs 2 workers; k = 2 needs 4: level 2 (2 workers) hidden.
    events = []
    for n, amount in enumerate((1000, 2000, 3000, 4000), start=1):
        events += [hire(f"w{n}", "2023-06-01", level=1), pay(f"w{n}", "2023-06-01", amount)]
    events += [hire("w5", "2023-06-01", level=2), pay("w5", "2023-06-01", 5000)]
    events += [hire("w6", "2023-06-01", level=1), grade("w6", "2023-06-30", 2), pay("w6", "2023-06-01", 7000)]
    events += [hire("w7", "2023-06-01"), pay("w7", "2023-06-01", 9999), hire("w8", "2023-06-01", level=1)]
    rows = rows_of(events, "2023-06-30")
    june = date(2023, 6, 1)
    level_1 = cell(rows, "pay_median_by_level", june, category="1")
    assert (level_1.value, level_1.workers) == (2500, 4)
    assert cell(rows, "pay_median_by_level", june, category="2").value == 6000
    assert ("pay_median_by_level", "month", june, "all", "all", "unknown") not in rows
    # grade mix on 30 June: level 1 w1..w4, w8 = 5 of 8; level 2 w5, w6 = 2; unknown w7 = 1
    assert mix(rows, june) == {"1": 62.5, "2": 25, "unknown": 12.5}
    rows = rows_of(events, "2023-06-30", k=2)
    assert cell(rows, "pay_median_by_level", june, category="1").value == 2500
    assert cell(rows, "pay_median_by_level", june, category="2").reason == "primary"


def test_grade_mix_is_linked_to_the_hidden_period_end_headcount() -> None:
    # k = 2, June 2023, all hired 1 June. u1 (undisclosed) leaves on 15 June: population 1, no grade_mix row.
    # f1, f2 (female, levels 1 and 2), m1..m3 (male, level 1). headcount_end by gender: undisclosed primary;
    # round 1 hides the smallest other child, female (population 2 < 3). grade_mix has no undisclosed row, so
    # its own families have nothing hidden: the female grade_mix cells go with their denominator (linked), after
    # round 1. Round 2 then finds one hidden child (female) under the published all cell: male goes (secondary).
    events = [hire("u1", "2023-06-01", level=1, gender="undisclosed"), separate("u1", "2023-06-15")]
    events += [hire("f1", "2023-06-01", level=1), hire("f2", "2023-06-01", level=2)]
    events += [hire(f"m{n}", "2023-06-01", level=1, gender="male") for n in range(1, 4)]
    rows = rows_of(events, "2023-06-30", k=2)
    june = date(2023, 6, 1)
    assert cell(rows, "headcount_end", june, dim="gender", slice_="female").reason == "secondary"
    for level in ("1", "2"):
        assert cell(rows, "grade_mix", june, dim="gender", slice_="female", category=level).reason == "linked"
        assert cell(rows, "grade_mix", june, dim="gender", slice_="male", category=level).reason == "secondary"
    assert ("grade_mix", "month", june, "gender", "undisclosed", "1") not in rows
    assert cell(rows, "grade_mix", june, category="1").value == 80  # 4 of the 5 employed on 30 June


def test_the_synthetic_logs_carry_every_grade_edge_case() -> None:
    as_of = date(2022, 12, 20)  # as tests/unit/test_engine_vs_oracle.py reads them
    for seed in (1, 7, 23):
        events = synthetic_log(workers=40, start=date(2021, 1, 1), end=date(2023, 1, 31), seed=seed)
        hires = [e for e in events if e.event_type == "staffing.hired.v1"]
        assert any(e.data.get("grade_level") is None for e in hires)
        assert any(e.data.get("grade_level") is not None for e in hires)
        changes = {e.event_id for e in events if e.event_type == "staffing.grade_changed.v1"}
        corrected = {(e.event_type, e.data["target_event_id"]) for e in events if e.event_type in (AMENDED, RETRACTED)}
        assert {kind for kind, target in corrected if target in changes} == {AMENDED, RETRACTED}
        workers = Oracle(events, as_of, 3, []).workers
        reasons = {reason for w in workers for d, reason in w.refused_grades if d <= as_of}
        assert reasons == {"grade_change_not_employed", "grade_change_on_hire_date", "second_grade_change_same_day",
                           "grade_unchanged"}, seed  # fmt: skip
        grades = [(w, g) for w in workers for g in w.grades if g.day <= as_of]
        assert {g.kind for _, g in grades} == {"promotion", "demotion", "lateral"}
        starts = {(w.key, s.start) for w in workers for s in w.spells}
        on_separation_day = [(w, g) for w, g in grades if g.day == w.spells[g.spell].end]
        assert any((w.key, g.day) in starts for w, g in on_separation_day), seed  # then rehired that day
        assert any((w.key, g.day) not in starts for w, g in on_separation_day), seed
        # the day after a same-day separation and rehire, in the new spell
        after_rehire = [(w, g) for w, g in grades if g.spell > 0 and (g.day - w.spells[g.spell].start).days == 1]
        assert any(w.spells[g.spell - 1].end == w.spells[g.spell].start for w, g in after_rehire), seed
        assert any(g.kind == "promotion" and (g.day - w.spells[g.spell].start).days == 365 for w, g in grades), seed
        # a rehire that starts from its own level: a promotion below the level its worker's previous spell ended at
        assert any(g.kind == "promotion" and g.spell > 0 and (left(w, g.spell - 1) or 0) > g.level for w, g in grades)


def left(worker: Worker, spell: int) -> int | None:
    """The level a worker held at the end of a spell that ended."""
    end = worker.spells[spell].end
    assert end is not None
    return worker.grade_on(spell, end)[0]


def test_career_cells_agree_with_each_other_on_a_synthetic_log() -> None:
    # k = 1 (only empty all rows hidden): a slice's grade mix sums to 100 over its categories, on the period-end
    # headcount; a year's flows are the sums of its months; promotion_rate's numerator is the promotions cell
    events = synthetic_log(workers=40, start=date(2021, 1, 1), end=date(2022, 12, 31), seed=11)
    rows = table(oracle_compute(events, as_of=date(2022, 12, 31), k=1))
    shares: dict[tuple[Any, ...], float] = {}
    published = {key: row for key, row in rows.items() if not row.suppressed}
    for (indicator, kind, period, dim, slice_, _category), row in published.items():
        if indicator == "grade_mix":
            shares[(kind, period, dim, slice_)] = shares.get((kind, period, dim, slice_), 0.0) + (row.value or 0.0)
            assert row.denominator == rows[("headcount_end", kind, period, dim, slice_, "")].value
        if indicator in ("promoted_within", "turnover_by_promotion") and row.value is not None:
            assert 0 <= row.value <= 100
        if indicator == "promotion_rate" and kind != "rolling12":
            assert row.numerator == rows[("promotions", kind, period, dim, slice_, "")].value
    assert shares and all(abs(total - 100) < 1e-9 for total in shares.values())
    for name in ("promotions", "demotions", "regrades_lateral"):
        for (indicator, kind, period, dim, slice_, category), row in published.items():
            if indicator == name and kind == "year":
                months = [
                    rows.get((name, "month", date(period.year, m, 1), dim, slice_, category)) for m in range(1, 13)
                ]
                assert row.value == sum(r.value or 0.0 for r in months if r is not None), (name, period, dim, slice_)
    assert sum(r.value or 0.0 for k, r in published.items() if k[:2] == ("promotions", "year") and k[3] == "all") > 0
