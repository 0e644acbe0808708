"""Employment spells: what the timeline produces and every indicator reads."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class PaySet:
    effective: date
    emitted_at: datetime
    event_id: str
    base: float
    allowances: float
    total: float
    weekly_hours: float
    hourly: float  # total / (weekly_hours x 52 / 12)


def _pay_order(pay: PaySet) -> tuple[date, datetime, str]:
    return (pay.effective, pay.emitted_at, pay.event_id)


@dataclass(frozen=True, slots=True)
class Training:
    end: date
    kind: str
    hours: float
    unit: str


@dataclass(frozen=True, slots=True)
class Separation:
    date: date
    kind: str
    reason: str
    unit: str


@dataclass(frozen=True, slots=True)
class GradeChange:
    """A valid grade change: ``move`` is ``promotion``, ``demotion`` or ``lateral`` against the level held the day
    before; ``unit`` is where the worker is that day."""

    date: date
    level: int
    title: str | None
    move: str
    unit: str


PROMOTION, DEMOTION, LATERAL = "promotion", "demotion", "lateral"


@dataclass(frozen=True, slots=True)
class Transfer:
    date: date
    from_unit: str
    to_unit: str


@dataclass(slots=True)
class Spell:
    """One employment spell; ``counted_end`` is the last day the worker counts in it (None: still open).

    ``counted_end`` is the separation day, or the day before when a rehire starts a new spell that same day.
    ``segments`` are (unit, first day, last day or None) inside the counted interval.
    """

    worker: str
    start: date
    hire_unit: str
    channel: str
    end: date | None = None
    counted_end: date | None = None
    separation: Separation | None = None
    segments: list[tuple[str, date, date | None]] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    pays: list[PaySet] = field(default_factory=list)
    trainings: list[Training] = field(default_factory=list)
    hire_level: int | None = None
    grades: list[GradeChange] = field(default_factory=list)
    _pay_dates: list[date] = field(default_factory=list)

    def contains(self, d: date) -> bool:
        """Employed in this spell at the end of day ``d``."""
        return self.start <= d and (self.counted_end is None or d <= self.counted_end)

    def unit_on(self, d: date) -> str:
        unit = self.hire_unit
        for seg_unit, first, _ in self.segments:
            if first > d:
                break
            unit = seg_unit
        return unit

    def level_on(self, d: date) -> int | None:
        """The level held at the end of ``d``: the latest grade change on or before it, else the hire's (None:
        unknown). ``grades`` are in date order (the replay appends them day by day)."""
        level = self.hire_level
        for change in self.grades:
            if change.date > d:
                break
            level = change.level
        return level

    def promoted_between(self, first: date, last: date) -> bool:
        """A promotion of this spell dated ``first`` .. ``last``."""
        return any(g.move == PROMOTION and first <= g.date <= last for g in self.grades)

    def add_pay(self, pay: PaySet) -> None:
        i = bisect_right(self.pays, _pay_order(pay), key=_pay_order)
        self.pays.insert(i, pay)
        self._pay_dates.insert(i, pay.effective)

    def pay_on(self, d: date) -> PaySet | None:
        """The latest pay set of this spell effective on or before ``d`` (ties: emitted_at, event_id)."""
        i = bisect_right(self._pay_dates, d)
        return self.pays[i - 1] if i else None


@dataclass(slots=True)
class Worker:
    """A worker's spells in order; gender and birth year from the latest valid hire event."""

    key: str
    gender: str | None = None
    birth_year: int | None = None
    spells: list[Spell] = field(default_factory=list)

    def spell_on(self, d: date) -> Spell | None:
        for spell in reversed(self.spells):
            if spell.start <= d:
                return spell if spell.contains(d) else None
        return None
