"""Report periods (contract section 4): months to date, complete years, rolling 12-month windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .dates import month_end, month_index, month_start


@dataclass(frozen=True, slots=True)
class Period:
    """A month or a year: its label (first day), first and last day (as_of in the as-of month), months."""

    kind: str
    label: date
    first: date
    last: date
    months: tuple[int, ...]
    pay_prev: date  # last day of the period one year earlier (pay growth)

    @property
    def age_year(self) -> int:
        return self.last.year


def month_periods(first_mi: int, as_of: date) -> list[Period]:
    out = []
    for mi in range(first_mi, month_index(as_of) + 1):
        start = month_start(mi)
        out.append(Period("month", start, start, min(month_end(mi), as_of), (mi,), month_end(mi - 12)))
    return out


def year_periods(first_mi: int, as_of: date) -> list[Period]:
    out = []
    for year in range(first_mi // 12, as_of.year + 1):
        if date(year, 12, 31) > as_of:
            break
        months = tuple(range(year * 12, year * 12 + 12))
        out.append(
            Period("year", date(year, 1, 1), date(year, 1, 1), date(year, 12, 31), months, date(year - 1, 12, 31))
        )
    return out


def rolling_months(first_mi: int, as_of: date) -> list[int]:
    """Months m whose last day is on or before as_of and whose window m-11..m starts at the first month."""
    return [mi for mi in range(first_mi + 11, month_index(as_of) + 1) if month_end(mi) <= as_of]
