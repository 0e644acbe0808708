"""Per-worker facts (issue 13): what one worker's replayed spells contribute, as rows for ClickHouse to aggregate.

The reference engine (``services.metrics.engine``) keeps every worker's spells in memory and accumulates slices in
Python. The warehouse path writes, worker by worker, only the facts the aggregations read, with the attributes
that decide a worker's slices (unit, source channel, gender, birth year) left as columns: ClickHouse turns them
into slice keys (the unit's published org chain and service model come from ``org_rows``) and age bands of the
period, so a fact is written once whatever the period.

- ``presence``: the days a worker counts in a unit in a month (a spell's unit segment clipped to the month and to
  the as-of date): average headcount (days / days of the month) and the population (distinct workers).
- ``segments``: the unit segments themselves, open ones with no last day: period-end headcount on any day.
- ``flows``: hires (in the hire unit), separations (kind and reason, in the unit of the day) and grade changes
  (kind: the move), dated up to as-of.
- ``transfers``: each transfer's from and to units; the aggregation counts it in and out of the org units of one
  chain and not the other.
- ``trainings``: each training on its end date (up to as-of), in the unit of that day, with its course kind and hours.
- ``levels``: the unit segments cut where the level held changes (``Spell.level_on``), with the spell (its start):
  the level code (``career.level_code``) of the workers employed at the end of any day.
- ``pays``: the pay set in force (``Spell.pay_on``) over each interval of a unit segment with one pay set, from on
  or before as-of, open ones with no last day: the pay in force of the workers employed at the end of any day.
- ``promotions``: each promotion (up to as-of) with its spell: promoted within a time of hire, or in given years.
- ``spells``: each spell hired up to as-of: its hire day and unit, its counted end, its separation (day and unit, up
  to as-of), whether it is the worker's first hire of its month and of its year, and whether its initial training
  was on time (``training.on_time``): leaver tenures and hire cohorts. ``segments`` name their spell (its start).

Pure: no I/O. The same replay as the reference engine (``EventLog``), so both read the same spells.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from ..engine.career import level_code
from ..engine.dates import month_end, month_index, month_start
from ..engine.orgs import OrgTree
from ..engine.spells import PROMOTION, PaySet, Spell, Worker
from ..engine.training import on_time

PRESENCE = ("worker_key", "month", "unit", "channel", "gender", "birth_year", "days")
SEGMENTS = ("worker_key", "unit", "first", "last", "channel", "gender", "birth_year", "spell")
FLOWS = ("worker_key", "day", "flow", "unit", "channel", "gender", "birth_year", "kind", "reason")
TRANSFERS = ("worker_key", "day", "from_unit", "to_unit")
TRAININGS = ("worker_key", "day", "unit", "channel", "gender", "birth_year", "kind", "hours")
LEVELS = ("worker_key", "spell", "unit", "first", "last", "level", "channel", "gender", "birth_year")
PROMOTIONS = ("worker_key", "spell", "day")
PAYS = (
    "worker_key", "unit", "first", "last", "channel", "gender", "birth_year", "total", "base", "allowances", "hourly",
)  # fmt: skip
SPELLS = (
    "worker_key", "start", "hire_unit", "channel", "gender", "birth_year", "counted_end", "sep_day", "sep_unit",
    "month_first", "year_first", "on_time",
)  # fmt: skip
ORG = ("unit", "chain", "service_model")
HIRE, SEPARATION, GRADE = "hire", "separation", "grade"


@dataclass(slots=True)
class Facts:
    """Rows for the fact tables, in the column orders above."""

    presence: list[tuple[object, ...]] = field(default_factory=list)
    segments: list[tuple[object, ...]] = field(default_factory=list)
    flows: list[tuple[object, ...]] = field(default_factory=list)
    transfers: list[tuple[object, ...]] = field(default_factory=list)
    trainings: list[tuple[object, ...]] = field(default_factory=list)
    levels: list[tuple[object, ...]] = field(default_factory=list)
    promotions: list[tuple[object, ...]] = field(default_factory=list)
    spells: list[tuple[object, ...]] = field(default_factory=list)
    pays: list[tuple[object, ...]] = field(default_factory=list)
    units: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        tables = (self.presence, self.segments, self.flows, self.transfers, self.trainings, self.spells)
        return sum(map(len, tables)) + len(self.levels) + len(self.promotions) + len(self.pays)


def worker_facts(worker: Worker, first: date, as_of: date, out: Facts) -> None:
    """Append ``worker``'s facts for the dates ``first`` .. ``as_of`` (the table's first month's first day to the
    as-of date) to ``out``, as the reference engine's ``Monthly`` accumulates them."""
    who = (worker.gender or "", worker.birth_year or 0)  # the tables' "none" (queries.TABLES)
    _spell_facts(worker, who, first, as_of, out)
    for spell in worker.spells:
        attrs = (spell.channel, *who)
        for unit, seg_first, seg_last in spell.segments:
            out.units.add(unit)
            out.segments.append((worker.key, unit, seg_first, seg_last, *attrs, spell.start))
            a = max(seg_first, first)
            b = as_of if seg_last is None or seg_last > as_of else seg_last
            for mi in range(month_index(a), month_index(b) + 1) if a <= b else ():
                days = (min(b, month_end(mi)) - max(a, month_start(mi))).days + 1
                out.presence.append((worker.key, month_start(mi), unit, *attrs, days))
        if first <= spell.start <= as_of:
            out.units.add(spell.hire_unit)
            out.flows.append((worker.key, spell.start, HIRE, spell.hire_unit, *attrs, "", ""))
        sep = spell.separation
        if sep is not None and first <= sep.date <= as_of:
            out.units.add(sep.unit)
            out.flows.append((worker.key, sep.date, SEPARATION, sep.unit, *attrs, sep.kind, sep.reason))
        for change in spell.grades:  # kind: the move (promotion, demotion, lateral), in the unit of the day
            if first <= change.date <= as_of:
                out.units.add(change.unit)
                out.flows.append((worker.key, change.date, GRADE, change.unit, *attrs, change.move, ""))
        for tr in spell.transfers:
            if first <= tr.date <= as_of:
                out.units.update((tr.from_unit, tr.to_unit))
                out.transfers.append((worker.key, tr.date, tr.from_unit, tr.to_unit))
        for tn in spell.trainings:
            if first <= tn.end <= as_of:
                out.units.add(tn.unit)
                out.trainings.append((worker.key, tn.end, tn.unit, *attrs, tn.kind, tn.hours))
        for unit, lo, hi, pay in pay_intervals(spell, as_of):
            out.pays.append((worker.key, unit, lo, hi, *attrs, pay.total, pay.base, pay.allowances, pay.hourly))
        _grade_facts(worker.key, spell, attrs, as_of, out)


def _spell_facts(worker: Worker, who: tuple[str, int], first: date, as_of: date, out: Facts) -> None:
    """A worker's spells hired up to ``as_of``; first of its month and year as ``retention.cohorts`` and
    ``retention.year_cohorts`` pick them (spells are in start order)."""
    months: set[date] = set()
    years: set[int] = set()
    for spell in worker.spells:
        if spell.start > as_of:
            break
        month, year = spell.start.replace(day=1), spell.start.year
        sep = spell.separation
        left = sep if sep is not None and first <= sep.date <= as_of else None
        out.units.add(spell.hire_unit)
        if left is not None:
            out.units.add(left.unit)
        out.spells.append(
            (
                worker.key, spell.start, spell.hire_unit, spell.channel, *who, spell.counted_end,
                None if left is None else left.date, "" if left is None else left.unit,
                month not in months, year not in years, on_time(spell),
            )
        )  # fmt: skip
        months.add(month)
        years.add(year)


def pay_intervals(spell: Spell, as_of: date) -> list[tuple[str, date, date | None, PaySet]]:
    """The unit segments of ``spell`` cut where its pay in force (``Spell.pay_on``) changes: (unit, first day,
    last day or None, pay set), those starting after ``as_of`` and days without pay left out."""
    latest: dict[date, PaySet] = {}
    for pay in spell.pays:  # in (effective, emitted_at, event_id) order: the last of a date is in force
        latest[pay.effective] = pay
    starts = sorted(latest)
    out: list[tuple[str, date, date | None, PaySet]] = []
    for i, start in enumerate(starts):
        until = starts[i + 1] - timedelta(days=1) if i + 1 < len(starts) else None
        for unit, first, last in spell.segments:
            lo = max(first, start)
            hi = until if last is None else last if until is None else min(last, until)
            if lo <= as_of and (hi is None or lo <= hi):
                out.append((unit, lo, hi, latest[start]))
    return out


def _grade_facts(wkey: str, spell: Spell, attrs: tuple[object, ...], as_of: date, out: Facts) -> None:
    """A spell's level segments (its unit segments cut where ``Spell.level_on`` changes) and promotions."""
    starts: list[tuple[date, int | None]] = [(spell.start, spell.hire_level)]
    for change in spell.grades:  # in date order: the last change of a day holds at its end
        if change.date == starts[-1][0]:
            starts[-1] = (change.date, change.level)
        else:
            starts.append((change.date, change.level))
        if change.move == PROMOTION and change.date <= as_of:
            out.promotions.append((wkey, spell.start, change.date))
    for i, (since, level) in enumerate(starts):
        until = starts[i + 1][0] - timedelta(days=1) if i + 1 < len(starts) else None
        for unit, first, last in spell.segments:
            lo = max(first, since)
            hi = until if last is None else last if until is None else min(last, until)
            if hi is None or lo <= hi:
                out.levels.append((wkey, spell.start, unit, lo, hi, level_code(level), *attrs))


def facts_of(workers: Iterable[Worker], first: date, as_of: date) -> Facts:
    """Every worker's facts (see ``worker_facts``)."""
    out = Facts()
    for worker in workers:
        worker_facts(worker, first, as_of, out)
    return out


def org_rows(org: OrgTree, units: Iterable[str]) -> list[tuple[object, ...]]:
    """Per unit a fact names: its published org chain (itself and its published ancestors, nearest first) and its
    service model, as ``OrgTree`` resolves them (a unit never registered is its own root, model ``none``)."""
    return [(unit, list(org.chain(unit)), org.service_model(unit)) for unit in sorted(units)]
