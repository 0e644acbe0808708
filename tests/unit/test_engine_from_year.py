"""`compute(from_year=Y)` gives exactly the full computation's cells of the years Y and later."""

from __future__ import annotations

from datetime import date

import pytest

from services.metrics.engine import compute
from tests.oracle.synth import synthetic_log

AS_OF = date(2024, 12, 31)


@pytest.mark.parametrize("seed", [3, 7])
@pytest.mark.parametrize("levels", [None, frozenset({"district", "street"})])
def test_restricted_years_equal_the_full_computation(seed: int, levels: frozenset[str] | None) -> None:
    events = synthetic_log(workers=60, start=date(2021, 1, 1), end=AS_OF, seed=seed)
    full = compute(events, as_of=AS_OF, k=3, org_levels=levels).rows
    assert {row.period.year for row in full} >= {2021, 2022, 2023, 2024}
    for year in (2022, 2023, 2024):
        part = compute(events, as_of=AS_OF, k=3, org_levels=levels, from_year=year).rows
        assert sorted(part) == sorted(row for row in full if row.period.year >= year), year
