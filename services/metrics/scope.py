"""What changed → from which year the indicators must be recomputed. Pure.

Conservative by design: a rule returns a year only where METRICS.md guarantees nothing earlier can change;
anything else (org changes, corrections, a hire of a worker already known, an event before the program's first
date) asks for everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from .engine import EventRecord

DATE_FIELD = {
    "staffing.hired.v1": "hire_date",
    "staffing.grade_changed.v1": "effective_date",
    "staffing.transferred.v1": "effective_date",
    "staffing.pay_set.v1": "effective_date",
    "turnover.separated.v1": "separation_date",
    "training.completed.v1": "end_date",
}
ON_TIME_DAYS = 90


def event_date(event: EventRecord) -> date | None:
    field = DATE_FIELD.get(event.event_type)
    return date.fromisoformat(str(event.data[field])) if field else None


def first_dates(events: Iterable[EventRecord]) -> dict[str, date]:
    """Each worker's earliest event date."""
    out: dict[str, date] = {}
    for event in events:
        day = event_date(event)
        if day is not None and event.worker_key and (event.worker_key not in out or day < out[event.worker_key]):
            out[event.worker_key] = day
    return out


def recompute_from(new: list[EventRecord], known_first: Mapping[str, date]) -> int | None:
    """The first year the `new` events can change, given each already-known worker's first event date;
    None means recompute every year."""
    if not new:
        return None
    program_first = min(known_first.values(), default=None)
    batch_first = first_dates(new)
    years: list[int] = []
    for event in new:
        day = event_date(event)
        if day is None or not event.worker_key:
            return None  # org events and corrections can reach any period
        if program_first is None or day < program_first:
            return None  # the first month moves
        start = known_first.get(event.worker_key, batch_first[event.worker_key])
        if event.event_type == "staffing.hired.v1":
            if event.worker_key in known_first:
                return None  # a rehire may change the worker's gender and age band in every period
            years.append(day.year)
        elif event.event_type == "turnover.separated.v1":
            years.append(start.year)  # the cohort and tenure of the spell it ends
        elif event.event_type == "training.completed.v1":
            years.append((day - timedelta(days=ON_TIME_DAYS)).year)  # initial training on time of its cohort
        else:
            # pay from its effective date, transfers and grade changes from theirs (a promotion's promoted_within
            # hire years: no earlier than the worker's first year, appended below)
            years.append(day.year)
        years.append(min(start, day).year)
    return min(years)
