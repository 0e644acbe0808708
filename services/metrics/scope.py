"""What changed → from which month the indicators must be recomputed. Pure.

Conservative by design: a rule returns a month only where METRICS.md guarantees nothing earlier can change;
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


def recompute_since(new: list[EventRecord], known_first: Mapping[str, date], as_of: date) -> date | None:
    """The first day of the first month whose periods the `new` events can change (an event changes only periods
    that end on or after its own date, or the dates the rules below name), given each already-known worker's first
    event date; 1 January of its year when that year is complete at `as_of` (its months share the year's groups,
    `engine.compute`); None means recompute every period."""
    if not new:
        return None
    program_first = min(known_first.values(), default=None)
    batch_first = first_dates(new)
    days: list[date] = []
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
            days.append(day)
        elif event.event_type in ("turnover.separated.v1", "staffing.grade_changed.v1"):
            # the cohort and tenure of the spell a separation ends; a promotion's promoted_within of its spell's
            # hire year: no earlier than the worker's first day
            days.append(min(start, day))
        elif event.event_type == "training.completed.v1":
            days.append(day - timedelta(days=ON_TIME_DAYS))  # initial training on time of its cohort
        else:
            days.append(day)  # pay and transfers count from their effective date on, never before it
    first = min(days)
    return date(first.year, 1, 1) if date(first.year, 12, 31) <= as_of else first.replace(day=1)
