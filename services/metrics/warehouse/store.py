"""The fact tables in ClickHouse (issue 13): loaded from replayed workers, aggregated into the figures of the flow
family (headcount, hires, separations by kind and reason, transfers) for every month and complete year.

The cells themselves are written by the same code as the reference engine's (``headcount.flow_cells`` from
``FlowFigures``): only the aggregation over workers moves into ClickHouse.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from services.common.clickhouse import ClickHouse
from services.common.migrations import Cluster

from ..engine.dates import month_end
from ..engine.headcount import FlowFigures
from ..engine.orgs import OrgTree, SliceKey
from ..engine.periods import Period
from ..engine.slices import ALL
from ..engine.spells import PROMOTION
from .career import FACT_TABLES as CAREER_FACT_TABLES
from .career import TABLES as CAREER_TABLES
from .facts import (
    FLOWS,
    GRADE,
    HIRE,
    LEVELS,
    ORG,
    PAYS,
    PRESENCE,
    PROMOTIONS,
    SEGMENTS,
    SEPARATION,
    SPELLS,
    TRAININGS,
    TRANSFERS,
    Facts,
    org_rows,
)
from .pay import FACT_TABLES as PAY_FACT_TABLES
from .pay import TABLES as PAY_TABLES
from .queries import FACT_TABLES, HEADCOUNT_ON, PRESENCE_MONTHS, PRESENCE_YEARS, ROLLING_FLOWS, ROLLING_PRESENCE, TABLES
from .queries import FLOWS as FLOWS_SQL
from .queries import TRANSFERS as TRANSFERS_SQL
from .retention import FACT_TABLES as RETENTION_FACT_TABLES
from .retention import TABLES as RETENTION_TABLES
from .tables import create, forget, truncate

ALL_FACT_TABLES = (*FACT_TABLES, *CAREER_FACT_TABLES, *PAY_FACT_TABLES, *RETENTION_FACT_TABLES)
INSERT_ROWS = 100_000
PeriodKey = tuple[str, date]  # (period kind, label)


@dataclass(frozen=True, slots=True)
class Window:
    """One slice of one rolling-12 window (``headcount.WindowFigures``)."""

    seps: int
    voluntary: int
    involuntary: int
    hires: int
    promotions: int
    workers: int
    headcount_avg: float


@dataclass(frozen=True, slots=True)
class Presence:
    """Per period (the months to date and complete years asked) and slice: the distinct workers employed at any time
    (the population) and the sum of the monthly average headcounts; a slice with no worker employed in the period
    has none. ``spans`` per period kind: the first day counted and the first day not counted (the asked periods'
    first day; the day after as-of, or after the last complete year asked): the facts every family reads. Read once
    and shared by the families whose population it is."""

    workers: dict[PeriodKey, dict[SliceKey, int]]
    avg: dict[PeriodKey, dict[SliceKey, float]]
    spans: dict[str, tuple[date, date]]

    def slices(self, at: PeriodKey) -> list[SliceKey]:
        """A period's slices in output order: those with a worker employed, and the program row always."""
        return sorted({*self.workers.get(at, {}), ALL})

    def bounds(self) -> list[tuple[str, dict[str, object]]]:
        """Per period kind, the query parameters of its span: ``start`` (the kind), ``since`` and ``until``."""
        return [(kind, {"start": kind, "since": since, "until": until}) for kind, (since, until) in self.spans.items()]


def spans(periods: Sequence[Period]) -> dict[str, tuple[date, date]]:
    """Per period kind (month, year): from the first day of the first period of ``periods`` to the day after the
    last day of its last (an empty span where ``periods`` has none of that kind)."""
    out: dict[str, tuple[date, date]] = {}
    for kind in ("month", "year"):
        asked = [p for p in periods if p.kind == kind]
        if asked:
            out[kind] = (min(p.first for p in asked), max(p.last for p in asked) + timedelta(days=1))
        else:
            out[kind] = (date(1970, 1, 1), date(1970, 1, 1))
    return out


class Warehouse:
    """The fact tables of the store's database (on a ``cluster``: in their cluster form, ``tables``)."""

    def __init__(self, store: ClickHouse, cluster: Cluster | None = None) -> None:
        self._store = store
        self._cluster = cluster

    def reset(self) -> None:
        """Create the fact tables if missing and empty them."""
        create(self._store, (*TABLES, *CAREER_TABLES, *PAY_TABLES, *RETENTION_TABLES), self._cluster)
        truncate(self._store, ALL_FACT_TABLES, self._cluster)

    def forget(self, keys: Iterable[str]) -> None:
        """Delete every fact of the workers ``keys`` (before loading them again, re-derived)."""
        forget(self._store, [t for t in ALL_FACT_TABLES if t != "wf_org"], keys, self._cluster)

    def add_units(self, org: OrgTree, units: Iterable[str]) -> None:
        """The org rows of the ``units`` not loaded yet (a re-derived worker may name a unit no fact named)."""
        known = {str(row[0]) for row in self._store.query_rows("SELECT DISTINCT unit FROM wf_org")}
        missing = set(units) - known
        if missing:
            self.load_org(org, missing)

    def load(self, facts: Facts) -> None:
        """Insert one batch of workers' facts (their units' org rows come once, with ``load_org``)."""
        for table, rows, columns in (
            ("wf_presence", facts.presence, PRESENCE),
            ("wf_segments", facts.segments, SEGMENTS),
            ("wf_flows", facts.flows, FLOWS),
            ("wf_transfers", facts.transfers, TRANSFERS),
            ("wf_trainings", facts.trainings, TRAININGS),
            ("wf_levels", facts.levels, LEVELS),
            ("wf_promotions", facts.promotions, PROMOTIONS),
            ("wf_spells", facts.spells, SPELLS),
            ("wf_pays", facts.pays, PAYS),
        ):
            for start in range(0, len(rows), INSERT_ROWS):
                self._store.insert_rows(table, rows[start : start + INSERT_ROWS], columns)

    def load_org(self, org: OrgTree, units: Iterable[str]) -> None:
        """The published chain and service model of every unit the facts name."""
        self._store.insert_rows("wf_org", org_rows(org, units), ORG)

    def presence(self, periods: Sequence[Period], as_of: date) -> Presence:
        """The population and average headcount sums of the months to date and complete years ``periods`` lists
        (consecutive months and years: every family reads the facts of their ``spans``)."""
        span = spans(periods)
        workers: dict[PeriodKey, dict[SliceKey, int]] = defaultdict(dict)
        avg: dict[PeriodKey, dict[SliceKey, float]] = defaultdict(dict)
        months, years = ({"since": since, "until": until} for since, until in (span["month"], span["year"]))
        for label, dim, value, days, count in self._store.query_rows(PRESENCE_MONTHS, months):
            last = min(month_end(label.year * 12 + label.month - 1), as_of)
            workers[("month", label)][(dim, value)] = int(count)
            avg[("month", label)][(dim, value)] = int(days) / ((last - label).days + 1)
        for label, dim, value, avg_sum, count in self._store.query_rows(PRESENCE_YEARS, years):
            workers[("year", label)][(dim, value)] = int(count)
            avg[("year", label)][(dim, value)] = float(avg_sum)
        return Presence(workers, avg, span)

    def flow_figures(
        self, periods: Sequence[Period], presence: Presence
    ) -> dict[PeriodKey, dict[SliceKey, FlowFigures]]:
        """``FlowFigures`` per period (as ``periods`` lists them) and slice of ``presence``."""
        wanted = {(p.kind, p.label) for p in periods}
        workers, avg = presence.workers, presence.avg
        hires: dict[PeriodKey, Counter[SliceKey]] = defaultdict(Counter)
        seps: dict[PeriodKey, dict[SliceKey, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        reasons: dict[PeriodKey, dict[SliceKey, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        t_in: dict[PeriodKey, Counter[SliceKey]] = defaultdict(Counter)
        t_out: dict[PeriodKey, Counter[SliceKey]] = defaultdict(Counter)
        for start, bounds in presence.bounds():
            for label, dim, value, flow, kind, reason, n in self._store.query_rows(FLOWS_SQL, bounds):
                at, key = (start, label), (dim, value)
                if flow == HIRE:
                    hires[at][key] += int(n)
                elif flow == SEPARATION:
                    seps[at][key][kind] += int(n)
                    reasons[at][key][reason] += int(n)
            for label, unit, direction, n in self._store.query_rows(TRANSFERS_SQL, bounds):
                (t_in if direction == "in" else t_out)[(start, label)][("org", unit)] += int(n)
        ends: dict[date, dict[SliceKey, int]] = defaultdict(dict)
        days = sorted({p.last for p in periods})
        for day, dim, value, count in self._store.query_rows(HEADCOUNT_ON, {"days": days}):
            ends[day][(dim, value)] = int(count)
        out: dict[PeriodKey, dict[SliceKey, FlowFigures]] = {}
        for period in periods:
            at = (period.kind, period.label)
            if at not in wanted:
                continue
            present = workers.get(at, {})
            figures: dict[SliceKey, FlowFigures] = {}
            for key in presence.slices(at):
                figures[key] = FlowFigures(
                    present.get(key, 0),
                    avg[at].get(key, 0.0) if at in avg else 0.0,
                    ends[period.last].get(key, 0),
                    hires[at][key],
                    seps[at][key],
                    reasons[at][key],
                    t_in[at][key],
                    t_out[at][key],
                )
            out[at] = figures
        return out


def windows(store: ClickHouse, first_end: date, last_end: date) -> dict[date, dict[SliceKey, Window]]:
    """Per rolling-12 window (labelled by the first day of its last month, ``first_end`` .. ``last_end``) and slice:
    a slice with no worker employed in the window has none, the program row always has one."""
    bounds = {"first_end": first_end, "last_end": last_end}
    workers: dict[date, dict[SliceKey, tuple[int, float]]] = defaultdict(dict)
    for label, dim, value, avg_sum, count in store.query_rows(ROLLING_PRESENCE, bounds):
        workers[label][(dim, value)] = (int(count), float(avg_sum))
    flows: dict[date, dict[SliceKey, Counter[tuple[str, str]]]] = defaultdict(lambda: defaultdict(Counter))
    for label, dim, value, flow, kind, n in store.query_rows(ROLLING_FLOWS, bounds):
        flows[label][(dim, value)][(flow, kind)] += int(n)
    out: dict[date, dict[SliceKey, Window]] = {}
    label = first_end
    while label <= last_end:
        present = workers.get(label, {})
        rows: dict[SliceKey, Window] = {}
        for key in sorted({*present, ALL}):
            count, avg_sum = present.get(key, (0, 0.0))
            moved = flows[label][key]
            rows[key] = Window(
                sum(n for (flow, _), n in moved.items() if flow == SEPARATION),
                moved[(SEPARATION, "voluntary")],
                moved[(SEPARATION, "involuntary")],
                sum(n for (flow, _), n in moved.items() if flow == HIRE),
                moved[(GRADE, PROMOTION)],
                count,
                avg_sum / 12,
            )
        out[label] = rows
        label = date(label.year + label.month // 12, label.month % 12 + 1, 1)
    return out


def load_workers(warehouse: Warehouse, org: OrgTree, batches: Iterable[Facts]) -> int:
    """Reset the fact tables and load every batch, then the org rows of the units they name; the rows loaded."""
    warehouse.reset()
    units: set[str] = set()
    loaded = 0
    for facts in batches:
        warehouse.load(facts)
        units |= facts.units
        loaded += len(facts)
    warehouse.load_org(org, units)
    return loaded
