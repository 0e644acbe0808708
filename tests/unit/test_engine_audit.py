"""The publish audit's check (engine.audit): LP bounds over the METRICS.md relations on hand-made tables."""

from __future__ import annotations

import math
from datetime import date

from services.metrics.engine.audit import AUDIT, audit_table, find_leaks, width
from services.metrics.engine.cells import Cells
from services.metrics.engine.orgs import build_org_tree

AS_OF = date(2024, 12, 31)
JAN = date(2024, 1, 1)
ORG = build_org_tree([])


def _hires(female: int, male: int, total: int, *, k: int = 5) -> Cells:
    """One month's hires by gender; populations chosen so that women's cell is below k and men's is not."""
    cells = Cells(k)
    cells.value("hires", "month", JAN, ("all", "all"), total, 20)
    cells.value("hires", "month", JAN, ("gender", "female"), female, 3)
    cells.value("hires", "month", JAN, ("gender", "male"), male, 17)
    return cells


def test_the_width_is_two_or_a_fifth_and_nothing_for_a_zero() -> None:
    assert width(1) == 2
    assert width(40) == 8
    assert width(0) == 0


def test_a_hidden_child_beside_a_published_sibling_is_found_exactly() -> None:
    cells = _hires(female=1, male=4, total=5)
    report, leaks = find_leaks(cells, ORG, AS_OF)
    assert not report.passed
    assert leaks == {"hires month 2024-01-01 gender=female (v)": (1.0, 1.0)}


def test_two_hidden_children_with_room_between_them_pass() -> None:
    cells = _hires(female=1, male=4, total=5)
    cells.hide(("hires", "month", JAN, ""), ("gender", "male"), "secondary")
    report, leaks = find_leaks(cells, ORG, AS_OF)
    assert report.passed and not leaks
    assert report.cells_checked == 2


def test_a_zero_pinned_to_zero_needs_no_protection() -> None:
    report, leaks = find_leaks(_hires(female=0, male=5, total=5), ORG, AS_OF)
    assert report.passed and not leaks


def test_a_year_minus_its_published_months_is_found() -> None:
    cells = Cells(5)
    for month in range(1, 13):
        cells.value(
            "training_hours", "month", date(2024, month, 1), ("all", "all"), 10.0 * month, 30 if month > 1 else 2
        )
    cells.value("training_hours", "year", JAN, ("all", "all"), 780.0, 30)
    _, leaks = find_leaks(cells, ORG, AS_OF)
    assert leaks == {"training_hours month 2024-01-01 all=all (v)": (10.0, 10.0)}  # January: 2 workers, hidden


def test_the_loop_hides_the_published_sibling_and_then_passes() -> None:
    cells = _hires(female=1, male=4, total=5)
    report = audit_table(cells, ORG, AS_OF)
    assert report.passed and report.hidden == 1 and report.rounds == 2
    male = cells.families[("hires", "month", JAN, "")][("gender", "male")]
    assert male.suppressed and male.reason == AUDIT
    assert not math.isnan(report.seconds)
