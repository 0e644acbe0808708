"""The pay family in ClickHouse (issue 13): the month pay figures on each month's last day, turnover by pay quartile
and pay against the reference wage of the complete years.

A worker's pay in force on a day is read from ``wf_pays`` (written by ``facts.worker_facts``: unit segments cut
where the pay set in force changes), for the workers employed at the end of the day. Per asked day and slice the
SQL ranks the paid by (hourly pay, worker key) for the quartile bands, counts them, and returns the sorted pay
arrays the means and percentiles are taken from; each worker's pay a year before is looked up by the same table in
the same pass (no join). The values themselves stay in ClickHouse: each sorted array is sent as its
``cells.Sample`` (``sampled``: number, sum and the values each percentile lies between), from which the reference
engine's own ``Sample`` methods take the means and percentiles, so the process's memory grows with the slices, not
with the workers paid. The cells are written by the reference engine's own ``pay.pay_cells`` from ``PayFigures``
(and ``turnover_by_quartile_cells``, ``reference_cell``: quartile bands on 1 January with the voluntary separations
of the year from ``wf_flows``; the total pay on 31 December).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Final

from services.common.clickhouse import ClickHouse

from ..engine.cells import EMPTY, PERCENTS, Cells, Sample
from ..engine.model import ReferenceWage
from ..engine.orgs import OrgTree, SliceKey
from ..engine.pay import (
    PayFigures,
    QuartileQuits,
    pay_cells,
    reference_cell,
    reference_slices,
    turnover_by_quartile_cells,
)
from ..engine.periods import Period
from .queries import keys

if TYPE_CHECKING:
    from .store import Presence

TABLES: Final = (
    """CREATE TABLE IF NOT EXISTS wf_pays
    (worker_key String, unit String, first Date, last Nullable(Date), channel LowCardinality(String),
     gender LowCardinality(String), birth_year UInt16, total Float64, base Float64, allowances Float64,
     hourly Float64)
    ENGINE = MergeTree ORDER BY (worker_key, first)""",
)
"""The pay intervals (``facts.PAYS``): a working area like ``queries.TABLES``."""
FACT_TABLES: Final = ("wf_pays",)
DAYS_PER_QUERY: Final = 6
"""Days asked at once: a query's answer holds every paid worker of each of its days once per slice."""


def sampled(values: str) -> str:
    """The SQL of ``cells.Sample`` of ``values`` (an ascending array expression, such as ``arraySort(groupArray(x))``)
    as a tuple: its length, its sum and, per percent of ``PERCENTS``, the values at 0-based ranks
    floor(pct (n - 1) / 100) and the next (the last at the top). ``as_sample`` reads it back."""
    percents = ", ".join(map(str, PERCENTS))
    ranks = f"arrayMap(p -> intDiv(p * (toInt64(length(s)) - 1), 100), [{percents}])"
    bounds = f"arrayMap(lo -> (s[lo + 1], s[least(lo + 2, length(s))]), {ranks})"
    return f"arrayMap(s -> (length(s), arraySum(s), {bounds}), [{values}])[1]"


def as_sample(found: tuple[int, float, list[tuple[float, float]]]) -> Sample:
    """A ``sampled`` tuple as ClickHouse returns it."""
    n, total, bounds = found
    return Sample(int(n), float(total), tuple((float(a), float(b)) for a, b in bounds) if n else ())


_COVERS = "p.first <= x.2 AND (p.last IS NULL OR x.2 <= assumeNotNull(p.last))"
_NOW_AND_BEFORE = """arrayConcat(
    arrayMap((d, b) -> (d, d, true), {days:Array(Date)}, {prevs:Array(Date)}),
    arrayMap((d, b) -> (d, b, false), {days:Array(Date)}, {prevs:Array(Date)}))"""
NOW = "arrayMap(d -> (d, d, true), {days:Array(Date)})"


def paid_on(days: str) -> str:
    """Per worker and asked day (``x``: the asked day, the day looked at, whether they are the same, from ``days``):
    the worker's unit, attributes and pay in force at the end of the asked day, if employed and paid then, and the
    total pay in force on the other day looked at (``again``: employed and paid then too)."""
    return f"""
        SELECT p.worker_key AS worker_key, x.1 AS day, anyIf(p.unit, x.3) AS unit,
               anyIf(p.channel, x.3) AS channel, any(p.gender) AS gender, any(p.birth_year) AS birth_year,
               anyIf(p.total, x.3) AS total, anyIf(p.base, x.3) AS base, anyIf(p.allowances, x.3) AS allowances,
               anyIf(p.hourly, x.3) AS hourly, countIf(NOT x.3) > 0 AS again, anyIf(p.total, NOT x.3) AS before
        FROM wf_pays AS p
        ARRAY JOIN arrayFilter(x -> {_COVERS}, {days}) AS x
        GROUP BY worker_key, day
        HAVING countIf(x.3) > 0"""


def _ranked(days: str, columns: str) -> str:
    """``paid_on`` per slice (age bands of the day's year) with ``columns`` and each worker's quartile band ``band``
    (ranks floor((i-1)n/4)+1 .. floor(in/4) by hourly pay then worker key: ceil(4 rank / n))."""
    return f"""
    SELECT f.day AS day, k.1 AS dim, k.2 AS value, {columns},
           intDiv(4 * row_number() OVER ranked + count() OVER whole - 1, count() OVER whole) AS band
    FROM ({paid_on(days)}) AS f
    GLOBAL INNER JOIN wf_org AS o ON o.unit = f.unit
    ARRAY JOIN {keys("toYear(f.day)")} AS k
    WINDOW whole AS (PARTITION BY f.day, k.1, k.2), ranked AS (whole ORDER BY f.hourly, f.worker_key)"""


_BANDS = ", ".join(f"countIf(band = {i} AND gender = '{gender}')" for gender in ("female", "male") for i in range(1, 5))
_PAY_COLUMNS = """f.gender AS gender, f.total AS total, f.base AS base, f.allowances AS allowances,
           f.hourly AS hourly, f.again AS again, f.before AS before"""

PAID_ON: Final = f"""
SELECT day, dim, value, count() AS paid,
       {sampled("arraySort(groupArray(total))")}, {sampled("arraySort(groupArray(base))")},
       {sampled("arraySort(groupArray(allowances))")},
       {sampled("arraySort(groupArrayIf(hourly, gender = 'male'))")},
       {sampled("arraySort(groupArrayIf(hourly, gender = 'female'))")},
       {_BANDS},
       countIf(again) AS both, {sampled("arraySort(groupArrayIf(total, again))")},
       {sampled("arraySort(groupArrayIf(before, again))")}
FROM ({_ranked(_NOW_AND_BEFORE, _PAY_COLUMNS)})
GROUP BY day, dim, value
"""
"""Per asked day (``days``; ``prevs``: the day a year before each) and slice, over the workers employed at the end
of the day with pay (age bands of the day's year): their number; the ``sampled`` total, base and allowances,
the men's and the women's hourly pay; the women in quartile bands 1..4 then the men (band i: ranks
floor((i-1)n/4)+1 .. floor(in/4), by hourly pay then worker key, i.e. ceil(4 rank / n)); those also paid on the
day a year before, with their total pay on the day and then, each ``sampled``."""

_QUITS = ", ".join(f"countIf(band = {i} AND quit)" for i in range(1, 5))
_QUIT = """(f.worker_key, toYear(f.day)) GLOBAL IN (
        SELECT worker_key, toYear(day) FROM wf_flows WHERE flow = 'separation' AND kind = 'voluntary') AS quit"""

QUITS_BY_BAND: Final = f"""
SELECT day, dim, value, count() AS paid, {_QUITS}
FROM ({_ranked(NOW, _QUIT)})
GROUP BY day, dim, value
"""
"""Per asked day (``days``: 1 January of years) and slice: the workers employed at the end of the day with pay,
and per quartile band of them those with a voluntary separation in the day's year."""

TOTALS_ON: Final = f"""
SELECT f.day AS day, k.1 AS dim, k.2 AS value, {sampled("arraySort(groupArray(f.total))")}
FROM ({paid_on(NOW)}) AS f
GLOBAL INNER JOIN wf_org AS o ON o.unit = f.unit
ARRAY JOIN {keys("toYear(f.day)")} AS k
WHERE dim IN ('all', 'org')
GROUP BY day, dim, value
"""
"""Per asked day (``days``) and program or org slice: the total pay of the workers employed and paid at the end of
the day, ``sampled``."""


def pay_figures(
    store: ClickHouse, periods: Sequence[Period], presence: Presence
) -> Iterator[tuple[Period, dict[SliceKey, PayFigures]]]:
    """``PayFigures`` on the last day of each month of ``periods`` (years are skipped), per slice of ``presence``,
    a few months per query (``DAYS_PER_QUERY``)."""
    months = [p for p in periods if p.kind == "month"]
    for start in range(0, len(months), DAYS_PER_QUERY):
        batch = months[start : start + DAYS_PER_QUERY]
        days = [p.last for p in batch]
        found: dict[date, dict[SliceKey, PayFigures]] = {day: {} for day in days}
        rows = store.query_rows(PAID_ON, {"days": days, "prevs": [p.pay_prev for p in batch]})
        for day, dim, value, paid, total, base, allowances, men, women, *rest in rows:
            bands, (both, now, then) = rest[:8], rest[8:]
            found[day][(dim, value)] = PayFigures(
                int(paid),
                as_sample(total),
                as_sample(base),
                as_sample(allowances),
                as_sample(men),
                as_sample(women),
                bands[:4],
                bands[4:],
                int(both),
                as_sample(now),
                as_sample(then),
            )
        for period in batch:
            figures = found[period.last]
            yield period, {key: figures.get(key, NONE_PAID) for key in presence.slices((period.kind, period.label))}


def quits_by_band(
    store: ClickHouse, years: Sequence[Period], presence: Presence
) -> dict[date, dict[SliceKey, QuartileQuits]]:
    """``QuartileQuits`` per complete year (by label) and slice of ``presence``."""
    found: dict[date, dict[SliceKey, QuartileQuits]] = defaultdict(dict)
    for day, dim, value, paid, *quits in store.query_rows(QUITS_BY_BAND, {"days": [p.first for p in years]}):
        found[day][(dim, value)] = QuartileQuits(int(paid), [int(n) for n in quits])
    return {
        p.label: {key: found[p.first].get(key, NONE_RANKED) for key in presence.slices((p.kind, p.label))}
        for p in years
    }


def family_cells(
    cells: Cells,
    store: ClickHouse,
    periods: Sequence[Period],
    presence: Presence,
    org: OrgTree,
    refs: Sequence[ReferenceWage],
) -> None:
    """The pay family's cells, written by the reference engine's own cell functions: the month pay figures,
    turnover by pay quartile and pay against the reference wage of the complete years."""
    for period, figures in pay_figures(store, periods, presence):
        pay_cells(cells, period, figures)
    years = [p for p in periods if p.kind == "year"]
    quits = quits_by_band(store, years, presence)
    for period in years:
        turnover_by_quartile_cells(cells, period, quits[period.label])
        wages = reference_slices(org, refs, period.label.year)
        if not wages:
            continue
        totals: dict[SliceKey, Sample] = {}
        for _, dim, value, values in store.query_rows(TOTALS_ON, {"days": [period.last]}):
            totals[(dim, value)] = as_sample(values)
        for key, amount in wages:
            reference_cell(cells, period, key, totals.get(key, EMPTY), amount)


NONE_PAID: Final = PayFigures(0, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, [0] * 4, [0] * 4, 0, EMPTY, EMPTY)
"""A slice with workers in the period but none paid at its end."""
NONE_RANKED: Final = QuartileQuits(0, [0] * 4)
"""A slice with workers in the year but none paid on 1 January."""
