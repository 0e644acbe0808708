"""One pass over spells into per-month, per-slice accumulators, plus end-of-day snapshots.

Headcount days come from interval overlaps (a unit segment contributes its overlap days to each month it
touches), never from a day-by-day loop.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import chain

from .dates import month_end, month_index, month_start
from .orgs import OrgTree, SliceKey
from .slices import ALL, BIRTH, band_key, worker_keys
from .spells import PROMOTION, Spell, Worker


@dataclass(slots=True)
class SliceStats:
    """Sums for one slice over one month (or, merged, over several)."""

    days: int = 0
    avg_sum: float = 0.0
    present: set[str] = field(default_factory=set)
    hires: int = 0
    seps: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    leaver_tenures: list[int] = field(default_factory=list)
    t_in: int = 0
    t_out: int = 0
    train_times: int = 0
    trainees: set[str] = field(default_factory=set)
    hours: dict[str, float] = field(default_factory=dict)
    times_by_kind: Counter[str] = field(default_factory=Counter)
    trainees_by_kind: dict[str, set[str]] = field(default_factory=dict)
    moves: Counter[str] = field(default_factory=Counter)  # grade changes by move (promotion, demotion, lateral)

    def merge(self, other: SliceStats) -> None:
        self.days += other.days
        self.avg_sum += other.avg_sum
        self.present |= other.present
        self.hires += other.hires
        self.seps.update(other.seps)
        self.reasons.update(other.reasons)
        self.leaver_tenures.extend(other.leaver_tenures)
        self.t_in += other.t_in
        self.t_out += other.t_out
        self.train_times += other.train_times
        self.trainees |= other.trainees
        for kind, hours in other.hours.items():
            self.hours[kind] = self.hours.get(kind, 0.0) + hours
        self.times_by_kind.update(other.times_by_kind)
        self.moves.update(other.moves)
        for kind, workers in other.trainees_by_kind.items():
            self.trainees_by_kind.setdefault(kind, set()).update(workers)


MonthStats = dict[SliceKey, SliceStats]


class Monthly:
    """Per-month accumulators for months ``first_mi`` .. ``last_mi``; days clipped to ``as_of``."""

    def __init__(self, first_mi: int, last_mi: int, as_of: date) -> None:
        self.first_mi = first_mi
        self.last_mi = last_mi
        self.as_of = as_of
        self.start = month_start(first_mi)
        self.months: dict[int, MonthStats] = {mi: {} for mi in range(first_mi, last_mi + 1)}
        self.bounds = {mi: (month_start(mi), month_end(mi)) for mi in self.months}

    def _stats(self, mi: int, key: SliceKey) -> SliceStats:
        bucket = self.months[mi]
        st = bucket.get(key)
        if st is None:
            st = bucket[key] = SliceStats()
        return st

    def _in_range(self, d: date) -> bool:
        return self.start <= d <= self.as_of

    def add_worker(self, org: OrgTree, worker: Worker) -> None:
        for spell in worker.spells:
            self._add_exposure(org, worker, spell)
            self._add_flows(org, worker, spell)

    def _add_exposure(self, org: OrgTree, worker: Worker, spell: Spell) -> None:
        for unit, first, last in spell.segments:
            a = max(first, self.start)
            b = self.as_of if last is None or last > self.as_of else last
            if a > b:
                continue
            keys = worker_keys(org, worker, spell, unit, None)
            for mi in range(month_index(a), month_index(b) + 1):
                first_day, last_day = self.bounds[mi]
                days = (min(b, last_day) - max(a, first_day)).days + 1
                bucket = self.months[mi]
                for key in keys:
                    st = bucket.get(key)
                    if st is None:
                        st = bucket[key] = SliceStats()
                    st.days += days
                    st.present.add(worker.key)

    def _add_flows(self, org: OrgTree, worker: Worker, spell: Spell) -> None:
        if self._in_range(spell.start):
            for key in worker_keys(org, worker, spell, spell.hire_unit, None):
                self._stats(month_index(spell.start), key).hires += 1
        sep = spell.separation
        if sep is not None and self._in_range(sep.date):
            tenure = (sep.date - spell.start).days + 1
            for key in worker_keys(org, worker, spell, sep.unit, None):
                st = self._stats(month_index(sep.date), key)
                st.seps[sep.kind] += 1
                st.reasons[sep.reason] += 1
                st.leaver_tenures.append(tenure)
        for tr in spell.transfers:
            if not self._in_range(tr.date):
                continue
            old, new = org.chain(tr.from_unit), org.chain(tr.to_unit)
            mi = month_index(tr.date)
            for unit in old:
                if unit not in new:
                    self._stats(mi, ("org", unit)).t_out += 1
            for unit in new:
                if unit not in old:
                    self._stats(mi, ("org", unit)).t_in += 1
        for change in spell.grades:
            if self._in_range(change.date):
                for key in worker_keys(org, worker, spell, change.unit, None):
                    self._stats(month_index(change.date), key).moves[change.move] += 1
        for tn in spell.trainings:
            if not self._in_range(tn.end):
                continue
            for key in worker_keys(org, worker, spell, tn.unit, None):
                st = self._stats(month_index(tn.end), key)
                st.train_times += 1
                st.trainees.add(worker.key)
                st.hours[tn.kind] = st.hours.get(tn.kind, 0.0) + tn.hours
                st.times_by_kind[tn.kind] += 1
                st.trainees_by_kind.setdefault(tn.kind, set()).add(worker.key)

    def finish(self) -> None:
        """Turn headcount days into monthly averages (the as-of month divides by its elapsed days)."""
        for mi, bucket in self.months.items():
            ndays = (min(month_end(mi), self.as_of) - month_start(mi)).days + 1
            bucket.setdefault(ALL, SliceStats())
            for st in bucket.values():
                st.avg_sum = st.days / ndays

    def banded(self, mis: Sequence[int], age_year: int) -> MonthStats:
        """Merge the given months into one stats per slice, birth years mapped to bands of ``age_year``.

        Slices come in sorted order (so cells are stored in output order). The result may share SliceStats
        objects with the accumulator: callers must not mutate it.
        """
        if len(mis) == 1:
            return dict(sorted(self._one_month(mis[0], age_year).items()))
        out: MonthStats = {ALL: SliceStats()}
        for mi in mis:
            for key, st in self.months.get(mi, {}).items():
                target = band_key(key, age_year)
                acc = out.get(target)
                if acc is None:
                    acc = out[target] = SliceStats()
                acc.merge(st)
        return dict(sorted(out.items()))

    def _one_month(self, mi: int, age_year: int) -> MonthStats:
        out: MonthStats = {}
        for key, st in self.months.get(mi, {}).items():
            if key[0] != BIRTH:
                out[key] = st
                continue
            target = band_key(key, age_year)
            acc = out.get(target)
            if acc is None:
                acc = out[target] = SliceStats()
            acc.merge(st)
        out.setdefault(ALL, SliceStats())
        return out

    def rolling(self, windows: Sequence[int]) -> Iterator[tuple[int, dict[SliceKey, Rolling]]]:
        """Per window end month m (ascending): per slice, the flows, average headcount and distinct workers.

        The window slides month by month; headcount is summed in exact integer units of 1/lcm(1..31) day.
        """
        seps: Counter[SliceKey] = Counter()
        quits: Counter[SliceKey] = Counter()
        involuntary: Counter[SliceKey] = Counter()
        hires: Counter[SliceKey] = Counter()
        promotions: Counter[SliceKey] = Counter()
        units: Counter[SliceKey] = Counter()
        present: dict[SliceKey, Counter[str]] = {}

        def slide(mi: int, sign: int) -> None:
            ndays = (min(month_end(mi), self.as_of) - month_start(mi)).days + 1
            for key, st in self.months.get(mi, {}).items():
                seps[key] += sign * sum(st.seps.values())
                quits[key] += sign * st.seps["voluntary"]
                involuntary[key] += sign * st.seps["involuntary"]
                hires[key] += sign * st.hires
                promotions[key] += sign * st.moves[PROMOTION]
                units[key] += sign * st.days * (DAY_UNITS // ndays)
                counter = present.setdefault(key, Counter())
                for worker in st.present:
                    counter[worker] += sign
                    if not counter[worker]:
                        del counter[worker]

        done = self.first_mi - 1
        for end in windows:
            while done < end:
                done += 1
                slide(done, 1)
                if done - 12 >= self.first_mi:
                    slide(done - 12, -1)
            out: dict[SliceKey, Rolling] = {}
            for key, counter in present.items():
                if not counter and not seps[key]:
                    continue
                target = band_key(key, end // 12)
                prev = out.get(target, NO_FLOWS)
                out[target] = Rolling(
                    prev.seps + seps[key],
                    prev.units + units[key],
                    prev.workers + len(counter),
                    prev.voluntary + quits[key],
                    prev.involuntary + involuntary[key],
                    prev.hires + hires[key],
                    prev.promotions + promotions[key],
                )
            out.setdefault(ALL, NO_FLOWS)
            yield end, dict(sorted(out.items()))


DAY_UNITS = math.lcm(*range(1, 32))


@dataclass(frozen=True, slots=True)
class Rolling:
    seps: int
    units: int  # headcount-days x DAY_UNITS / days of their month, summed over the window
    workers: int
    voluntary: int
    involuntary: int
    hires: int
    promotions: int

    @property
    def headcount_avg(self) -> float:
        """Average headcount of the window: sum of the 12 monthly averages / 12."""
        return self.units / (DAY_UNITS * 12)


NO_FLOWS = Rolling(0, 0, 0, 0, 0, 0, 0)
Groups = dict[SliceKey, list[tuple[Worker, Spell, str]]]
Snapshot = dict[str, tuple[Worker, Spell, str]]


def snapshots(workers: Iterable[Worker], days: Iterable[date]) -> dict[date, Snapshot]:
    """Who is employed at the end of each given day: worker key -> (worker, spell, unit)."""
    ordered = sorted(set(days))
    out: dict[date, Snapshot] = {d: {} for d in ordered}
    for worker in workers:
        for spell in worker.spells:
            for unit, first, last in spell.segments:
                lo = bisect_left(ordered, first)
                hi = len(ordered) if last is None else bisect_right(ordered, last)
                for d in ordered[lo:hi]:
                    out[d][worker.key] = (worker, spell, unit)
    return out


def slice_counts(org: OrgTree, snap: Snapshot, age_year: int) -> Counter[SliceKey]:
    """Headcount of a snapshot per slice, ages for a period ending in ``age_year``."""
    return Counter(chain.from_iterable(worker_keys(org, w, s, u, age_year) for w, s, u in snap.values()))


def group_snapshot(org: OrgTree, snap: Snapshot, age_year: int) -> dict[SliceKey, list[tuple[Worker, Spell, str]]]:
    """A snapshot split by slice, ages for a period ending in ``age_year``."""
    groups: defaultdict[SliceKey, list[tuple[Worker, Spell, str]]] = defaultdict(list)
    for entry in snap.values():
        for key in worker_keys(org, entry[0], entry[1], entry[2], age_year):
            groups[key].append(entry)
    return dict(groups)
