"""The oracle on the conventions fixed in docs/contract.md "Decisions": hand-computed scenarios."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.metrics.engine.model import EventRecord, ReferenceWage
from tests.oracle.compute import oracle_compute
from tests.unit.test_oracle import cell, ev, hire, pay, separate, table


def hire_in(worker: str, day: str, unit: str, channel: str, gender: str = "female") -> EventRecord:
    return ev("staffing.hired.v1", worker, org_unit_id=unit, hire_date=day, source_channel=channel,
              contract_type="fixed_term", gender=gender, birth_year=1990)  # fmt: skip


def rows_of(events: list[EventRecord], as_of: str, k: int = 1, **kw: Any) -> dict[Any, Any]:
    return table(oracle_compute(events, as_of=date.fromisoformat(as_of), k=k, **kw))


def test_same_day_rehire_separation_counts_in_the_spell_it_ends() -> None:
    # a: A/graduate from 1 Jan 2024, separated and rehired into B/other on 10 Mar 2024. Leaver tenure in A:
    # 31 + 29 + 10 = 70 days. A: end headcount 1 - 1 separation = 0; B: 0 + 1 hire = 1.
    events = [hire_in("a", "2024-01-01", "A", "graduate"), separate("a", "2024-03-10"),
              hire_in("a", "2024-03-10", "B", "other")]  # fmt: skip
    rows = rows_of(events, "2024-05-31")
    march = date(2024, 3, 1)
    assert cell(rows, "separations", march, dim="org", slice_="A").value == 1
    assert cell(rows, "separations", march, dim="org", slice_="B").value == 0
    assert cell(rows, "hires", march, dim="org", slice_="B").value == 1
    assert cell(rows, "separations", march, dim="source_channel", slice_="graduate").value == 1
    assert cell(rows, "hires", march, dim="source_channel", slice_="other").value == 1
    assert cell(rows, "median_tenure_leavers", march, dim="org", slice_="A").value == 70
    assert cell(rows, "headcount_end", march, dim="org", slice_="A").value == 0
    assert cell(rows, "headcount_end", march, dim="org", slice_="B").value == 1


def test_same_day_rehire_on_the_first_of_a_month_leaves_no_population_zero_cell() -> None:
    events = [hire_in("b", "2024-01-15", "A", "graduate"), separate("b", "2024-04-01"),
              hire_in("b", "2024-04-01", "B", "graduate")]  # fmt: skip
    rows = rows_of(events, "2024-05-31")
    april = date(2024, 4, 1)
    assert ("separations", "month", april, "org", "A", "") not in rows  # v5: no row for an empty population
    assert not cell(rows, "separations", april, dim="org", slice_="B").suppressed  # nor an empty sibling hiding B
    assert cell(rows, "separations", april).value == 1


def test_year_figures_include_end_headcount_tenure_and_training() -> None:
    training = ev("training.completed.v1", "a", course_id="c", class_id="k", kind="rotation",
                  start_date="2023-05-10", end_date="2023-05-10", hours="8", passed=True)  # fmt: skip
    events = [hire("a", "2023-03-01"), training, hire("b", "2023-06-01"), separate("b", "2023-09-30")]
    rows = rows_of(events, "2024-01-31")
    y = date(2023, 1, 1)
    assert cell(rows, "headcount_end", y, kind="year").value == 1
    assert cell(rows, "net_change", y, kind="year").value == 1
    assert cell(rows, "replacement_ratio", y, kind="year").value == 2
    assert cell(rows, "median_tenure_current", y, kind="year").value == 306
    assert cell(rows, "median_tenure_leavers", y, kind="year").value == 122
    assert cell(rows, "trainees", y, kind="year").value == 1
    assert cell(rows, "training_hours", y, kind="year", category="all").value == 8
    assert cell(rows, "share_trained", y, kind="year").value == 50
    assert ("stability_index", "year", y, "all", "all", "") not in rows


def test_pay_gap_population_is_men_and_women_and_either_group_below_k_suppresses() -> None:
    events = []
    for w, gender in (("m1", "male"), ("m2", "male"), ("m3", "male"), ("f1", "female"), ("u1", "undisclosed")):
        events += [hire(w, "2023-06-01", gender=gender), pay(w, "2023-06-01", 5000)]
    shown = cell(rows_of(events, "2023-06-30", k=1), "pay_gap_mean", date(2023, 6, 1))
    assert shown.workers == 4 and not shown.suppressed and shown.value == 0
    hidden = cell(rows_of(events, "2023-06-30", k=2), "pay_gap_mean", date(2023, 6, 1))
    assert hidden.suppressed and hidden.reason == "primary" and hidden.workers == 0  # population not published


def test_stability_row_for_a_slice_emptied_since_a_year_ago_and_no_empty_pay_growth() -> None:
    events = [hire("a", "2022-12-01", "A"), separate("a", "2023-06-30"), hire("b", "2022-12-01", "B"),
              pay("b", "2022-12-01", 5000), hire("c", "2022-12-01", "B"), pay("c", "2022-12-01", 5000)]  # fmt: skip
    rows = rows_of(events, "2024-01-31")
    row = cell(rows, "stability_index", date(2024, 1, 1), dim="org", slice_="A")
    assert (row.value, row.numerator, row.denominator, row.workers) == (0, 0, 1, 1)
    assert ("pay_growth", "month", date(2023, 6, 1), "all", "all", "") not in rows
    assert cell(rows, "pay_growth", date(2023, 12, 1)).value == 0


def test_a_later_reference_wage_of_the_same_region_and_year_wins() -> None:
    refs = [ReferenceWage("all", 2023, 30000.0, "first"), ReferenceWage("all", 2023, 60000.0, "reloaded")]
    events = [hire(w, "2023-01-01") for w in "ab"] + [pay(w, "2023-01-01", 5000) for w in "ab"]  # median: 2k
    rows = rows_of(events, "2024-01-31", reference_wages=refs)
    assert cell(rows, "pay_vs_reference", date(2023, 1, 1), kind="year").value == 1.0
