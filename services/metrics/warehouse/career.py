"""Career progression in ClickHouse (issue 13): grade changes and the promotion rate, the grade mix at a period's
end, promotion within 1-3 years of hire, voluntary turnover by promotion status, and median pay by level.

Grade changes are flows (``wf_flows``, flow ``grade``, kind the move, in the unit of the day); the level held on a
day and the spell it belongs to are level segments (``wf_levels``: a spell's unit segments cut where its level
changes); promotions carry their spell (``wf_promotions``), written by ``facts.worker_facts``. The population and the
average headcount are the flow family's (``store.Presence``). The cells are written by the reference engine's own
``career`` functions from its figures (``GradeFigures``, ``LevelMix``, ``Promoted``, ``PromotionGroups``,
``LevelPays``); median pay by level reads the pay family's paid workers (``pay.paid_on``) with the level held that
day.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Final

from services.common.clickhouse import ClickHouse

from ..engine.career import (
    LOOKBACK_YEARS,
    PROMOTED_MARKS,
    UNKNOWN,
    GradeFigures,
    LevelPays,
    Promoted,
    PromotionGroups,
    grade_cells,
    pay_by_level_cells,
    promoted_within_cells,
    turnover_by_promotion_cells,
)
from ..engine.cells import Cells, Sample
from ..engine.orgs import SliceKey
from ..engine.periods import Period
from .facts import GRADE
from .pay import DAYS_PER_QUERY, NOW, as_sample, paid_on, sampled
from .queries import FLOWS, keys

if TYPE_CHECKING:
    from .store import PeriodKey, Presence

TABLES: Final = (
    """CREATE TABLE IF NOT EXISTS wf_levels
    (worker_key String, spell Date, unit String, first Date, last Nullable(Date), level LowCardinality(String),
     channel LowCardinality(String), gender LowCardinality(String), birth_year UInt16)
    ENGINE = MergeTree ORDER BY (worker_key, first)""",
    """CREATE TABLE IF NOT EXISTS wf_promotions (worker_key String, spell Date, day Date)
    ENGINE = MergeTree ORDER BY (worker_key, day)""",
)
"""The career fact tables (``facts.LEVELS``, ``facts.PROMOTIONS``), created and emptied with the others."""
FACT_TABLES: Final = ("wf_levels", "wf_promotions")

_ON_DAY = "arrayFilter(x -> f.first <= x AND (f.last IS NULL OR x <= assumeNotNull(f.last)), {days:Array(Date)})"

LEVEL_MIX: Final = f"""
SELECT d AS day, k.1 AS dim, k.2 AS value, f.level AS level, count() AS workers
FROM wf_levels AS f GLOBAL INNER JOIN wf_org AS o ON o.unit = f.unit
ARRAY JOIN {_ON_DAY} AS d
ARRAY JOIN {keys("toYear(d)")} AS k
GROUP BY day, dim, value, level
"""
"""Per given day and slice (age bands of the day's year): the workers employed at the end of the day by level code."""

PROMOTION_GROUPS: Final = f"""
SELECT f.day AS day, k.1 AS dim, k.2 AS value, f.promoted AS promoted, count() AS workers, sum(f.quit) AS quits
FROM (
    SELECT f.worker_key AS worker_key, f.unit AS unit, f.channel AS channel, f.gender AS gender,
           f.birth_year AS birth_year, d AS day,
           (f.worker_key, f.spell, toYear(d)) GLOBAL IN (
               SELECT worker_key, spell, toUInt16(toYear(day) + back) FROM wf_promotions
               ARRAY JOIN range(1, {LOOKBACK_YEARS + 1}) AS back
           ) AS promoted,
           (f.worker_key, toYear(d)) GLOBAL IN (
               SELECT worker_key, toYear(day) FROM wf_flows WHERE flow = 'separation' AND kind = 'voluntary'
           ) AS quit
    FROM wf_levels AS f
    ARRAY JOIN {_ON_DAY} AS d
) AS f GLOBAL INNER JOIN wf_org AS o ON o.unit = f.unit
ARRAY JOIN {keys("toYear(f.day)")} AS k
GROUP BY day, dim, value, promoted
"""
"""Per given day (1 January of a year) and slice (age bands of its year): the workers employed at the end of the day
whose spell has a promotion in the three calendar years before (``promoted``) or not, and how many of them
have a voluntary separation (of any spell) in the day's year."""

PROMOTED_WITHIN: Final = f"""
SELECT toStartOfYear(f.hired) AS period, k.1 AS dim, k.2 AS value, f.mark AS mark, sum(f.eligible) AS eligible,
       sum(f.eligible AND f.promoted) AS promoted
FROM (
    SELECT h.*, mark, h.hired + mark <= {{as_of:Date}} AS eligible,
           (h.worker_key, h.hired, mark) GLOBAL IN (
               SELECT worker_key, spell, m FROM wf_promotions ARRAY JOIN {list(PROMOTED_MARKS)} AS m
               WHERE day <= spell + m
           ) AS promoted
    FROM (
        SELECT w.worker_key AS worker_key, min(w.day) AS hired, argMin(w.unit, w.day) AS hire_unit,
               argMin(w.channel, w.day) AS channel, any(w.gender) AS gender, any(w.birth_year) AS birth_year
        FROM wf_flows AS w WHERE w.flow = 'hire' AND w.day >= {{since:Date}} AND w.day < {{until:Date}}
        GROUP BY w.worker_key, toYear(w.day)
    ) AS h
    ARRAY JOIN {list(PROMOTED_MARKS)} AS mark
) AS f GLOBAL INNER JOIN wf_org AS o ON o.unit = f.hire_unit
ARRAY JOIN {keys("toYear(f.hired)")} AS k
GROUP BY period, dim, value, mark
"""
"""Per hire year from ``since`` to before ``until`` (each worker's first hire of the year, in the slices of the hire
day), slice and mark: the hires with hire + mark on or before ``as_of`` (eligible), and those of them promoted in
that spell within the mark's days."""


def grade_figures(
    store: ClickHouse, periods: Sequence[Period], presence: Presence
) -> dict[PeriodKey, dict[SliceKey, GradeFigures]]:
    """``GradeFigures`` per period (as ``periods`` lists them) and slice of ``presence``."""
    moves: dict[PeriodKey, dict[SliceKey, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for start, bounds in presence.bounds():
        for label, dim, value, flow, kind, _, n in store.query_rows(FLOWS, bounds):
            if flow == GRADE:
                moves[(start, label)][(dim, value)][kind] += int(n)
    out: dict[PeriodKey, dict[SliceKey, GradeFigures]] = {}
    for period in periods:
        at = (period.kind, period.label)
        out[at] = {
            key: GradeFigures(
                presence.workers.get(at, {}).get(key, 0), presence.avg.get(at, {}).get(key, 0.0), moves[at][key]
            )
            for key in presence.slices(at)
        }
    return out


def level_mixes(store: ClickHouse, days: Sequence[date]) -> dict[date, dict[SliceKey, dict[str, int]]]:
    """Per given day: the ``LevelMix`` at its end (slices with a worker employed)."""
    out: dict[date, dict[SliceKey, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for day, dim, value, level, n in store.query_rows(LEVEL_MIX, {"days": sorted(set(days))}):
        out[day][(dim, value)][level] = int(n)
    return out


def promotion_groups(
    store: ClickHouse, years: Sequence[Period], presence: Presence
) -> dict[PeriodKey, dict[SliceKey, PromotionGroups]]:
    """``PromotionGroups`` per year (as ``years`` lists them) and slice of ``presence``."""
    found: dict[date, dict[SliceKey, dict[bool, tuple[int, int]]]] = defaultdict(lambda: defaultdict(dict))
    for day, dim, value, promoted, n, quits in store.query_rows(PROMOTION_GROUPS, {"days": [p.first for p in years]}):
        found[day][(dim, value)][bool(promoted)] = (int(n), int(quits))
    out: dict[PeriodKey, dict[SliceKey, PromotionGroups]] = {}
    for period in years:
        at = (period.kind, period.label)
        groups = found[period.first]
        out[at] = {
            key: PromotionGroups(*groups[key].get(True, (0, 0)), *groups[key].get(False, (0, 0)))
            for key in presence.slices(at)
        }
    return out


def promoted_within(
    store: ClickHouse, as_of: date, span: tuple[date, date]
) -> dict[date, dict[SliceKey, dict[int, Promoted]]]:
    """Per hire year of ``span`` (its first day, the first day after it) with a hire: ``Promoted`` figures per slice
    of its hires and mark, slices in sorted order."""
    out: dict[date, dict[SliceKey, dict[int, Promoted]]] = defaultdict(lambda: defaultdict(dict))
    since, until = span
    for label, dim, value, mark, eligible, promoted in store.query_rows(
        PROMOTED_WITHIN, {"as_of": as_of, "since": since, "until": until}
    ):
        out[label][(dim, value)][int(mark)] = Promoted(int(promoted), int(eligible))
    return {label: dict(sorted(rows.items())) for label, rows in sorted(out.items())}


PAY_BY_LEVEL: Final = f"""
SELECT f.day AS day, k.1 AS dim, k.2 AS value, toInt32(l.level) AS level,
       {sampled("arraySort(groupArray(f.total))")}
FROM ({paid_on(NOW)}) AS f
INNER JOIN (
    SELECT f.worker_key AS worker_key, d AS day, any(f.level) AS level
    FROM wf_levels AS f ARRAY JOIN {_ON_DAY} AS d
    GROUP BY worker_key, day
) AS l ON l.worker_key = f.worker_key AND l.day = f.day
GLOBAL INNER JOIN wf_org AS o ON o.unit = f.unit
ARRAY JOIN {keys("toYear(f.day)")} AS k
WHERE l.level != '{UNKNOWN}'
GROUP BY day, dim, value, level
"""
"""Per asked day (``days``) and slice (age bands of the day's year) and known level held at the end of the day: the
total pay of the workers employed and paid then (``pay.paid_on``), ``pay.sampled``."""


def level_pays(store: ClickHouse, months: Sequence[Period]) -> Iterator[tuple[Period, LevelPays]]:
    """``LevelPays`` on the last day of each month, a few months per query (``pay.DAYS_PER_QUERY``)."""
    for start in range(0, len(months), DAYS_PER_QUERY):
        batch = months[start : start + DAYS_PER_QUERY]
        found: dict[date, dict[SliceKey, dict[int, Sample]]] = defaultdict(lambda: defaultdict(dict))
        for day, dim, value, level, totals in store.query_rows(PAY_BY_LEVEL, {"days": [p.last for p in batch]}):
            found[day][(dim, value)][int(level)] = as_sample(totals)
        for period in batch:
            yield period, found[period.last]


def family_cells(cells: Cells, store: ClickHouse, periods: Sequence[Period], presence: Presence, as_of: date) -> None:
    """The career family's cells for the months and complete years ``periods`` lists, from the fact tables as
    loaded, written by the reference engine's ``career`` functions."""
    grades = grade_figures(store, periods, presence)
    mixes = level_mixes(store, [p.last for p in periods])
    for period in periods:
        grade_cells(cells, period, grades[(period.kind, period.label)], mixes[period.last])
    years = [p for p in periods if p.kind == "year"]
    for period, groups in zip(years, promotion_groups(store, years, presence).values(), strict=True):
        turnover_by_promotion_cells(cells, period, groups)
    for label, figures in promoted_within(store, as_of, presence.spans["year"]).items():
        promoted_within_cells(cells, label, figures)
    for period, pays in level_pays(store, [p for p in periods if p.kind == "month"]):
        pay_by_level_cells(cells, period, pays)
