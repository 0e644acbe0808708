"""The warehouse path's SQL (issue 13): fact tables and the aggregations the flow family reads.

Every aggregation turns a fact's attributes into the worker's slice keys in ClickHouse (``keys``: the program row,
the unit's published org chain and service model from ``wf_org``, the source channel, gender, and the age band of
the period's year), then groups by period and key, so the same SQL runs on one server and, over ``Distributed``
tables sharded by worker, on a cluster: the only distinct count is of workers, and a worker's facts live on one
shard. ``wf_org`` is small and lives on the services' server only: every join to it is ``GLOBAL`` (sent to each
shard with the query; on one server the same as a plain join). Parameters are always bound. Each query can be run
alone (tests/integration/test_warehouse.py).
"""

from __future__ import annotations

from typing import Final

from ..engine.slices import AGE, AGE_BANDS, OLDEST

TABLES: Final = (
    """CREATE TABLE IF NOT EXISTS wf_presence
    (worker_key String, month Date, unit String, channel LowCardinality(String), gender LowCardinality(String),
     birth_year UInt16, days UInt8)
    ENGINE = MergeTree ORDER BY (month, worker_key)""",
    """CREATE TABLE IF NOT EXISTS wf_segments
    (worker_key String, unit String, first Date, last Nullable(Date), channel LowCardinality(String),
     gender LowCardinality(String), birth_year UInt16, spell Date)
    ENGINE = MergeTree ORDER BY (worker_key, first)""",
    """CREATE TABLE IF NOT EXISTS wf_flows
    (worker_key String, day Date, flow LowCardinality(String), unit String, channel LowCardinality(String),
     gender LowCardinality(String), birth_year UInt16, kind LowCardinality(String), reason LowCardinality(String))
    ENGINE = MergeTree ORDER BY (day, worker_key)""",
    """CREATE TABLE IF NOT EXISTS wf_transfers (worker_key String, day Date, from_unit String, to_unit String)
    ENGINE = MergeTree ORDER BY (day, worker_key)""",
    """CREATE TABLE IF NOT EXISTS wf_trainings
    (worker_key String, day Date, unit String, channel LowCardinality(String), gender LowCardinality(String),
     birth_year UInt16, kind LowCardinality(String), hours Float64)
    ENGINE = MergeTree ORDER BY (day, worker_key)""",
    """CREATE TABLE IF NOT EXISTS wf_org (unit String, chain Array(String), service_model LowCardinality(String))
    ENGINE = MergeTree ORDER BY unit""",
)
"""The fact tables: derived from the event log and rebuilt from it, so they are a working area, not a migration.
A worker without a gender is stored with ``''``, without a birth year with 0 (neither gets that slice)."""

FACT_TABLES: Final = ("wf_presence", "wf_segments", "wf_flows", "wf_transfers", "wf_trainings", "wf_org")


def _band(age: str) -> str:
    """``slices.age_band`` as a ClickHouse expression (the bands are ``AGE_BANDS``: one source)."""
    arms = ", ".join(f"{age} < {upper}, '{band}'" for upper, band in AGE_BANDS)
    return f"multiIf({arms}, '{OLDEST}')"


def keys(year: str) -> str:
    """The slice keys ``(dimension, slice)`` of fact ``f`` joined to its unit ``o``, age bands of ``year``:
    ``slices.worker_keys`` in SQL."""
    return (
        "arrayConcat([('all', 'all')], arrayMap(u -> ('org', u), o.chain),"
        " [('service_model', o.service_model), ('source_channel', f.channel)],"
        " if(f.gender = '', [], [('gender', f.gender)]),"
        f" if(f.birth_year = 0, [], [('{AGE}', {_band(f'({year} - f.birth_year)')})]))"
    )


PRESENCE_MONTHS: Final = f"""
SELECT f.month AS period, k.1 AS dim, k.2 AS value, sum(f.days) AS days, uniqExact(f.worker_key) AS workers
FROM wf_presence AS f GLOBAL INNER JOIN wf_org AS o ON o.unit = f.unit
ARRAY JOIN {keys("toYear(f.month)")} AS k
WHERE f.month >= {{since:Date}} AND f.month < {{until:Date}}
GROUP BY period, dim, value
"""
"""Per month from ``since`` to before ``until`` and slice: headcount-days and distinct workers employed."""

PRESENCE_YEARS: Final = f"""
SELECT period, dim, value, sum(days / toDayOfMonth(toLastDayOfMonth(month))) AS avg_sum, uniqExactMerge(w) AS workers
FROM (
    SELECT toStartOfYear(f.month) AS period, f.month AS month, k.1 AS dim, k.2 AS value, sum(f.days) AS days,
           uniqExactState(f.worker_key) AS w
    FROM wf_presence AS f GLOBAL INNER JOIN wf_org AS o ON o.unit = f.unit
    ARRAY JOIN {keys("toYear(f.month)")} AS k
    WHERE f.month >= {{since:Date}} AND f.month < {{until:Date}}
    GROUP BY period, month, dim, value
)
GROUP BY period, dim, value
"""
"""Per complete year (months from ``since`` to before ``until``) and slice: the sum of the monthly average
headcounts and the distinct workers employed at any time in the year."""

FLOWS: Final = f"""
SELECT if({{start:String}} = 'year', toStartOfYear(f.day), toStartOfMonth(f.day)) AS period, k.1 AS dim, k.2 AS value,
       f.flow AS flow, f.kind AS kind, f.reason AS reason, count() AS n
FROM wf_flows AS f GLOBAL INNER JOIN wf_org AS o ON o.unit = f.unit
ARRAY JOIN {keys("toYear(f.day)")} AS k
WHERE f.day >= {{since:Date}} AND f.day < {{until:Date}}
GROUP BY period, dim, value, flow, kind, reason
"""
"""Per month (``start`` 'month') or year ('year'), slice, flow, kind and reason: the number of hires,
separations and grade changes dated from ``since`` to before ``until``."""

TRANSFERS: Final = """
SELECT if({start:String} = 'year', toStartOfYear(t.day), toStartOfMonth(t.day)) AS period, m.1 AS unit,
       m.2 AS direction, count() AS n
FROM wf_transfers AS t
GLOBAL INNER JOIN wf_org AS a ON a.unit = t.from_unit
GLOBAL INNER JOIN wf_org AS b ON b.unit = t.to_unit
ARRAY JOIN arrayConcat(
    arrayMap(u -> (u, 'out'), arrayFilter(u -> NOT has(b.chain, u), a.chain)),
    arrayMap(u -> (u, 'in'), arrayFilter(u -> NOT has(a.chain, u), b.chain))
) AS m
WHERE t.day >= {since:Date} AND t.day < {until:Date}
GROUP BY period, unit, direction
"""
"""Per month or year and org unit: transfers out of (in a chain the new unit's lacks) and into the unit."""

HEADCOUNT_ON: Final = f"""
SELECT d AS day, k.1 AS dim, k.2 AS value, uniqExact(f.worker_key) AS workers
FROM wf_segments AS f GLOBAL INNER JOIN wf_org AS o ON o.unit = f.unit
ARRAY JOIN arrayFilter(x -> f.first <= x AND (f.last IS NULL OR x <= assumeNotNull(f.last)), {{days:Array(Date)}}) AS d
ARRAY JOIN {keys("toYear(d)")} AS k
GROUP BY day, dim, value
"""
"""Per given day and slice (age bands of the day's year): the workers employed at the end of the day."""

_WINDOW = "addMonths({month}, shift)"
"""A rolling-12 window's end: each fact's month counts in the windows ending 0..11 months after it."""

ROLLING_PRESENCE: Final = f"""
SELECT {_WINDOW.format(month="month")} AS period, dim, value, sum(avg) AS avg_sum, uniqExactMerge(w) AS workers
FROM (
    SELECT f.month AS month, y AS year, k.1 AS dim, k.2 AS value,
           sum(f.days / toDayOfMonth(toLastDayOfMonth(f.month))) AS avg, uniqExactState(f.worker_key) AS w
    FROM wf_presence AS f GLOBAL INNER JOIN wf_org AS o ON o.unit = f.unit
    ARRAY JOIN arrayDistinct([toYear(f.month), toYear(addMonths(f.month, 11))]) AS y
    ARRAY JOIN {keys("y")} AS k
    WHERE f.month BETWEEN addMonths({{first_end:Date}}, -11) AND {{last_end:Date}}
    GROUP BY month, year, dim, value
)
ARRAY JOIN range(12) AS shift
WHERE toYear(period) = year AND period BETWEEN {{first_end:Date}} AND {{last_end:Date}}
GROUP BY period, dim, value
"""
"""Per rolling-12 window (labelled by its last month, ``first_end`` .. ``last_end``; every month of a window is
complete) and slice, age bands of the window's last year: the sum of the 12 monthly average headcounts and the
distinct workers employed at any time in the window. Each month is grouped once per year a window ending 0..11
months after it can end in (its own, the next), with the distinct workers as a state, and the windows merge their
months' states: a fact row is expanded twice, not twelve times."""

ROLLING_FLOWS: Final = f"""
SELECT {_WINDOW.format(month="toStartOfMonth(f.day)")} AS period, k.1 AS dim, k.2 AS value, f.flow AS flow,
       f.kind AS kind, count() AS n
FROM wf_flows AS f GLOBAL INNER JOIN wf_org AS o ON o.unit = f.unit
ARRAY JOIN range(12) AS shift
ARRAY JOIN {keys(f"toYear({_WINDOW.format(month='toStartOfMonth(f.day)')})")} AS k
WHERE f.day >= addMonths({{first_end:Date}}, -11) AND f.day < addMonths({{last_end:Date}}, 1)
  AND period BETWEEN {{first_end:Date}} AND {{last_end:Date}}
GROUP BY period, dim, value, flow, kind
"""
"""Per rolling-12 window and slice: hires, separations by kind and grade changes by move."""
