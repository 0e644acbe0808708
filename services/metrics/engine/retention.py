"""Retention rate (SHRM), stability index (CIPD), cohort retention, tenures and cohort half-life."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import chain

from .accumulate import MonthStats, Snapshot
from .cells import Cells, percentile
from .orgs import OrgTree, SliceKey
from .periods import Period
from .slices import worker_keys
from .spells import Spell, Worker

MARKS = (30, 90, 180, 365, 730)
Groups = dict[SliceKey, list[tuple[Worker, Spell, str]]]


def _kept(org: OrgTree, start: Snapshot, end: Snapshot, age_year: int) -> Counter[SliceKey]:
    """Per slice: workers in it at both snapshots, in the same spell."""

    def both(wkey: str, worker: Worker, spell: Spell, unit: str) -> tuple[SliceKey, ...]:
        later = end.get(wkey)
        if later is None or later[1] is not spell:
            return ()
        before = worker_keys(org, worker, spell, unit, age_year)
        if later[2] == unit:
            return before
        after = worker_keys(org, worker, spell, later[2], age_year)
        return tuple(key for key in before if key in after)

    return Counter(chain.from_iterable(both(wkey, *entry) for wkey, entry in start.items()))


@dataclass(frozen=True, slots=True)
class Retained:
    """What retention_rate and stability_index need of one slice in one period, whichever engine aggregated it: the
    workers in the slice at the end of a first day (``base``), those of them still in it, in the same spell, at the
    end of a last day (``kept``), and the population the cell is suppressed on (``workers``)."""

    workers: int
    base: int
    kept: int


def retention_figures(
    org: OrgTree,
    period: Period,
    stats: MonthStats,
    snaps: tuple[Snapshot, Snapshot],
    first_counts: Mapping[SliceKey, int],
) -> dict[SliceKey, Retained]:
    """The reference engine's first- and last-day snapshots as ``Retained`` (slices in the accumulators' order;
    the population: the workers employed at any time in the period)."""
    kept = _kept(org, snaps[0], snaps[1], period.age_year)
    return {key: Retained(len(st.present), first_counts.get(key, 0), kept.get(key, 0)) for key, st in stats.items()}


def retention_cells(cells: Cells, period: Period, figures: Mapping[SliceKey, Retained]) -> None:
    """retention_rate = employed on the first day and still (same spell, same slice) on the last / first-day count."""
    for key, f in figures.items():
        cells.rate("retention_rate", period.kind, period.label, key, f.kept, f.base, f.workers)


def stability_figures(
    org: OrgTree,
    period: Period,
    stats: MonthStats,
    snaps: tuple[Snapshot, Snapshot],
    year_ago_counts: Mapping[SliceKey, int],
) -> dict[SliceKey, Retained]:
    """The reference engine's snapshots at D-1y and D as ``Retained`` (the population: those employed at D-1y),
    for the period's slices and those that had workers on D-1y but none in the period (all of them left)."""
    kept = _kept(org, snaps[0], snaps[1], period.age_year)
    out: dict[SliceKey, Retained] = {}
    for key in sorted(stats.keys() | year_ago_counts.keys()):
        base = year_ago_counts.get(key, 0)
        out[key] = Retained(base, base, kept.get(key, 0))
    return out


def stability_cells(cells: Cells, period: Period, figures: Mapping[SliceKey, Retained]) -> None:
    """stability_index at D = last day: employed at D-1y and D in one spell and one slice / employed at D-1y."""
    for key, f in figures.items():
        cells.rate("stability_index", period.kind, period.label, key, f.kept, f.base, f.workers)


@dataclass(frozen=True, slots=True)
class TenureFigures:
    """What the tenure medians need of one slice in one period, whichever engine aggregated it: the population, and
    the median service days (``cells.percentile``, 50) of the workers employed at the end of the last day and of
    the period's leavers (None: nobody)."""

    workers: int
    current: float | None
    leavers: float | None


def tenure_figures(period: Period, stats: MonthStats, end_groups: Groups) -> dict[SliceKey, TenureFigures]:
    """The reference engine's accumulators and last-day groups as ``TenureFigures`` (the accumulators' order)."""
    out: dict[SliceKey, TenureFigures] = {}
    for key, st in stats.items():
        current = sorted((period.last - spell.start).days + 1 for _, spell, _ in end_groups.get(key, ()))
        out[key] = TenureFigures(len(st.present), _median(current), _median(sorted(st.leaver_tenures)))
    return out


def tenure_cells(cells: Cells, period: Period, figures: Mapping[SliceKey, TenureFigures]) -> None:
    """Median service days of workers employed at the end of the last day, and of the period's leavers."""
    for key, f in figures.items():
        shown = f.workers >= cells.k  # suppressed by population: the medians are never shown
        cells.value("median_tenure_current", period.kind, period.label, key, f.current if shown else None, f.workers)
        cells.value("median_tenure_leavers", period.kind, period.label, key, f.leavers if shown else None, f.workers)


def _median(values: list[int]) -> float | None:
    return percentile([float(v) for v in values], 50)


@dataclass(frozen=True, slots=True)
class Member:
    """A cohort member: a worker's first hire in the cohort month and the spell it started."""

    worker: Worker
    spell: Spell

    def retained_at(self, day: date) -> bool:
        return self.spell.counted_end is None or self.spell.counted_end >= day


def cohorts(workers: Iterable[Worker], as_of: date) -> dict[date, list[Member]]:
    """Hire-month cohorts up to as_of: each worker's first hire in the month."""
    out: dict[date, list[Member]] = {}
    for worker in workers:
        seen: set[date] = set()
        for spell in worker.spells:
            month = spell.start.replace(day=1)
            if spell.start > as_of or month in seen:
                continue
            seen.add(month)
            out.setdefault(month, []).append(Member(worker, spell))
    return out


def year_cohorts(workers: Iterable[Worker], as_of: date) -> dict[date, list[Member]]:
    """Hire-year cohorts of the complete years up to as_of: each worker's first hire in the year."""
    out: dict[date, list[Member]] = {}
    for worker in workers:
        seen: set[int] = set()
        for spell in worker.spells:
            year = spell.start.year
            if date(year, 12, 31) > as_of or year in seen:
                continue
            seen.add(year)
            out.setdefault(date(year, 1, 1), []).append(Member(worker, spell))
    return out


def cohort_groups(org: OrgTree, members: list[Member]) -> dict[SliceKey, list[Member]]:
    """Members split by the slices of their hire day, slices in sorted order."""
    groups: dict[SliceKey, list[Member]] = {}
    for m in members:
        for key in worker_keys(org, m.worker, m.spell, m.spell.hire_unit, m.spell.start.year):
            groups.setdefault(key, []).append(m)
    return dict(sorted(groups.items()))


@dataclass(frozen=True, slots=True)
class CohortFigures:
    """What cohort retention and half-life need of one slice of one hire cohort, whichever engine aggregated it:
    its size, its latest hire date, the days from hire to counted end of the members who left (ascending), and per
    mark of ``MARKS`` the members eligible (hire + mark <= as_of) and those of them still in their spell at the
    end of hire + mark."""

    size: int
    latest_hire: date
    closed: Sequence[int]
    eligible: tuple[int, ...]
    kept: tuple[int, ...]


def cohort_figures(groups: Mapping[SliceKey, list[Member]], as_of: date) -> dict[SliceKey, CohortFigures]:
    """The reference engine's cohort members as ``CohortFigures`` (the groups' order)."""
    out: dict[SliceKey, CohortFigures] = {}
    for key, members in groups.items():
        eligible, kept = [], []
        for mark in MARKS:
            delta = timedelta(days=mark)
            marked = [m for m in members if m.spell.start + delta <= as_of]
            eligible.append(len(marked))
            kept.append(sum(1 for m in marked if m.retained_at(m.spell.start + delta)))
        closed = sorted((m.spell.counted_end - m.spell.start).days for m in members if m.spell.counted_end is not None)
        latest = max(m.spell.start for m in members)
        out[key] = CohortFigures(len(members), latest, closed, tuple(eligible), tuple(kept))
    return out


def cohort_cells(cells: Cells, month: date, figures: Mapping[SliceKey, CohortFigures], as_of: date) -> None:
    """cohort_retention per mark (eligible when h + t <= as_of) and cohort_half_life."""
    for key, f in figures.items():
        for mark, eligible, kept in zip(MARKS, f.eligible, f.kept, strict=True):
            cells.rate("cohort_retention", "cohort", month, key, kept, eligible, eligible, category=str(mark))
        cells.put("cohort_half_life", "cohort", month, key, "", half_life(f, as_of), None, None, f.size)


def half_life(f: CohortFigures, as_of: date) -> float | None:
    """Smallest t >= 0 with every h + t <= as_of and 2 x (still in their spell at end of h + t) <= size."""
    durations = f.closed
    open_count = f.size - len(durations)
    # remaining(t) = members whose duration >= t; the (n//2 + 1)-th longest duration d gives t = d + 1.
    rank = f.size // 2 + 1
    if rank <= open_count:
        return None
    t = durations[len(durations) - (rank - open_count)] + 1
    return float(t) if f.latest_hire + timedelta(days=t) <= as_of else None
