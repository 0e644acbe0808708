"""The warehouse path's entry points (issue 13): every cell of the reference engine, aggregated in ClickHouse.

``warehouse_table`` writes the facts of an already prepared log; ``streamed`` reads the stored log worker by worker
(``stream``), so no process holds it; both then ``aggregate`` every family's figures from the fact tables and write
the cells with the reference engine's own cell functions, primary-suppressed with threshold ``k``
(tests/integration/test_warehouse*.py prove them equal). ``load`` and ``suppressed_years`` are what the refresher
publishes with METRICS_ENGINE=warehouse (one year's cells at a time; ``rederive`` replaces the facts of the workers
new events touch); with the audit on it aggregates the whole table at once. ``load`` can split the workers over
several processes (METRICS_LOAD_PROCESSES), each reading, replaying and writing its part at the same time.
"""

from __future__ import annotations

import resource
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from multiprocessing import get_context

from services.common.clickhouse import ClickHouse
from services.common.migrations import Cluster

from ..engine.career import grade_cells
from ..engine.cells import Cells, Family
from ..engine.corrections import norm_id
from ..engine.dates import month_index, month_start
from ..engine.headcount import flow_cells, rolling_cells
from ..engine.log import EventLog, Prepared
from ..engine.model import Anomaly, EventRecord, IndicatorRow, ReferenceWage
from ..engine.orgs import OrgTree, SliceKey, build_org_tree
from ..engine.periods import month_periods, rolling_months, year_periods
from ..engine.spells import Worker
from ..engine.suppression import WINDOW_SOURCES, suppress
from ..engine.training import training_cells
from ..scope import first_dates
from . import career, pay, retention
from .facts import facts_of
from .store import Warehouse, load_workers, windows
from .stream import BATCH, Part, events_of, org_events, stray_corrections, worker_batches
from .training import training_figures


def warehouse_table(
    store: ClickHouse,
    prepared: Prepared,
    org: OrgTree,
    as_of: date,
    k: int,
    reference_wages: Sequence[ReferenceWage] = (),
) -> Cells:
    """Load the workers' facts into the store's fact tables, ``BATCH`` workers at a time, and aggregate there."""
    if prepared.first_date is None or prepared.first_date > as_of:
        return Cells(k)
    first_mi = month_index(prepared.first_date)
    first = month_start(first_mi)
    warehouse = Warehouse(store)
    load_workers(warehouse, org, (facts_of(chunk, first, as_of) for chunk in _batches(prepared.workers)))
    return aggregate(store, first_mi, as_of, k, org=org, reference_wages=reference_wages)


@dataclass(frozen=True, slots=True)
class Loaded:
    """What reading the stored log worker by worker into the fact tables gave: the org tree the slices follow, the
    org events (with their corrections) the unit labels come from, the events read (redelivered copies once), the
    anomalies of the replays and of the corrections no replay reads (``stream.stray_corrections``), the first month
    with a worker event (None: none up to as-of, so no cell), each worker's earliest event date as stored
    (``scope.first_dates``: what a refresh's scope is judged against), the peak RSS (MB) of each process that
    loaded a part of the workers beside this one (``load``'s ``processes``) and how many of the anomalies concern
    each worker (``owned_anomalies``), and how many are the stray corrections' (``stream.stray_corrections``; the
    others are the org events')."""

    org: OrgTree
    org_events: list[EventRecord]
    events: int
    anomalies: list[Anomaly]
    first_mi: int | None
    first_dates: dict[str, date]
    peaks_apart: tuple[float, ...] = ()
    owned: dict[str, int] = field(default_factory=dict)
    strays: int = 0


@dataclass(frozen=True, slots=True)
class Streamed:
    """The cells before suppression of a loaded log, with what loading it gave."""

    cells: Cells
    org: OrgTree
    org_events: list[EventRecord]
    events: int
    anomalies: list[Anomaly]


def streamed(
    store: ClickHouse,
    as_of: date,
    k: int,
    org_levels: frozenset[str] | None,
    *,
    batch: int = BATCH,
    reference_wages: Sequence[ReferenceWage] = (),
    cluster: Cluster | None = None,
) -> Streamed:
    """``load`` the stored log, then aggregate every cell from the facts (all years at once)."""
    got = load(store, as_of, org_levels, batch=batch, cluster=cluster)
    cells = Cells(k)
    if got.first_mi is not None:
        cells = aggregate(store, got.first_mi, as_of, k, org=got.org, reference_wages=reference_wages)
    return Streamed(cells, got.org, got.org_events, got.events, got.anomalies)


def load(
    store: ClickHouse,
    as_of: date,
    org_levels: frozenset[str] | None,
    *,
    batch: int = BATCH,
    cluster: Cluster | None = None,
    processes: int = 1,
    connect: Callable[[], ClickHouse] | None = None,
) -> Loaded:
    """The store's events table read ``batch`` workers at a time (``stream.worker_batches``): each batch replayed,
    written as facts and dropped, so no process holds the log. On a ``cluster`` the fact tables take their cluster
    form (sharded by worker, like ``events``).

    With ``processes`` > 1 and ``connect`` (a picklable function that opens a store as ``store`` is opened) the
    workers are split by a hash of their key into that many parts: this process loads the first, each other part
    is loaded by a process of its own (spawned, on a store of its own) at the same time. A part that fails fails
    the load (its error raised here), as one batch does."""
    orgs = org_events(store)
    org_events_log = EventLog(orgs)
    org_log = org_events_log.prepared()
    org = build_org_tree(org_log.org_events, org_levels)
    strays = stray_corrections(store)
    warehouse = Warehouse(store, cluster)
    warehouse.reset()
    if connect is None or processes <= 1:
        loaded = [load_part(store, as_of, (0, 1), batch)]
    else:
        with ProcessPoolExecutor(processes - 1, mp_context=get_context("spawn")) as apart:
            parts = [apart.submit(_load_part_apart, connect, as_of, (i, processes), batch) for i in range(1, processes)]
            loaded = [load_part(store, as_of, (0, processes), batch), *(part.result() for part in parts)]
    warehouse.load_org(org, set().union(*(part.units for part in loaded)))
    first = min((part.first for part in loaded if part.first is not None), default=None)
    first_mi = None if first is None or first > as_of else month_index(first)
    anomalies = [*org_log.anomalies, *strays, *(a for part in loaded for a in part.anomalies)]
    ordered = sorted(anomalies, key=lambda a: (a.event_id, a.reason))
    read = len(org_events_log) + len(strays) + sum(part.events for part in loaded)
    workers_first = {key: day for part in loaded for key, day in part.first_dates.items()}
    owned = sum((part.owned for part in loaded), Counter[str]())
    peaks = tuple(part.peak_mb for part in loaded[1:])
    return Loaded(org, orgs, read, ordered, first_mi, workers_first, peaks, dict(owned), len(strays))


@dataclass(frozen=True, slots=True)
class PartLoaded:
    """What loading one part of the workers gave: the events read, the replays' anomalies, the earliest worker event
    date (None: none), each worker's earliest event date as stored, the units the facts name, the peak RSS (MB)
    of the process that loaded it and the anomalies per worker (``owned_anomalies``)."""

    events: int
    anomalies: list[Anomaly]
    first: date | None
    first_dates: dict[str, date]
    units: set[str]
    peak_mb: float
    owned: Counter[str]


def load_part(store: ClickHouse, as_of: date, part: Part, batch: int = BATCH) -> PartLoaded:
    """Read the workers of ``part`` a batch at a time, replay each batch and add its facts to the fact tables (reset
    before: the parts of one load add to the same tables)."""
    warehouse = Warehouse(store)
    read = 0
    anomalies: list[Anomaly] = []
    firsts: list[date] = []
    workers_first: dict[str, date] = {}
    units: set[str] = set()
    owned: Counter[str] = Counter()
    for events in worker_batches(store, batch, part):
        workers_first.update(first_dates(events))  # a worker's events all come in one batch
        log = EventLog(events)
        prepared = log.prepared()
        read += len(log)
        anomalies.extend(prepared.anomalies)
        owned.update(owned_anomalies(events, prepared.anomalies))
        if prepared.first_date is not None:
            firsts.append(prepared.first_date)
        # no fact is dated before its own worker's first event: the log's first month needs no clipping
        facts = facts_of(prepared.workers, date.min, as_of)
        warehouse.load(facts)
        units |= facts.units
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    return PartLoaded(read, anomalies, min(firsts, default=None), workers_first, units, peak, owned)


def owned_anomalies(events: Iterable[EventRecord], anomalies: Sequence[Anomaly]) -> Counter[str]:
    """How many of ``anomalies`` (of replaying ``events``: some workers' events and the corrections naming them)
    concern each worker: a worker event's own worker, a correction's the worker of the event it names ('': neither
    among ``events``). A worker's count is what a refresh replaces when it derives the worker again. The events are
    looked through only when an anomaly names no worker (a correction's): most batches have none."""
    counts = Counter(a.worker_key for a in anomalies if a.worker_key)
    corrections = {norm_id(a.event_id) for a in anomalies if not a.worker_key}
    if not corrections:
        return counts
    worker_of: dict[str, str] = {}
    named: dict[str, str] = {}
    for ev in events:
        if ev.worker_key:
            worker_of[norm_id(ev.event_id)] = ev.worker_key
        elif norm_id(ev.event_id) in corrections:
            named[norm_id(ev.event_id)] = norm_id(ev.data.get("target_event_id", ""))
    counts.update(worker_of.get(named.get(norm_id(a.event_id), ""), "") for a in anomalies if not a.worker_key)
    return counts


def _load_part_apart(connect: Callable[[], ClickHouse], as_of: date, part: Part, batch: int) -> PartLoaded:
    """``load_part`` in a process of its own, on a store it opens and closes."""
    store = connect()
    try:
        return load_part(store, as_of, part, batch)
    finally:
        store.close()


def rederive(
    store: ClickHouse, keys: Collection[str], as_of: date, org: OrgTree, *, cluster: Cluster | None = None
) -> tuple[int, Counter[str]]:
    """Replace the facts of the workers ``keys`` by those of their stored events replayed again (a refresh after new
    events of theirs); returns the events read and the replays' anomalies per worker (``owned_anomalies``)."""
    events = events_of(store, sorted(keys))
    prepared = EventLog(events).prepared()
    warehouse = Warehouse(store, cluster)
    warehouse.forget(keys)
    facts = facts_of(prepared.workers, date.min, as_of)
    warehouse.load(facts)
    warehouse.add_units(org, facts.units)
    return len(events), owned_anomalies(events, prepared.anomalies)


def aggregate(
    store: ClickHouse,
    first_mi: int,
    as_of: date,
    k: int,
    *,
    org: OrgTree,
    reference_wages: Sequence[ReferenceWage] = (),
    year: int | None = None,
) -> Cells:
    """Every cell, from the fact tables as loaded, for the months ``first_mi`` .. ``as_of``: each
    family's figures aggregated in ClickHouse, written by the reference engine's own cell functions (``org``:
    the published units the reference wages name). With ``year``, only that year's partition of the published
    table: its months, the year itself if complete, the rolling windows ending in it, the cohorts hired in it."""
    cells = Cells(k)
    warehouse = Warehouse(store)
    periods = month_periods(first_mi, as_of) + year_periods(first_mi, as_of)
    if year is not None:
        periods = [p for p in periods if p.label.year == year]
        if not periods:
            return cells
    presence = warehouse.presence(periods, as_of)
    flows = warehouse.flow_figures(periods, presence)
    trainings = training_figures(store, periods, presence)
    for period in periods:
        flow_cells(cells, period, flows[(period.kind, period.label)])
        training_cells(cells, period, trainings[(period.kind, period.label)])
    career.family_cells(cells, store, periods, presence, as_of)
    pay.family_cells(cells, store, periods, presence, org, reference_wages)
    retention.family_cells(cells, store, periods, presence, as_of)
    ends = [end for end in rolling_months(first_mi, as_of) if year is None or month_start(end).year == year]
    if ends:
        for label, rows in windows(store, month_start(ends[0]), month_start(ends[-1])).items():
            rolling_cells(cells, label, rows)
    return cells


def suppressed_years(
    store: ClickHouse,
    first_mi: int,
    as_of: date,
    k: int,
    *,
    org: OrgTree,
    reference_wages: Sequence[ReferenceWage] = (),
    from_year: int | None = None,
) -> Iterator[tuple[int, Cells]]:
    """Each year's partition of the published table (``aggregate(year=...)``), suppressed by the rules, oldest
    first: the cells of the whole table, one year in memory at a time (with ``from_year``, of that year and later).

    A year's suppression reads the year before only where a rule reads an earlier period (``read_back``: a month's
    stability index and the period-end headcount a year before; a rolling window and the flows and average
    headcounts of its months), and those families' flags evolve by their own rules alone. So they ride along as
    they were written, unsuppressed, are suppressed again in step with the year's own rounds (the rounds' order
    decides which sibling a secondary rule picks) and are dropped again, as ``compute(since=...)`` does: the cells
    are those of suppressing every year at once (tests/integration/test_warehouse_stream.py compares the published
    tables). The next year is aggregated in a thread meanwhile (its queries wait on the server while this process
    suppresses and publishes): at most two years' cells in memory."""
    before: dict[Family, dict[SliceKey, IndicatorRow]] = {}
    first = month_start(first_mi).year
    if from_year is not None and from_year > as_of.year:
        return  # a scope after as-of: no partition to write
    if from_year is not None and from_year > first:
        before = read_back_cells(store, first_mi, as_of, k, from_year - 1).families
        first = from_year

    def year_cells(year: int) -> Cells:
        return aggregate(store, first_mi, as_of, k, org=org, reference_wages=reference_wages, year=year)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="next-year") as ahead:
        coming = ahead.submit(year_cells, first)
        for year in range(first, as_of.year + 1):
            cells = coming.result()
            if year < as_of.year:  # its queries run on the server while this year is suppressed and published
                coming = ahead.submit(year_cells, year + 1)
            own = list(cells.families)
            unsuppressed = {fam: dict(cells.families[fam]) for fam in own if read_back(fam)}
            cells.families.update(before)
            suppress(cells, org)
            before = unsuppressed
            cells.families = {fam: cells.families[fam] for fam in own}
            yield year, cells


def read_back_cells(store: ClickHouse, first_mi: int, as_of: date, k: int, year: int) -> Cells:
    """The cells of ``year`` that a later year's rules read (``read_back``), before suppression: the flow and
    grade-change families only (a refresh from a later year reads them, not the year's whole partition)."""
    cells = Cells(k)
    periods = [p for p in month_periods(first_mi, as_of) + year_periods(first_mi, as_of) if p.label.year == year]
    if not periods:
        return cells
    warehouse = Warehouse(store)
    presence = warehouse.presence(periods, as_of)
    flows = warehouse.flow_figures(periods, presence)
    grades = career.grade_figures(store, periods, presence)
    for period in periods:
        flow_cells(cells, period, flows[(period.kind, period.label)])
        grade_cells(cells, period, grades[(period.kind, period.label)], {})  # no level mix: not read back
    cells.families = {fam: rows for fam, rows in cells.families.items() if read_back(fam)}
    return cells


def read_back(fam: Family) -> bool:
    """Whether the rules read a family's cells from a later year's: the period-end headcount of a month (a stability
    index a year later links to it), and the flows and average headcounts a rolling window reads (the route rule),
    months with their year's cell (the month-in-year rule joins them), as ``compute(since=...)`` computes them."""
    indicator, kind, _, category = fam
    if indicator == "headcount_end" and kind == "month":
        return True
    return indicator in WINDOW_SOURCES and not category and kind in ("month", "year")


def _batches(workers: Iterable[Worker]) -> Iterator[list[Worker]]:
    it = iter(workers)
    while chunk := list(islice(it, BATCH)):
        yield chunk
