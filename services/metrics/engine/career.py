"""Career progression (METRICS.md v5; contract section 4, "Career"): promotions, demotions and lateral regrades,
the promotion rate, promotion within 1-3 years of hire, the grade mix, median pay by level, and voluntary turnover
by promotion status.

Levels come from the spells (``Spell.level_on``, ``Spell.grades``) that the timeline built; categories are levels
written as decimal strings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from .accumulate import Groups, MonthStats, Snapshot
from .cells import Cells, Sample, sample
from .headcount import headcount_avg
from .orgs import SliceKey
from .pay import MEDIAN_NEED, PaidGroups
from .periods import Period
from .retention import Member
from .slices import ALL
from .spells import DEMOTION, LATERAL, PROMOTION

PROMOTED_MARKS = (365, 730, 1095)
"""Days after hire for ``promoted_within`` (1, 2 and 3 years)."""
UNKNOWN = "unknown"
LOOKBACK_YEARS = 3
"""``turnover_by_promotion``: promoted in the 3 calendar years before 1 January."""


def level_code(level: int | None) -> str:
    """A level as its category: the level as a decimal string, ``unknown`` for none."""
    return UNKNOWN if level is None else str(level)


def levels_on(snap: Snapshot, day: date) -> dict[str, int | None]:
    """Each employed worker's level at the end of ``day`` (None: unknown), looked up once for every slice."""
    return {wkey: spell.level_on(day) for wkey, (_, spell, _) in snap.items()}


@dataclass(frozen=True, slots=True)
class GradeFigures:
    """What the grade flows need of one slice in one period, whichever engine aggregated it: the distinct workers
    employed at any time (the population), the sum of the monthly average headcounts (``avg_sum``) and the grade
    changes dated in the period by move (promotion, demotion, lateral)."""

    workers: int
    avg_sum: float
    moves: Mapping[str, int]


LevelMix = Mapping[SliceKey, Mapping[str, int]]
"""Per slice: the workers employed at the end of a day by level code (a level as a decimal string, or ``unknown``)."""


def grade_figures(stats: MonthStats) -> dict[SliceKey, GradeFigures]:
    """The reference engine's accumulators as ``GradeFigures`` (slices in the accumulators' order)."""
    return {key: GradeFigures(len(st.present), st.avg_sum, st.moves) for key, st in stats.items()}


def level_mix(end_groups: Groups, levels: Mapping[str, int | None]) -> dict[SliceKey, Counter[str]]:
    """The reference engine's end-of-day groups as a ``LevelMix`` (``levels``: ``levels_on`` that day)."""
    return {key: Counter(level_code(levels[w.key]) for w, _, _ in entries) for key, entries in end_groups.items()}


def grade_cells(cells: Cells, period: Period, figures: Mapping[SliceKey, GradeFigures], mix: LevelMix) -> None:
    """Promotions, demotions, lateral regrades and the promotion rate in the period; the grade mix at its end
    (``mix``: the workers employed at the end of the period's last day by level)."""
    kind, label = period.kind, period.label
    for key, f in figures.items():
        pop = f.workers
        cells.value("promotions", kind, label, key, f.moves.get(PROMOTION, 0), pop)
        cells.value("demotions", kind, label, key, f.moves.get(DEMOTION, 0), pop)
        cells.value("regrades_lateral", kind, label, key, f.moves.get(LATERAL, 0), pop)
        avg = headcount_avg(period, f.avg_sum)
        cells.rate("promotion_rate", kind, label, key, f.moves.get(PROMOTION, 0), avg, pop)
    categories = sorted(mix.get(ALL, {}))
    for key, counts in mix.items():
        found = figures.get(key)
        pop = found.workers if found is not None else 0
        employed = sum(counts.values())
        for cat in categories:
            cells.rate("grade_mix", kind, label, key, counts.get(cat, 0), employed, pop, category=cat)


LevelPays = Mapping[SliceKey, Mapping[int, Sample]]
"""Per slice and known level: the ``Sample`` of the total pay of the workers employed and paid at a period's end."""


def pay_by_level(stats: MonthStats, paid: PaidGroups, levels: Mapping[str, int | None]) -> LevelPays:
    """The reference engine's paid workers by slice (of ``stats``) and known level (``levels``: ``levels_on``)."""
    out: dict[SliceKey, dict[int, Sample]] = {}
    for key in stats:
        by_level: dict[int, list[float]] = {}
        for worker, pay in paid.get(key, ()):
            level = levels[worker.key]
            if level is not None:
                by_level.setdefault(level, []).append(pay.total)
        out[key] = {level: sample(sorted(totals)) for level, totals in by_level.items()}
    return out


def pay_by_level_cells(cells: Cells, period: Period, pays: LevelPays) -> None:
    """Median monthly pay (total) per known level of the workers employed and paid at the end of the period's last
    day; population = those workers, published from 2k (as ``pay_median``)."""
    for key, by_level in pays.items():
        for level, totals in sorted(by_level.items()):
            n = totals.n
            value = totals.percentile(50) if n >= MEDIAN_NEED * cells.k else None  # as pay_median
            cells.put(
                "pay_median_by_level",
                period.kind,
                period.label,
                key,
                str(level),
                value,
                None,
                None,
                n,
                need=MEDIAN_NEED,
            )


@dataclass(frozen=True, slots=True)
class Promoted:
    """One slice of a hire-year cohort at one mark: the eligible hires (hire + mark <= as-of) and those of them
    promoted in their spell within the mark's days."""

    promoted: int
    eligible: int


def promoted_within(groups: Mapping[SliceKey, list[Member]], as_of: date) -> dict[SliceKey, dict[int, Promoted]]:
    """The reference engine's cohort groups as ``Promoted`` figures per slice and mark."""
    out: dict[SliceKey, dict[int, Promoted]] = {}
    for key, members in groups.items():
        out[key] = {}
        for mark in PROMOTED_MARKS:
            delta = timedelta(days=mark)
            eligible = [m for m in members if m.spell.start + delta <= as_of]
            promoted = sum(1 for m in eligible if m.spell.promoted_between(m.spell.start, m.spell.start + delta))
            out[key][mark] = Promoted(promoted, len(eligible))
    return out


def promoted_within_cells(cells: Cells, label: date, figures: Mapping[SliceKey, Mapping[int, Promoted]]) -> None:
    """Per hire-year cohort slice (those with a hire) and mark: the eligible hires promoted within the mark."""
    for key, marks in figures.items():
        for mark in PROMOTED_MARKS:
            f = marks.get(mark, Promoted(0, 0))
            cells.rate("promoted_within", "year", label, key, f.promoted, f.eligible, f.eligible, category=str(mark))


@dataclass(frozen=True, slots=True)
class PromotionGroups:
    """One slice of a year: the workers employed at the end of 1 January promoted in their spell in the three
    calendar years before, the others, and how many of each quit (a voluntary separation) during the year."""

    promoted: int
    promoted_quits: int
    not_promoted: int
    not_promoted_quits: int


def promotion_groups(
    period: Period, stats: MonthStats, jan1: Groups, voluntary: set[str]
) -> dict[SliceKey, PromotionGroups]:
    """The reference engine's 1 January groups as ``PromotionGroups``, for every slice of the year's ``stats``."""
    first = date(period.label.year - LOOKBACK_YEARS, 1, 1)
    last = date(period.label.year - 1, 12, 31)
    out: dict[SliceKey, PromotionGroups] = {}
    for key in stats:
        groups: dict[bool, list[str]] = {True: [], False: []}
        for w, s, _ in jan1.get(key, []):
            groups[s.promoted_between(first, last)].append(w.key)
        yes, no = groups[True], groups[False]
        quits = [sum(1 for wkey in group if wkey in voluntary) for group in (yes, no)]
        out[key] = PromotionGroups(len(yes), quits[0], len(no), quits[1])
    return out


def turnover_by_promotion_cells(cells: Cells, period: Period, figures: Mapping[SliceKey, PromotionGroups]) -> None:
    """Year cohort rate: the workers employed at the end of 1 January, split by a promotion of their spell in the
    three calendar years before; the share of each group who quit during the year. Each group is a compared group
    (its own population, needing k); a slice with nobody employed on 1 January has no row (the program row has)."""
    for key, f in figures.items():
        if not f.promoted + f.not_promoted and key != ALL:
            continue
        for cat, quits, n in (
            ("promoted", f.promoted_quits, f.promoted),
            ("not_promoted", f.not_promoted_quits, f.not_promoted),
        ):
            cells.rate("turnover_by_promotion", "year", period.label, key, quits, n, n, category=cat)
