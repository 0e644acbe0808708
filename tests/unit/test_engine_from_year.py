"""`compute(since=S)` gives exactly the full computation's cells of the periods that end on or after S
(`engine.compute.kept`): from 1 January of any year, and from any month of a year not complete at as-of."""

from __future__ import annotations

from datetime import date

import pytest

from services.metrics.engine import compute
from services.metrics.engine.compute import kept
from tests.oracle.synth import synthetic_log

AS_OF = date(2024, 12, 31)
MID_YEAR = date(2024, 8, 20)  # 2024 not complete: its months are computed on their own


@pytest.mark.parametrize("seed", [3, 7])
@pytest.mark.parametrize("levels", [None, frozenset({"district", "street"})])
def test_restricted_years_equal_the_full_computation(seed: int, levels: frozenset[str] | None) -> None:
    events = synthetic_log(workers=60, start=date(2021, 1, 1), end=AS_OF, seed=seed)
    full = compute(events, as_of=AS_OF, k=3, org_levels=levels).rows
    assert {row.period.year for row in full} >= {2021, 2022, 2023, 2024}
    for year in (2022, 2023, 2024):
        part = compute(events, as_of=AS_OF, k=3, org_levels=levels, since=date(year, 1, 1)).rows
        assert sorted(part) == sorted(row for row in full if row.period.year >= year), year


@pytest.mark.parametrize("seed", [3, 7])
def test_restricted_months_of_an_incomplete_year_equal_the_full_computation(seed: int) -> None:
    events = synthetic_log(workers=60, start=date(2021, 1, 1), end=MID_YEAR, seed=seed)
    levels = frozenset({"district", "street"})
    full = compute(events, as_of=MID_YEAR, k=3, org_levels=levels).rows
    for month in (1, 2, 5, 8):
        since = date(2024, month, 1)
        part = compute(events, as_of=MID_YEAR, k=3, org_levels=levels, since=since).rows
        expected = sorted(row for row in full if kept(row.period_kind, row.period, since))
        assert sorted(part) == expected, since
        if month < MID_YEAR.month:  # the as-of month has no rolling window yet (it ends after as-of)
            assert {row.period_kind for row in part} >= {"month", "rolling12", "cohort"}, since


def test_a_month_of_a_complete_year_is_refused() -> None:
    """Its months share the year's month-in-year groups: they are computed from 1 January."""
    events = synthetic_log(workers=10, start=date(2023, 1, 1), end=MID_YEAR, seed=3)
    with pytest.raises(ValueError, match="1 January"):
        compute(events, as_of=MID_YEAR, k=3, since=date(2023, 6, 1))
    with pytest.raises(ValueError, match="first day"):
        compute(events, as_of=MID_YEAR, k=3, since=date(2024, 6, 2))
