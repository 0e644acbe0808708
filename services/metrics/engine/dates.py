"""Calendar helpers: month indices (year * 12 + month - 1) and the one-year-back rule."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

ONE_DAY = timedelta(days=1)


def to_date(value: Any) -> date:
    """A payload date (ISO string or date) as a calendar date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip()[:10])
    raise ValueError(f"not a date: {value!r}")


def month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def month_start(mi: int) -> date:
    return date(mi // 12, mi % 12 + 1, 1)


def month_end(mi: int) -> date:
    return month_start(mi + 1) - ONE_DAY


def year_ago(d: date) -> date:
    """The same calendar day one year earlier; one year before 29 February is 28 February."""
    if d.month == 2 and d.day == 29:
        return date(d.year - 1, 2, 28)
    return d.replace(year=d.year - 1)
