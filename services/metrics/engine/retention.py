"""Retention rate (SHRM), stability index (CIPD), cohort retention, tenures and cohort half-life."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
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


def retention_cells(
    cells: Cells,
    org: OrgTree,
    period: Period,
    stats: MonthStats,
    snaps: tuple[Snapshot, Snapshot],
    first_counts: Mapping[SliceKey, int],
) -> None:
    """retention_rate = employed on the first day and still (same spell, same slice) on the last / first-day count."""
    kept = _kept(org, snaps[0], snaps[1], period.age_year)
    for key, st in stats.items():
        base = first_counts.get(key, 0)
        cells.rate("retention_rate", period.kind, period.label, key, kept.get(key, 0), base, len(st.present))


def stability_cells(
    cells: Cells,
    org: OrgTree,
    period: Period,
    stats: MonthStats,
    snaps: tuple[Snapshot, Snapshot],
    year_ago_counts: Mapping[SliceKey, int],
) -> None:
    """stability_index at D = last day: employed at D-1y and D in one spell and one slice / employed at D-1y.

    Rows also for slices that had workers on D-1y but none in the period (all of them left: index 0).
    """
    kept = _kept(org, snaps[0], snaps[1], period.age_year)
    for key in sorted(stats.keys() | year_ago_counts.keys()):
        base = year_ago_counts.get(key, 0)
        cells.rate("stability_index", period.kind, period.label, key, kept.get(key, 0), base, base)


def tenure_cells(cells: Cells, period: Period, stats: MonthStats, end_groups: Groups) -> None:
    """Median service days of workers employed at the end of the last day, and of the period's leavers."""
    for key, st in stats.items():
        pop = len(st.present)
        if pop < cells.k:  # suppressed by population: the medians are never shown
            current, leavers = [], []
        else:
            current = sorted((period.last - spell.start).days + 1 for _, spell, _ in end_groups.get(key, ()))
            leavers = sorted(st.leaver_tenures)
        cells.value("median_tenure_current", period.kind, period.label, key, _median(current), pop)
        cells.value("median_tenure_leavers", period.kind, period.label, key, _median(leavers), pop)


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


def cohort_cells(cells: Cells, month: date, groups: dict[SliceKey, list[Member]], as_of: date) -> None:
    """cohort_retention per mark (eligible when h + t <= as_of) and cohort_half_life."""
    for key, members in groups.items():
        for mark in MARKS:
            delta = timedelta(days=mark)
            eligible = [m for m in members if m.spell.start + delta <= as_of]
            kept = sum(1 for m in eligible if m.retained_at(m.spell.start + delta))
            cells.rate("cohort_retention", "cohort", month, key, kept, len(eligible), len(eligible), category=str(mark))
        value = half_life(members, as_of)
        cells.put("cohort_half_life", "cohort", month, key, "", value, None, None, len(members))


def half_life(members: list[Member], as_of: date) -> float | None:
    """Smallest t >= 0 with every h + t <= as_of and 2 x (still in their spell at end of h + t) <= size."""
    durations = sorted((m.spell.counted_end - m.spell.start).days for m in members if m.spell.counted_end is not None)
    n = len(members)
    open_count = n - len(durations)
    # remaining(t) = members whose duration >= t; the (n//2 + 1)-th longest duration d gives t = d + 1.
    rank = n // 2 + 1
    if rank <= open_count:
        return None
    t = durations[len(durations) - (rank - open_count)] + 1
    latest_hire = max(m.spell.start for m in members)
    return float(t) if latest_hire + timedelta(days=t) <= as_of else None
