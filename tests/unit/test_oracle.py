"""Tiny hand-computed checks of the oracle (tests/oracle), so that it can be trusted to check the engine."""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the repository root, so that `tests.oracle` imports under plain `pytest`
    sys.path.insert(0, str(ROOT))

from services.metrics.engine.model import EventRecord, IndicatorRow, ReferenceWage  # noqa: E402
from tests.oracle.compute import oracle_compute, percentile_inclusive, quartile_bands  # noqa: E402
from tests.oracle.synth import synthetic_log  # noqa: E402

_counter = 0


def ev(event_type: str, worker: str, **data: Any) -> EventRecord:
    global _counter
    _counter += 1
    stamp = datetime(2020, 1, 1, tzinfo=UTC)
    return EventRecord(f"00000000-0000-4000-8000-{_counter:012d}", event_type, stamp, stamp, worker, data)


def hire(worker: str, day: str, unit: str = "U1", gender: str = "female", birth_year: int = 1990) -> EventRecord:
    return ev(
        "staffing.hired.v1",
        worker,
        org_unit_id=unit,
        hire_date=day,
        source_channel="graduate",
        contract_type="fixed_term",
        gender=gender,
        birth_year=birth_year,
    )


def separate(worker: str, day: str, kind: str = "voluntary", reason: str = "pay") -> EventRecord:
    return ev("turnover.separated.v1", worker, separation_date=day, kind=kind, reason=reason, note=None)


def pay(worker: str, day: str, base: float, allowances: float = 0, hours: float = 40) -> EventRecord:
    return ev(
        "staffing.pay_set.v1",
        worker,
        effective_date=day,
        monthly_base=str(base),
        allowances=allowances,
        currency="CNY",
        weekly_hours=hours,
    )


def table(rows: list[IndicatorRow]) -> dict[tuple[str, str, date, str, str, str], IndicatorRow]:
    return {(r.indicator, r.period_kind, r.period, r.dimension, r.slice, r.category): r for r in rows}


def cell(rows: dict[Any, IndicatorRow], indicator: str, period: date, *, kind: str = "month", dim: str = "all",
         slice_: str = "all", category: str = "") -> IndicatorRow:  # fmt: skip
    return rows[(indicator, kind, period, dim, slice_, category)]


def test_median_of_one_to_four_is_two_and_a_half() -> None:
    # position = (n − 1) · p = 3 · 0.5 = 1.5 → 2 + 0.5 · (3 − 2) = 2.5
    assert percentile_inclusive([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    # p10: position 0.3 → 1 + 0.3 · 1 = 1.3; p90: position 2.7 → 3 + 0.7 · 1 = 3.7
    assert abs(percentile_inclusive([1.0, 2.0, 3.0, 4.0], 0.1) - 1.3) < 1e-12  # type: ignore[operator]
    assert abs(percentile_inclusive([1.0, 2.0, 3.0, 4.0], 0.9) - 3.7) < 1e-12  # type: ignore[operator]
    assert percentile_inclusive([7.0], 0.25) == 7.0
    # bands of n = 6: q1 ranks ⌊0⌋+1..⌊1.5⌋ = 1..1, q2 2..3, q3 4..4, q4 5..6
    bands = quartile_bands([(float(v), f"w{v}", v) for v in (6, 5, 4, 3, 2, 1)])
    assert bands == [[1], [2, 3], [4], [5, 6]]


def test_average_headcount_with_a_mid_month_hire() -> None:
    # June 2023 has 30 days. a (hired in May) is employed all 30 days; b is hired on the 16th: days 16..30 = 15.
    # Σ daily headcounts = 30 + 15 = 45; average = 45 ÷ 30 = 1.5; end-of-month headcount = 2; hires = 1;
    # separation rate = 0; hires rate = 1 ÷ 1.5 × 100 = 66.67
    rows = table(oracle_compute([hire("a", "2023-05-01"), hire("b", "2023-06-16")], as_of=date(2023, 6, 30), k=1))
    june = date(2023, 6, 1)
    assert cell(rows, "headcount_avg", june).value == 1.5
    assert cell(rows, "headcount_end", june).value == 2
    assert cell(rows, "hires", june).value == 1
    hires_rate = cell(rows, "hires_rate", june)
    assert (hires_rate.numerator, hires_rate.denominator) == (1, 1.5)
    assert abs(hires_rate.value - 100 / 1.5) < 1e-9  # type: ignore[operator]
    # retention of June: a employed on 1 June and still on 30 June; b was not employed on 1 June → 1/1
    assert cell(rows, "retention_rate", june).value == 100
    # org slice U1 holds both; the as-of month ending mid-month divides by the elapsed days:
    rows = table(oracle_compute([hire("a", "2023-05-01"), hire("b", "2023-06-16")], as_of=date(2023, 6, 20), k=1))
    # 20 + 5 = 25 worker-days over 20 elapsed days = 1.25
    assert cell(rows, "headcount_avg", june, dim="org", slice_="U1").value == 1.25


def test_same_day_hire_and_separation_counts_one_day() -> None:
    # hired and separated on 10 June: one day of 30 → average 1/30; hire 1, separation 1; tenure 1 day;
    # headcount at the end of June 0; the separation rate = 1 ÷ (1/30) × 100 = 3000
    events = [hire("a", "2023-06-10"), separate("a", "2023-06-10", kind="involuntary", reason="dismissal")]
    rows = table(oracle_compute(events, as_of=date(2023, 6, 30), k=1))
    june = date(2023, 6, 1)
    assert abs(cell(rows, "headcount_avg", june).value - 1 / 30) < 1e-12  # type: ignore[operator]
    assert cell(rows, "headcount_end", june).value == 0
    assert cell(rows, "hires", june).value == 1
    assert cell(rows, "separations", june).value == 1
    assert cell(rows, "separations_involuntary", june).value == 1
    assert cell(rows, "separations_voluntary", june).value == 0
    assert cell(rows, "separations_by_reason", june, category="dismissal").value == 1
    assert cell(rows, "median_tenure_leavers", june).value == 1
    assert abs(cell(rows, "separation_rate", june).value - 3000) < 1e-9  # type: ignore[operator]
    assert cell(rows, "net_change", june).value == 0
    assert cell(rows, "replacement_ratio", june).value == 1


def test_same_day_separation_and_rehire_is_one_worker_in_a_new_spell() -> None:
    # a: hired 1 May, separated and rehired 10 June (events given in the "wrong" order on purpose).
    # June headcount: 30 days × 1 worker = 30 → average 1; one separation and one hire on 10 June.
    # Tenure on 30 June counts from the new spell: 30 − 10 + 1 = 21 days.
    events = [hire("a", "2023-06-10"), separate("a", "2023-06-10"), hire("a", "2023-05-01")]
    rows = table(oracle_compute(events, as_of=date(2023, 6, 30), k=1))
    june = date(2023, 6, 1)
    assert cell(rows, "headcount_avg", june).value == 1
    assert cell(rows, "hires", june).value == 1
    assert cell(rows, "separations", june).value == 1
    assert cell(rows, "median_tenure_current", june).value == 21
    # retention of June: employed on 1 June in spell 1, on 30 June in spell 2 → not retained: 0/1
    assert cell(rows, "retention_rate", june).value == 0


def test_leap_year_stability_lookback() -> None:
    # D = 29 Feb 2024 (as_of), D − 1 year = 28 Feb 2023.
    # x: hired 28 Feb 2023, still employed → in numerator and denominator.
    # y: hired 1 Mar 2023 → not employed on 28 Feb 2023 → in neither.
    # z: employed since 2022, separated and rehired on 29 Feb 2024 → new spell → denominator only.
    # stability = 1 ÷ 2 × 100 = 50
    events = [
        hire("x", "2023-02-28"),
        hire("y", "2023-03-01"),
        hire("z", "2022-01-03"),
        separate("z", "2024-02-29"),
        hire("z", "2024-02-29"),
    ]
    rows = table(oracle_compute(events, as_of=date(2024, 2, 29), k=1))
    stability = cell(rows, "stability_index", date(2024, 2, 1))
    assert (stability.numerator, stability.denominator, stability.value) == (1, 2, 50)
    assert stability.workers == 2
    # 29 Feb 2024: x, y, z employed (z once): headcount 3
    assert cell(rows, "headcount_end", date(2024, 2, 1)).value == 3


def test_transfer_counts_in_the_new_unit_from_its_date() -> None:
    # a moves U1 → U2 on 16 June: U1 days 1..15 = 15, U2 days 16..30 = 15 → 0.5 each; program level: 1.
    # P is the parent of both units: transfers are internal to it.
    org = [
        ev("org.unit_registered.v1", "", unit_id="P", parent_id=None, level="district", name_zh="P",
           name_en=None, service_model=None, effective_date="2020-01-01"),
        ev("org.unit_registered.v1", "", unit_id="U1", parent_id="P", level="second_tier", name_zh="U1",
           name_en=None, service_model="park", effective_date="2020-01-01"),
        ev("org.unit_registered.v1", "", unit_id="U2", parent_id="P", level="second_tier", name_zh="U2",
           name_en=None, service_model="building", effective_date="2020-01-01"),
    ]  # fmt: skip
    move = ev("staffing.transferred.v1", "a", from_unit_id="U1", to_unit_id="U2", effective_date="2023-06-16")
    rows = table(oracle_compute([*org, hire("a", "2023-06-01"), move], as_of=date(2023, 6, 30), k=1))
    june = date(2023, 6, 1)
    assert cell(rows, "headcount_avg", june, dim="org", slice_="U1").value == 0.5
    assert cell(rows, "headcount_avg", june, dim="org", slice_="U2").value == 0.5
    assert cell(rows, "headcount_avg", june, dim="org", slice_="P").value == 1
    assert cell(rows, "headcount_avg", june, dim="service_model", slice_="park").value == 0.5
    assert cell(rows, "transfers_out", june, dim="org", slice_="U1").value == 1
    assert cell(rows, "transfers_in", june, dim="org", slice_="U2").value == 1
    assert cell(rows, "transfers_in", june, dim="org", slice_="P").value == 0
    assert cell(rows, "hires", june, dim="org", slice_="U2").value == 0  # the hire was in U1


def test_corrections_and_cohort_eligibility() -> None:
    # b's hire is retracted (counts nowhere); a's hire date is amended from 5 Jan to 1 Jan 2023.
    # as_of 5 Apr 2023: marks 30 (31 Jan) and 90 (1 Apr) are reached, 180 is not → eligible 0, value NULL.
    a, b = hire("a", "2023-01-05"), hire("b", "2023-01-02")
    events = [
        a,
        b,
        ev("correction.retracted.v1", "", target_event_id=b.event_id, reason=None),
        ev("correction.amended.v1", "", target_event_id=a.event_id, changes={"hire_date": "2023-01-01"},
           reason=None),
    ]  # fmt: skip
    rows = table(oracle_compute(events, as_of=date(2023, 4, 5), k=1))
    jan = date(2023, 1, 1)
    assert cell(rows, "hires", jan).value == 1
    assert cell(rows, "headcount_avg", jan).value == 1  # 31 days of 31
    for mark, eligible in (("30", 1), ("90", 1), ("180", 0)):
        assert cell(rows, "cohort_retention", jan, kind="cohort", category=mark).workers == eligible
    assert cell(rows, "cohort_retention", jan, kind="cohort", category="90").value == 100
    # no eligible hire: population 0 < k = 1 → suppressed, never a false 100 %
    assert cell(rows, "cohort_retention", jan, kind="cohort", category="180").suppressed
    # half-life: one member still employed on every day up to as_of → never ≤ half → NULL
    assert cell(rows, "cohort_half_life", jan, kind="cohort").value is None


def test_pay_median_of_four_workers_and_gender_gap() -> None:
    # four workers paid 1000, 2000, 3000, 4000 on 30 June → median 2500, mean 2500.
    # men: 1000, 2000 (mean 1500), women: 3000, 4000 (mean 3500); all 40 h/week → hourly ∝ monthly,
    # so the mean gap = (1500 − 3500) ÷ 1500 × 100 = −133.33
    events = []
    for n, (amount, gender) in enumerate(((1000, "male"), (2000, "male"), (3000, "female"), (4000, "female"))):
        events += [hire(f"w{n}", "2023-06-01", gender=gender), pay(f"w{n}", "2023-06-01", amount)]
    rows = table(oracle_compute(events, as_of=date(2023, 6, 30), k=1))
    june = date(2023, 6, 1)
    assert cell(rows, "pay_median", june, category="total").value == 2500
    assert cell(rows, "pay_mean", june, category="total").value == 2500
    assert abs(cell(rows, "pay_gap_mean", june).value - (1500 - 3500) / 1500 * 100) < 1e-9  # type: ignore[operator]
    # quartile bands of n = 4 hold one worker each: q1 = 1000 (male) → male share 100, female share 0
    assert cell(rows, "pay_quartile_male_share", june, category="q1").value == 100
    assert cell(rows, "pay_quartile_female_share", june, category="q4").value == 100
    # k = 3: the gap compares 2 men and 2 women → suppressed; the mean uses 4 workers → published, the median
    # needs 2k = 6 (v5) → suppressed; at k = 2 the median is published (4 = 2k) and p10 is not (4 < 4k)
    rows = table(oracle_compute(events, as_of=date(2023, 6, 30), k=3))
    assert cell(rows, "pay_gap_mean", june).suppressed
    assert cell(rows, "pay_gap_mean", june).value is None
    assert not cell(rows, "pay_mean", june, category="total").suppressed
    assert cell(rows, "pay_median", june, category="total").reason == "primary"
    rows = table(oracle_compute(events, as_of=date(2023, 6, 30), k=2))
    assert cell(rows, "pay_median", june, category="total").value == 2500
    assert cell(rows, "pay_p10", june, category="total").reason == "primary"


def test_two_round_secondary_suppression() -> None:
    # k = 2, year 2023. Women: f1 all year, f2 hired 1 Feb. Men: m1, m2, m3 all year.
    # Populations (distinct workers employed in the month): female Jan 1, Feb..Dec 2; male 3 every month.
    # hires cells:
    #   primary:  female Jan (1 < 2).
    #   round 1 (flags at its start: only female Jan hidden):
    #     across gender, Jan: all published, one hidden child (female) → hide next smallest: male Jan;
    #     female months of the published year 2023: one hidden (Jan) → hide smallest: Feb (pop 2, earliest).
    #   round 2: across gender, Feb: one hidden child (female) → hide male Feb;
    #     male months of 2023: one hidden (Jan) → hide smallest: Feb (pop 3, earliest) — the same cell.
    #   round 3: nothing changes. March stays published for both genders.
    events = [hire("f1", "2022-01-03"), hire("f2", "2023-02-01")]
    events += [hire(f"m{n}", "2022-01-03", gender="male") for n in range(1, 4)]
    rows = table(oracle_compute(events, as_of=date(2023, 12, 31), k=2))
    jan, feb, mar = date(2023, 1, 1), date(2023, 2, 1), date(2023, 3, 1)
    hidden = {
        (m, g)
        for m in (jan, feb, mar)
        for g in ("female", "male")
        if cell(rows, "hires", m, dim="gender", slice_=g).suppressed
    }
    assert hidden == {(jan, "female"), (jan, "male"), (feb, "female"), (feb, "male")}
    assert cell(rows, "hires", jan, dim="gender", slice_="female").workers == 0  # population not published
    assert [cell(rows, "hires", m, dim="gender", slice_=g).reason for m, g in sorted(hidden)] == [
        "primary",  # female Jan
        "secondary",  # male Jan, round 1
        "secondary",  # female Feb, round 1
        "secondary",  # male Feb, round 2
    ]
    assert cell(rows, "hires", feb, dim="gender", slice_="female").value is None
    assert not cell(rows, "hires", date(2023, 1, 1), kind="year", dim="gender", slice_="female").suppressed
    # a rate on a hidden count is hidden too (female Feb hires_rate), and headcount_avg (not a flow count)
    # is only touched by the Jan across-gender rule
    assert cell(rows, "hires_rate", feb, dim="gender", slice_="female").suppressed
    assert not cell(rows, "headcount_avg", feb, dim="gender", slice_="female").suppressed
    assert cell(rows, "headcount_avg", jan, dim="gender", slice_="male").suppressed


def test_runs_on_a_synthetic_log_in_reasonable_time() -> None:
    events = synthetic_log(workers=60, start=date(2022, 1, 1), end=date(2023, 12, 31))
    started = time.monotonic()
    rows = oracle_compute(
        events, as_of=date(2023, 12, 31), reference_wages=[ReferenceWage("all", 2023, 90000.0, "test")]
    )
    assert time.monotonic() - started < 60
    keys = [(r.indicator, r.period_kind, r.period, r.dimension, r.slice, r.category) for r in rows]
    assert len(keys) == len(set(keys))
    for row in rows:
        if row.suppressed:
            assert row.value is None and row.numerator is None and row.denominator is None
        if row.indicator in ("share_trained", "retention_rate", "stability_index") and row.value is not None:
            assert 0 <= row.value <= 100
    assert any(r.indicator == "pay_vs_reference" for r in rows)


def test_slices_of_one_dimension_add_up_to_all() -> None:
    # every worker is in exactly one value of gender / service model / channel / age band on a day,
    # so for additive figures the values of one dimension sum to the all cell (k = 1: nothing hidden)
    events = synthetic_log(workers=40, start=date(2022, 1, 1), end=date(2022, 12, 31), seed=3)
    rows = oracle_compute(events, as_of=date(2022, 12, 31), k=1)
    totals: dict[tuple[str, str, date, str], float] = {}
    for r in rows:
        if r.indicator in ("headcount_avg", "hires", "separations", "trainee_times") and r.value is not None:
            key = (r.indicator, r.period_kind, r.period, r.dimension)
            totals[key] = totals.get(key, 0.0) + r.value
    for (indicator, kind, period, dimension), total in totals.items():
        if dimension not in ("all", "org"):
            assert abs(total - totals[(indicator, kind, period, "all")]) < 1e-9, (indicator, period, dimension)


def test_v5_cohort_rows_on_hidden_hires_are_linked() -> None:
    # k = 2: M1 hired in February, F1 and F2 on 1 and 2 March 2021 (METRICS v5's example). March hires by gender:
    # male (population 1) primary, female (2) secondary. The female March cohort: 2 eligible = the hidden hires.
    events = [hire("M1", "2021-02-10", gender="male"), hire("F1", "2021-03-01"), hire("F2", "2021-03-02")]
    rows = table(oracle_compute(events, as_of=date(2022, 6, 30), k=2))
    march = date(2021, 3, 1)
    assert cell(rows, "hires", march, dim="gender", slice_="female").reason == "secondary"
    for mark in ("30", "90", "180", "365"):
        assert (
            cell(rows, "cohort_retention", march, kind="cohort", dim="gender", slice_="female", category=mark).reason
            == "linked"
        )
    assert cell(rows, "cohort_half_life", march, kind="cohort", dim="gender", slice_="female").reason == "linked"
    # 730 days: nobody eligible yet → no row for the slice (v5: no empty population)
    assert ("cohort_retention", "cohort", march, "gender", "female", "730") not in rows


def test_v5_pay_percentiles_need_2k_and_4k() -> None:
    # k = 5, five workers (METRICS v5's district): the mean is published, no percentile
    amounts = (5000, 6100, 7300, 8800, 23456)
    events = [e for n, a in enumerate(amounts) for e in (hire(f"w{n}", "2023-06-01"), pay(f"w{n}", "2023-06-01", a))]
    rows = table(oracle_compute(events, as_of=date(2023, 6, 30), k=5))
    june = date(2023, 6, 1)
    assert cell(rows, "pay_mean", june, category="total").value == sum(amounts) / 5
    for name in ("pay_p10", "pay_p25", "pay_median", "pay_p75", "pay_p90"):
        assert cell(rows, name, june, category="base").reason == "primary"


def test_v5_pay_figures_on_a_hidden_period_end_headcount_are_linked() -> None:
    # the engine's case (tests/unit/test_engine_suppression.py): the women's headcount_end is hidden, their pay
    # shows 4 paid workers (= it) and is linked; with 3 of them paid it is published
    from tests.unit.test_engine_suppression import _paid_by_gender

    jan = date(2023, 1, 1)
    rows = table(oracle_compute(_paid_by_gender(4, 3).events, as_of=date(2023, 1, 31), k=2))
    assert cell(rows, "headcount_end", jan, dim="gender", slice_="female").reason == "secondary"
    for name in ("pay_mean", "pay_median"):
        for comp in ("total", "base", "allowances"):
            assert cell(rows, name, jan, dim="gender", slice_="female", category=comp).reason == "linked"
    rows = table(oracle_compute(_paid_by_gender(3, 2).events, as_of=date(2023, 1, 31), k=2))
    women = cell(rows, "pay_mean", jan, dim="gender", slice_="female", category="total")
    assert not women.suppressed and women.workers == 3
