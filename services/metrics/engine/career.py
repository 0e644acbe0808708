"""Career progression (METRICS.md v5; contract section 4, "Career"): promotions, demotions and lateral regrades,
the promotion rate, promotion within 1-3 years of hire, the grade mix, median pay by level, and voluntary turnover
by promotion status.

Levels come from the spells (``Spell.level_on``, ``Spell.grades``) that the timeline built; categories are levels
written as decimal strings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, timedelta

from .accumulate import Groups, MonthStats, Snapshot
from .cells import Cells, percentile
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


def _level_code(level: int | None) -> str:
    return UNKNOWN if level is None else str(level)


def levels_on(snap: Snapshot, day: date) -> dict[str, int | None]:
    """Each employed worker's level at the end of ``day`` (None: unknown), looked up once for every slice."""
    return {wkey: spell.level_on(day) for wkey, (_, spell, _) in snap.items()}


def grade_cells(
    cells: Cells, period: Period, stats: MonthStats, end_groups: Groups, levels: Mapping[str, int | None]
) -> None:
    """Promotions, demotions, lateral regrades and the promotion rate in the period; the grade mix at its end
    (``levels``: ``levels_on`` the period's last day)."""
    kind, label = period.kind, period.label
    for key, st in stats.items():
        pop = len(st.present)
        cells.value("promotions", kind, label, key, st.moves[PROMOTION], pop)
        cells.value("demotions", kind, label, key, st.moves[DEMOTION], pop)
        cells.value("regrades_lateral", kind, label, key, st.moves[LATERAL], pop)
        cells.rate("promotion_rate", kind, label, key, st.moves[PROMOTION], headcount_avg(period, st), pop)
    mix = {key: Counter(_level_code(levels[w.key]) for w, _, _ in entries) for key, entries in end_groups.items()}
    categories = sorted(mix.get(ALL, {}))
    for key, counts in mix.items():
        found = stats.get(key)
        pop = len(found.present) if found is not None else 0
        employed = sum(counts.values())
        for cat in categories:
            cells.rate("grade_mix", kind, label, key, counts[cat], employed, pop, category=cat)


def pay_by_level_cells(
    cells: Cells, period: Period, stats: MonthStats, paid: PaidGroups, levels: Mapping[str, int | None]
) -> None:
    """Median monthly pay (total) per known level of the workers employed and paid at the end of the period's last
    day (``levels``: ``levels_on`` that day); population = those workers, published from 2k (as ``pay_median``)."""
    for key in stats:
        by_level: dict[int, list[float]] = {}
        for worker, pay in paid.get(key, ()):
            level = levels[worker.key]
            if level is not None:
                by_level.setdefault(level, []).append(pay.total)
        for level, totals in sorted(by_level.items()):
            n = len(totals)
            value = percentile(sorted(totals), 50) if n >= MEDIAN_NEED * cells.k else None  # as pay_median
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


def promoted_within_cells(cells: Cells, label: date, groups: Mapping[SliceKey, list[Member]], as_of: date) -> None:
    """Per hire-year cohort: the eligible hires (hire + t <= as_of) promoted in that spell within t days."""
    for key, members in groups.items():
        for mark in PROMOTED_MARKS:
            delta = timedelta(days=mark)
            eligible = [m for m in members if m.spell.start + delta <= as_of]
            promoted = sum(1 for m in eligible if m.spell.promoted_between(m.spell.start, m.spell.start + delta))
            n = len(eligible)
            cells.rate("promoted_within", "year", label, key, promoted, n, n, category=str(mark))


def turnover_by_promotion_cells(
    cells: Cells, period: Period, stats: MonthStats, jan1: Groups, voluntary: set[str]
) -> None:
    """Year cohort rate: the workers employed at the end of 1 January, split by a promotion of their spell in the
    three calendar years before; the share of each group who quit during the year. Each group is a compared group
    (its own population, needing k)."""
    first = date(period.label.year - LOOKBACK_YEARS, 1, 1)
    last = date(period.label.year - 1, 12, 31)
    for key in stats:
        entries = jan1.get(key, [])
        if not entries and key != ALL:
            continue
        groups: dict[bool, list[str]] = {True: [], False: []}
        for w, s, _ in entries:
            groups[s.promoted_between(first, last)].append(w.key)
        for cat, group in (("promoted", groups[True]), ("not_promoted", groups[False])):
            quits = sum(1 for wkey in group if wkey in voluntary)
            cells.rate("turnover_by_promotion", "year", period.label, key, quits, len(group), len(group), category=cat)
