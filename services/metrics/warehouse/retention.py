"""The retention family in ClickHouse (issue 13): retention rate, stability index, tenure medians, hire cohorts
(cohort retention, half-life) and initial training on time.

- Retention and stability read the unit segments with their spell (``wf_segments.spell``, the spell's start): per
  worker, spell and pair of days, the unit at the end of the first day and of the last; kept in a slice when the
  same spell holds both days and the slice is among the keys of both units (age bands of the last day's year).
- The tenure medians are ``quantileExactInclusive(0.5)`` over whole days: for integers the same inclusive linear
  interpolation as ``cells.percentile`` (``a + (b - a) * 0.5`` or ``a``), so the values are exactly equal.
- The cohorts read ``wf_spells``: one row per spell hired up to as-of, with its counted end, its separation (up to
  as-of), whether it is the worker's first hire of its month and of its year, and whether it had its initial
  training on time (``engine.training.on_time``, written by ``facts.worker_facts``).

The cells are written by the reference engine's own ``retention`` and ``training`` cell functions from the same
neutral figures (``Retained``, ``TenureFigures``, ``CohortFigures``, ``OnTime``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Final

from services.common.clickhouse import ClickHouse

from ..engine.cells import Cells
from ..engine.dates import year_ago
from ..engine.orgs import SliceKey
from ..engine.periods import Period
from ..engine.retention import (
    MARKS,
    CohortFigures,
    Retained,
    TenureFigures,
    cohort_cells,
    retention_cells,
    stability_cells,
    tenure_cells,
)
from ..engine.training import ON_TIME_DAYS, OnTime, on_time_cells
from .queries import keys

if TYPE_CHECKING:
    from .store import PeriodKey, Presence

TABLES: Final = (
    """CREATE TABLE IF NOT EXISTS wf_spells
    (worker_key String, start Date, hire_unit String, channel LowCardinality(String), gender LowCardinality(String),
     birth_year UInt16, counted_end Nullable(Date), sep_day Nullable(Date), sep_unit String, month_first UInt8,
     year_first UInt8, on_time UInt8)
    ENGINE = MergeTree ORDER BY (start, worker_key)""",
)
"""The spells table (``facts.SPELLS``): a working area like ``queries.TABLES``."""
FACT_TABLES: Final = ("wf_spells",)

COVERED: Final = frozenset(
    {
        *((name, kind) for name in ("retention_rate", "median_tenure_current", "median_tenure_leavers") for kind in
          ("month", "year")),
        ("stability_index", "month"),
        ("cohort_retention", "cohort"),
        ("cohort_half_life", "cohort"),
        ("initial_training_on_time", "cohort"),
        ("initial_training_on_time", "year"),
    }
)  # fmt: skip
"""The (indicator, period kind) pairs this module's cells cover."""

_ON = "f.first <= {d} AND (f.last IS NULL OR {d} <= assumeNotNull(f.last))"
"""Fact ``f``, a unit segment, holds the worker at the end of day ``d``."""

RETAINED: Final = f"""
SELECT d0, d1, k.1 AS dim, k.2 AS value, count() AS base, countIf(has(after, k)) AS kept
FROM (
    SELECT f.d0 AS d0, f.d1 AS d1, f.unit0 AS unit0, f.channel AS channel, f.gender AS gender,
           f.birth_year AS birth_year, if(f.at1 > 0, {keys("toYear(f.d1)")}, []) AS after
    FROM (
        SELECT f.worker_key, f.spell, p.1 AS d0, p.2 AS d1,
               countIf({_ON.format(d="p.1")}) AS at0, anyIf(f.unit, {_ON.format(d="p.1")}) AS unit0,
               countIf({_ON.format(d="p.2")}) AS at1, anyIf(f.unit, {_ON.format(d="p.2")}) AS unit1,
               any(f.channel) AS channel, any(f.gender) AS gender, any(f.birth_year) AS birth_year
        FROM wf_segments AS f
        ARRAY JOIN arrayFilter(
            p -> {_ON.format(d="p.1")} OR {_ON.format(d="p.2")}, {{pairs:Array(Tuple(Date, Date))}}
        ) AS p
        GROUP BY f.worker_key, f.spell, d0, d1
        HAVING at0 > 0
    ) AS f GLOBAL LEFT JOIN wf_org AS o ON o.unit = f.unit1
) AS f GLOBAL INNER JOIN wf_org AS o ON o.unit = f.unit0
ARRAY JOIN {keys("toYear(f.d1)")} AS k
GROUP BY d0, d1, dim, value
"""
"""Per pair of days (d0, d1) and slice (age bands of d1's year): the workers employed at the end of d0 (``base``)
and those of them employed at the end of d1 in the same spell and in the same slice (``kept``)."""

TENURE_CURRENT: Final = f"""
SELECT d AS day, k.1 AS dim, k.2 AS value, quantileExactInclusive(0.5)(d - f.spell + 1) AS median
FROM wf_segments AS f GLOBAL INNER JOIN wf_org AS o ON o.unit = f.unit
ARRAY JOIN arrayFilter(x -> {_ON.format(d="x")}, {{days:Array(Date)}}) AS d
ARRAY JOIN {keys("toYear(d)")} AS k
GROUP BY day, dim, value
"""
"""Per given day and slice (age bands of the day's year): the median service days (hire day counted) of the workers
employed at the end of the day."""

_SEP = "assumeNotNull(f.sep_day)"
TENURE_LEAVERS: Final = f"""
SELECT if({{start:String}} = 'year', toStartOfYear({_SEP}), toStartOfMonth({_SEP})) AS period, k.1 AS dim,
       k.2 AS value, quantileExactInclusive(0.5)({_SEP} - f.start + 1) AS median
FROM wf_spells AS f GLOBAL INNER JOIN wf_org AS o ON o.unit = f.sep_unit
ARRAY JOIN {keys(f"toYear({_SEP})")} AS k
WHERE f.sep_day IS NOT NULL AND {_SEP} >= {{since:Date}} AND {_SEP} < {{until:Date}}
GROUP BY period, dim, value
"""
"""Per month (``start`` 'month') or year ('year') and slice of the unit of the separation day: the median service
days of the spells separated from ``since`` to before ``until``."""

_MARKS = f"[{', '.join(map(str, MARKS))}]"
_END = "assumeNotNull(f.counted_end)"
COHORTS: Final = f"""
SELECT if({{start:String}} = 'year', toStartOfYear(f.start), toStartOfMonth(f.start)) AS period, k.1 AS dim,
       k.2 AS value, count() AS size, max(f.start) AS latest,
       arraySort(groupArrayIf({_END} - f.start, f.counted_end IS NOT NULL)) AS closed,
       sumForEach(arrayMap(m -> toUInt64(f.start + m <= {{as_of:Date}}), {_MARKS})) AS eligible,
       sumForEach(arrayMap(
           m -> toUInt64(f.start + m <= {{as_of:Date}} AND (f.counted_end IS NULL OR {_END} >= f.start + m)), {_MARKS}
       )) AS kept,
       countIf(f.start <= {{cutoff:Date}}) AS trainable,
       countIf(f.start <= {{cutoff:Date}} AND f.on_time = 1) AS trained
FROM wf_spells AS f GLOBAL INNER JOIN wf_org AS o ON o.unit = f.hire_unit
ARRAY JOIN {keys("toYear(f.start)")} AS k
WHERE if({{start:String}} = 'year', f.year_first, f.month_first) = 1 AND f.start >= {{since:Date}}
  AND f.start < {{until:Date}}
GROUP BY period, dim, value
"""
"""Per hire month (``start`` 'month': each worker's first hire of the month) or hire year ('year': first of the
year) from ``since`` to before ``until``, and slice of the hire day (age bands of the hire year): the cohort's size,
latest hire, days from hire to counted end of those who left (ascending), per mark of ``MARKS`` the members eligible
and still in their spell at hire + mark, and the members hired by ``cutoff`` (as-of - 90 days) and those trained on
time."""

Figures = dict["PeriodKey", dict[SliceKey, Retained]]


def family_cells(cells: Cells, store: ClickHouse, periods: Sequence[Period], presence: Presence, as_of: date) -> None:
    """Every cell of ``COVERED`` for the months and complete years ``periods`` lists and the hire cohorts up to
    ``as_of``, from the fact tables as loaded, written by the reference engine's cell functions."""
    retained = retention_figures(store, periods, presence)
    stable = stability_figures(store, periods, presence)
    tenures = tenure_figures(store, periods, presence)
    for period in periods:
        at = (period.kind, period.label)
        retention_cells(cells, period, retained[at])
        tenure_cells(cells, period, tenures[at])
        if period.kind == "month":
            stability_cells(cells, period, stable[at])
    month_cohorts, on_time = cohort_figures(store, presence, as_of)
    for month, figures in sorted(month_cohorts.items()):
        cohort_cells(cells, month, figures, as_of)
    for (kind, label), groups in sorted(on_time.items()):
        on_time_cells(cells, label, groups, kind="cohort" if kind == "month" else "year")


def _kept(store: ClickHouse, pairs: set[tuple[date, date]]) -> dict[tuple[date, date], dict[SliceKey, tuple[int, int]]]:
    out: dict[tuple[date, date], dict[SliceKey, tuple[int, int]]] = defaultdict(dict)
    if pairs:
        for d0, d1, dim, value, base, kept in store.query_rows(RETAINED, {"pairs": sorted(pairs)}):
            out[(d0, d1)][(dim, value)] = (int(base), int(kept))
    return out


def retention_figures(store: ClickHouse, periods: Sequence[Period], presence: Presence) -> Figures:
    """``Retained`` per period (as ``periods`` lists them) and slice of ``presence``: first day to last day."""
    kept = _kept(store, {(p.first, p.last) for p in periods})
    out: Figures = {}
    for period in periods:
        at, counts = (period.kind, period.label), kept[(period.first, period.last)]
        workers = presence.workers.get(at, {})
        out[at] = {
            key: Retained(workers.get(key, 0), *counts.get(key, (0, 0))) for key in presence.slices(at)
        }  # fmt: skip
    return out


def stability_figures(store: ClickHouse, periods: Sequence[Period], presence: Presence) -> Figures:
    """``Retained`` per month of ``periods``, D-1y to D = its last day, for the slices of ``presence`` and those
    with workers at D-1y (the population: those workers)."""
    months = [p for p in periods if p.kind == "month"]
    kept = _kept(store, {(year_ago(p.last), p.last) for p in months})
    out: Figures = {}
    for period in months:
        at, counts = (period.kind, period.label), kept[(year_ago(period.last), period.last)]
        out[at] = {}
        for key in sorted({*presence.slices(at), *counts}):
            base, stayed = counts.get(key, (0, 0))
            out[at][key] = Retained(base, base, stayed)
    return out


def tenure_figures(
    store: ClickHouse, periods: Sequence[Period], presence: Presence
) -> dict[PeriodKey, dict[SliceKey, TenureFigures]]:
    """``TenureFigures`` per period (as ``periods`` lists them) and slice of ``presence``."""
    current: dict[date, dict[SliceKey, float]] = defaultdict(dict)
    for day, dim, value, median in store.query_rows(TENURE_CURRENT, {"days": sorted({p.last for p in periods})}):
        current[day][(dim, value)] = float(median)
    leavers: dict[PeriodKey, dict[SliceKey, float]] = defaultdict(dict)
    for start, bounds in presence.bounds():
        for label, dim, value, median in store.query_rows(TENURE_LEAVERS, bounds):
            leavers[(start, label)][(dim, value)] = float(median)
    out: dict[PeriodKey, dict[SliceKey, TenureFigures]] = {}
    for period in periods:
        at = (period.kind, period.label)
        workers = presence.workers.get(at, {})
        out[at] = {
            key: TenureFigures(workers.get(key, 0), current[period.last].get(key), leavers[at].get(key))
            for key in presence.slices(at)
        }
    return out


def cohort_figures(
    store: ClickHouse, presence: Presence, as_of: date
) -> tuple[dict[date, dict[SliceKey, CohortFigures]], dict[PeriodKey, dict[SliceKey, OnTime]]]:
    """``CohortFigures`` per hire month and slice, and ``OnTime`` per hire month ('month') and complete hire year
    ('year') and slice: the slices of the members' hire days."""
    cohorts: dict[date, dict[SliceKey, CohortFigures]] = defaultdict(dict)
    on_time: dict[PeriodKey, dict[SliceKey, OnTime]] = defaultdict(dict)
    cutoff = as_of - timedelta(days=ON_TIME_DAYS)
    for start, bounds in presence.bounds():
        for label, dim, value, size, latest, closed, eligible, kept, trainable, trained in store.query_rows(
            COHORTS, {**bounds, "as_of": as_of, "cutoff": cutoff}
        ):
            key = (dim, value)
            if start == "month":
                cohorts[label][key] = CohortFigures(
                    int(size), latest, [int(d) for d in closed], tuple(map(int, eligible)), tuple(map(int, kept))
                )
            on_time[(start, label)][key] = OnTime(int(trainable), int(trained))
    return cohorts, on_time
