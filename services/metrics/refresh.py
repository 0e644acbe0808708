"""What changed → recompute → publish the years whose indicators changed.

The event log stays in memory, prepared (corrections applied, each worker's spells replayed); a batch of plain
events replays only its workers. The engine then recomputes the periods the batch can touch, from the month
`scope` names (a new hire: its own month; a late separation: its spell's cohort month; a rehire may change a
worker's gender and age slices in every period; a month of a complete year: the whole year), and only year
partitions whose content differs from what is published are written, each swapped in atomically; a year
recomputed from one of its months keeps its published rows of the months before (`publish`).

The collector is paused from the computation until its rows are published and freed (`no_cyclic_gc`): the rows
are named tuples, which every collector pass walks; and the service's frozen heap stays frozen.

With the publish audit on (``audit=True``, METRICS_AUDIT; METRICS.md v5, Suppression, "Audit"), every refresh
recomputes every year, since the audit's relations cross year ends, and a table the audit cannot protect is not
published at all: the refresh raises `PublishHeld`, what is published stays as it was, and the same table is not
tried again until events, the date or the reference wages change.

With the warehouse engine (METRICS_ENGINE=warehouse, issue 13) no log is held: the stored log is read worker by
worker into fact tables (``warehouse.compute.load``), then each year is aggregated in ClickHouse, suppressed and
staged in turn (``warehouse.compute.suppressed_years``: one year's cells in memory), and every year is swapped in at
the end; with the audit on, whose relations cross year ends, the whole table is aggregated, suppressed and audited at
once. Later refreshes derive again only the workers new events name (``warehouse.compute.rederive``) and recompute
the years from the scope's on, each year's partition whole; what the scope cannot place (org events, corrections, a
rehire, a new as-of date) reads the whole log again.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime

from services.common.clickhouse import ClickHouse
from services.common.errors import StoreError
from services.common.migrations import Cluster

from .engine import EventRecord, IndicatorRow, ReferenceWage, compute
from .engine.audit import AUDIT, AuditReport, Proofs, Ref, audit_hidden, audit_table
from .engine.cells import Cells
from .engine.compute import no_cyclic_gc
from .engine.log import EventLog
from .engine.suppression import suppress
from .loader import OVERLAP, Overlap, load_events, load_reference_wages
from .orgunits import ORG_TYPES, UnitLabel, labels, latest_units
from .proofs_store import ProofStore
from .publish import ORG_UNIT_FIELDS, IndicatorPublisher, by_year, fingerprint
from .scope import first_dates, recompute_since
from .warehouse.compute import Loaded, aggregate, load, rederive, suppressed_years
from .warehouse.stream import stray_corrections

log = logging.getLogger("workforce.metrics")
UNKNOWN = (-1, 0)  # the fingerprint of a year written from one of its months: equal to none computed
REFERENCE, WAREHOUSE = "reference", "warehouse"  # MetricsSettings.metrics_engine


@dataclass(frozen=True, slots=True)
class RefreshReport:
    as_of: date
    events: int
    new_events: int
    years_written: tuple[int, ...]
    rows_written: int
    anomalies: int
    seconds: float
    newest_stored: datetime | None
    headlines: dict[str, float | None]
    audit: AuditReport | None = None


class PublishHeld(Exception):
    """The audit could not protect the recomputed table: nothing was published (``audit`` says why)."""

    def __init__(self, audit: AuditReport) -> None:
        super().__init__(f"publish held back: the disclosure audit did not pass ({audit.problem})")
        self.audit = audit


class Refresher:
    """Holds the deduplicated event log in memory and the fingerprint of each published year."""

    def __init__(
        self,
        store: ClickHouse,
        *,
        k: int,
        as_of: Callable[[], date],
        clock: Callable[[], datetime],
        progress: Callable[[str], None] | None = None,
        org_levels: frozenset[str] | None = None,
        keep_log: bool = True,
        audit: bool = False,
        engine: str = REFERENCE,
        cluster: Cluster | None = None,
        load_processes: int = 1,
        connect: Callable[[], ClickHouse] | None = None,
    ) -> None:
        """``org_levels``: the org levels that get ``org`` slices (None: every level). ``progress`` takes the
        refresh's human lines instead of the log (which gets them with their fields: refresh_started, refresh_done).

        ``keep_log=False`` is for one-shot rebuilds: the event log is let go once prepared, so peak memory is the
        larger of the log and the computation rather than their sum (at 1 M events the log is ~0.7 GB of events
        plus ~0.5 GB of spells); such a refresher refreshes once.

        ``audit`` runs the publish audit on every refresh (see the module docstring).

        ``engine`` ``warehouse`` computes with the warehouse path (issue 13: the log read worker by worker and
        aggregated in ClickHouse, on ``cluster`` when given) and holds no log at all; ``keep_log=False`` then only
        means it refreshes once. Its full loads read the log in ``load_processes`` processes at once when given
        ``connect`` (a picklable function opening a store like ``store``: ``warehouse.compute.load``)."""
        if engine not in (REFERENCE, WAREHOUSE):
            raise ValueError(f"unknown engine {engine!r} (reference, warehouse)")
        self._store = store
        self._publisher = IndicatorPublisher(store)
        self._k = k
        self._org_levels = org_levels
        self._as_of = as_of
        self._clock = clock
        self._progress = progress
        self._events = EventLog()
        self._strings: dict[str, str] = {}  # shared by every loaded event (loader.load_events)
        self._first_dates: dict[str, date] = {}
        self._newest: datetime | None = None
        self._overlap = Overlap()  # what the last poll of the re-read overlap saw (loader.Overlap)
        self._published: dict[int, tuple[int, int]] = {}
        self._last_as_of: date | None = None
        self._wages_key: tuple[object, ...] = ()
        self._pending: list[EventRecord] = []  # absorbed, not yet reflected in a successful publish
        self._computed = False
        self._keep_log = keep_log
        self._spent = False
        self._audit = audit
        # the cells the published table hid for the audit (read from it at the first audited refresh): hidden again
        # first in the next table (audit_table's prior)
        self._audit_prior: frozenset[Ref] | None = None
        # and the points that proved the last passed audit's cells: the next audit tries them before any LP (kept in
        # audit_proofs too, and read from it at the first audited refresh: a restart goes on from them)
        self._audit_proofs: Proofs | None = None
        self._proofs_read = False
        self._proof_store = ProofStore(store)
        self._held: tuple[object, ...] | None = None  # what a held-back table was computed from
        self._engine = engine
        self._cluster = cluster
        self._load_processes, self._connect = load_processes, connect
        self._owned: Counter[str] = Counter()  # the warehouse path's anomalies per worker (Loaded.owned)
        self._strays = self._org_anomalies = 0  # and of the stray corrections, of the org events
        # the warehouse engine's state in place of a log: the last full load (its org tree and first month), the
        # events of the re-read overlap by id, and the events counted
        self._loaded: Loaded | None = None
        self._seen: dict[str, datetime] = {}
        self._event_total = 0
        self._units: list[UnitLabel] | None = None  # as last published: they change with org events only

    @property
    def event_count(self) -> int:
        return self._event_total if self._engine == WAREHOUSE else len(self._events)

    def absorb(self) -> int:
        """Read newly stored events into the log without recomputing; returns how many were new. The next
        `refresh` reflects them (a caller absorbs while a backlog is still arriving, then refreshes once). On the
        warehouse engine, nothing before its first full load (which reads every stored event itself)."""
        if self._engine == WAREHOUSE and not self._computed:
            return 0
        fresh = self._load_new()
        self._pending.extend(fresh)
        return len(fresh)

    def refresh(self, *, force: bool = False) -> RefreshReport | None:
        """Recompute if events arrived, the date moved or reference wages changed; None if nothing did.
        Events stay pending until a refresh that includes them has published (a failed one is retried whole)."""
        if self._spent:
            raise RuntimeError("this refresher let go of its event log (keep_log=False); it refreshes once")
        if self._engine == WAREHOUSE:
            return self._refresh_in_warehouse(force=force)
        started = time.perf_counter()
        self.absorb()
        fresh = self._pending
        new = len(fresh)
        as_of = self._as_of()
        wages = load_reference_wages(self._store)
        wages_key = tuple(wages)
        everything = force or not self._computed or as_of != self._last_as_of or wages_key != self._wages_key
        if not (everything or new):
            return None
        inputs = (as_of, wages_key, len(self._events))
        if self._held == inputs and not force:
            return None  # the audit held this very table back: wait for something to change
        since = None if everything or self._audit else recompute_since(fresh, self._first_dates, as_of)
        scope = "every period" if since is None else f"from {since} on"
        total = len(self._events)
        self._note(
            f"recomputing {total} events as of {as_of}, {scope}",
            event="refresh_started",
            events=total,
            as_of=as_of.isoformat(),
            since=None if since is None else since.isoformat(),
        )
        loaded = time.perf_counter()
        prepared = self._events.prepared()
        units = self._units
        if units is None or any(event.event_type in ORG_TYPES for event in fresh):
            units = labels(latest_units(self._events.values()))  # a walk over the whole log
        if not self._keep_log:
            self._events, self._pending, fresh, self._spent = EventLog(), [], [], True
        with no_cyclic_gc(leave_young=True):
            result = compute(
                prepared,
                as_of=as_of,
                k=self._k,
                reference_wages=wages,
                org_levels=self._org_levels,
                since=since,
                audit=self._audit,
                audit_prior=self._prior() if self._audit else (),
                audit_proofs=self._proofs() if self._audit else None,
            )
            computed = time.perf_counter()
            del prepared
            audit, anomalies = result.audit, len(result.anomalies)
            if audit is not None:
                self._note_audit(audit)
                if not audit.passed:
                    self._held = inputs
                    raise PublishHeld(audit)
            self._held = None
            years, written = self._publish(result.rows, force=force, since=since)
            if audit is not None:
                self._audit_prior = audit_hidden(result.rows)
                self._keep_proofs(audit, as_of)
            figures = headlines(result.rows)
            del result  # freed here, with the collector still paused
        self._write_units(units)
        self._units = units
        self._last_as_of, self._wages_key = as_of, wages_key
        self._note_first_dates(fresh)
        self._pending = []
        self._computed = True
        done = time.perf_counter()
        seconds = done - started
        audited = audit.seconds if audit is not None else 0.0
        self._note(
            f"refreshed in {seconds:.1f}s (load {loaded - started:.1f}s, compute {computed - loaded:.1f}s"
            f" of which audit {audited:.1f}s, publish {done - computed:.1f}s): {new} new events,"
            f" years {list(years) or 'none'} written, {written:,} rows",
            event="refresh_done",
            seconds=seconds,
            phases={
                "load": loaded - started,
                "compute": computed - loaded,
                "audit": audited,
                "publish": done - computed,
            },
            counts={"events": total, "new_events": new, "rows_written": written, "anomalies": anomalies},
            years_written=list(years),
        )
        report = RefreshReport(as_of, total, new, years, written, anomalies, seconds, self._newest, figures, audit)
        self._log(report)
        return report

    def _refresh_in_warehouse(self, *, force: bool) -> RefreshReport | None:
        """The warehouse engine's refresh: no log held. Everything (the first time, a new as-of date or reference
        wages, org events and corrections, an event outside what `scope` can place, or the audit on): the stored
        log read again worker by worker into the fact tables, every year recomputed. Else the workers the new
        events name are derived again from their stored events (``warehouse.compute.rederive``) and the years from
        the scope's on are recomputed, each year's partition whole."""
        started = time.perf_counter()
        self.absorb()
        fresh = self._pending
        as_of = self._as_of()
        wages = load_reference_wages(self._store)
        wages_key = tuple(wages)
        everything = force or not self._computed or as_of != self._last_as_of or wages_key != self._wages_key
        if not (everything or fresh):
            return None
        since = None if everything or self._audit else recompute_since(fresh, self._first_dates, as_of)
        self._note(
            f"recomputing in ClickHouse (warehouse engine) as of {as_of}, "
            + ("every year" if since is None else f"{len(fresh)} new events, years from {since.year} on"),
            event="refresh_started",
            as_of=as_of.isoformat(),
            since=None if since is None else since.isoformat(),
            engine=WAREHOUSE,
        )
        audit: AuditReport | None = None
        if since is None:
            mark = self._mark()  # before the log is read: what is stored later counts as new next time
            with self._paused():  # facts by the million, inserted and dropped batch by batch
                loaded = load(
                    self._store,
                    as_of,
                    self._org_levels,
                    cluster=self._cluster,
                    processes=self._load_processes,
                    connect=self._connect,
                )
            computed = time.perf_counter()
            anomalies, events = len(loaded.anomalies), loaded.events
            if loaded.peaks_apart:
                peaks = ", ".join(f"{peak:,.0f} MB" for peak in loaded.peaks_apart)
                self._note(
                    f"log read in {computed - started:.1f}s by {len(loaded.peaks_apart) + 1} processes (the helpers'"
                    f" peak RSS: {peaks})",
                    event="load_done",
                    seconds=round(computed - started, 3),
                    helpers_peak_mb=[round(peak) for peak in loaded.peaks_apart],
                )
            self._loaded = loaded
            if self._audit:  # its relations cross year ends: the whole table at once
                years, written, program, audit = self._publish_audited(loaded, as_of, wages)
            else:
                years, written, program = self._publish_by_year(loaded, as_of, wages)
            self._write_units(labels(latest_units(loaded.org_events)))
            self._newest, self._seen = mark
            self._first_dates = dict(loaded.first_dates)
            self._event_total = events
            self._owned, self._strays = Counter(loaded.owned), loaded.strays
            self._org_anomalies = anomalies - loaded.strays - sum(loaded.owned.values())
            phases = {"load": computed - started, "years": time.perf_counter() - computed}
        else:
            assert self._loaded is not None  # a scope is judged only after a full load
            keys = {event.worker_key for event in fresh}
            events, owned = rederive(self._store, keys, as_of, self._loaded.org, cluster=self._cluster)
            computed = time.perf_counter()
            for key in keys:  # the re-derived workers' anomalies replace theirs of before
                self._owned.pop(key, None)
            self._owned.update(owned)
            if self._strays:  # a new event may be what a stray correction named (a new correction: a full load)
                self._strays = len(stray_corrections(self._store))
            anomalies = self._org_anomalies + self._strays + sum(self._owned.values())
            years, written, program = self._publish_by_year(self._loaded, as_of, wages, from_year=since.year)
            self._note_first_dates(fresh)
            self._event_total += len(fresh)
            phases = {"rederive": computed - started, "years": time.perf_counter() - computed}
        new = len(fresh)
        self._pending = []
        self._computed = True
        self._last_as_of, self._wages_key = as_of, wages_key
        if not self._keep_log:
            self._spent = True
        done = time.perf_counter()
        self._note(
            f"refreshed in {done - started:.1f}s ("
            + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in phases.items())
            + f"): {new} new events, years {list(years) or 'none'} written, {written:,} rows",
            event="refresh_done",
            seconds=done - started,
            phases=phases,
            counts={"events": self._event_total, "new_events": new, "rows_written": written, "anomalies": anomalies},
            years_written=list(years),
        )
        report = RefreshReport(
            as_of,
            self._event_total,
            new,
            years,
            written,
            anomalies,
            done - started,
            self._newest,
            headlines(program),
            audit,
        )
        self._log(report)
        return report

    def _paused(self) -> AbstractContextManager[None]:
        """The cyclic collector paused over the warehouse engine's millions of acyclic rows (`no_cyclic_gc`): a
        one-shot rebuild leaves what it allocated frozen; a running service, whose heap is frozen after its first
        refresh, leaves it young (unfreezing would thaw that heap into every later full pass)."""
        if self._keep_log:
            return no_cyclic_gc(leave_young=True)
        return no_cyclic_gc(keep_frozen=True)

    def _note_first_dates(self, fresh: list[EventRecord]) -> None:
        """Keep each worker's earliest event date (what `scope.recompute_since` judges new events against)."""
        for worker, day in first_dates(fresh).items():
            if worker not in self._first_dates or day < self._first_dates[worker]:
                self._first_dates[worker] = day

    def _mark(self) -> tuple[datetime | None, dict[str, datetime]]:
        """The newest `stored_at` and the events of the re-read overlap before it (`loader.load_events`): read
        before a full load, so that events stored while it reads are new to the next refresh."""
        newest = self._store.query_rows("SELECT max(stored_at) FROM events")[0][0]
        rows = self._store.query_rows(
            "SELECT toString(event_id), max(stored_at) FROM events WHERE stored_at > %(since)s GROUP BY event_id",
            {"since": newest - OVERLAP},
        )
        self._overlap = Overlap()
        return newest, {str(event_id): stored_at for event_id, stored_at in rows}

    def _publish_audited(
        self, loaded: Loaded, as_of: date, wages: list[ReferenceWage]
    ) -> tuple[tuple[int, ...], int, list[IndicatorRow], AuditReport | None]:
        """The whole table aggregated, suppressed and audited at once (the audit's relations cross year ends), and
        published unless the audit held it back (`PublishHeld`)."""
        cells = Cells(self._k)
        if loaded.first_mi is not None:
            cells = aggregate(self._store, loaded.first_mi, as_of, self._k, org=loaded.org, reference_wages=wages)
        with self._paused():  # the rows' insert chunks are millions of tuples, like the compute's
            suppress(cells, loaded.org)
            audit = audit_table(cells, loaded.org, as_of, prior=self._prior(), proofs=self._proofs())
            self._note_audit(audit)
            if not audit.passed:
                raise PublishHeld(audit)
            rows = cells.rows()
            del cells
            years, written = self._publish(rows, force=True)
            self._audit_prior = audit_hidden(rows)
            self._keep_proofs(audit, as_of)
        return years, written, rows, audit

    def _publish_by_year(
        self, loaded: Loaded, as_of: date, wages: list[ReferenceWage], from_year: int | None = None
    ) -> tuple[tuple[int, ...], int, list[IndicatorRow]]:
        """Aggregate, suppress and stage the loaded facts one year at a time (``suppressed_years``: one year's cells
        in memory), then swap every year in (and, recomputing every year, drop the stored years no longer
        computed): what ``_publish(force=True)`` does with the whole table. With ``from_year``, only that year and
        the later ones. Returns the years written, the rows written and the program rows (the headlines')."""
        at = self._clock()
        years: list[int] = []
        written = 0
        program: list[IndicatorRow] = []
        self._publisher.start()
        if loaded.first_mi is not None:
            with self._paused():  # rows by the million, freed year by year
                for year, cells in suppressed_years(
                    self._store,
                    loaded.first_mi,
                    as_of,
                    self._k,
                    org=loaded.org,
                    reference_wages=wages,
                    from_year=from_year,
                ):
                    rows = cells.rows()
                    del cells
                    written += self._publisher.stage(rows, at)
                    program.extend(row for row in rows if row[3] == "all")  # row.dimension
                    years.append(year)
                    self._note(f"year {year}: {len(rows):,} rows staged", event="year_staged", year=year)
        drop = self._publisher.stored_years() - set(years) if from_year is None else set()
        self._publisher.swap(years, drop)
        if from_year is None:
            self._publisher.write_catalog(self._clock())
        self._published = {}
        return tuple(years), written, program

    def _prior(self) -> frozenset[Ref]:
        """The cells the published table hid for the audit: read from it once (a restarted service goes on from
        what it published), then kept from each audited publish."""
        if self._audit_prior is None:
            rows = self._store.query_rows(
                "SELECT indicator, period_kind, period, category, dimension, slice FROM indicators"
                " WHERE suppressed AND reason = %(audit)s",
                {"audit": AUDIT},
            )
            self._audit_prior = frozenset(
                ((str(ind), str(kind), period, str(cat)), (str(dim), str(value)))
                for ind, kind, period, cat, dim, value in rows
            )
        return self._audit_prior

    def _proofs(self) -> Proofs | None:
        """The last audit's proofs: read from ``audit_proofs`` once (a restarted service goes on from the last
        publish's), then kept from each audited publish. Unreadable ones are not used (the audit then solves)."""
        if not self._proofs_read:
            try:
                stored = self._proof_store.load()  # a store error is the refresh's: it is read again at the retry
            except ValueError as exc:
                self._proofs_read = True
                log.warning(
                    "the stored audit proofs are unreadable, the audit solves every cell: %s",
                    exc,
                    extra={"event": "audit_proofs_unreadable", "reason": str(exc)},
                )
                return None
            self._proofs_read = True
            if stored is not None:  # nothing kept yet: _keep_proofs marks them read
                self._audit_proofs = stored.proofs
                self._note(
                    f"audit proofs read: {len(stored.proofs.moves):,} points of the table as of {stored.as_of}"
                    f" published {stored.written_at:%Y-%m-%d %H:%M}",
                    event="audit_proofs_read",
                    points=len(stored.proofs.moves),
                    as_of=stored.as_of.isoformat(),
                )
        return self._audit_proofs

    def _keep_proofs(self, audit: AuditReport, as_of: date) -> None:
        """Hand a published table's audit proofs to the next audit, here and in ``audit_proofs``. The table is
        published already: a store that fails to keep them costs a restart's audit time, so it is a warning."""
        self._audit_proofs, self._proofs_read = audit.proofs, True
        if audit.proofs is None:
            return
        try:
            self._proof_store.save(audit.proofs, as_of, self._clock())
        except StoreError as exc:
            log.warning(
                "audit proofs not kept in ClickHouse (a restart's first audit will solve every cell): %s",
                exc,
                extra={"event": "audit_proofs_not_kept", "reason": str(exc)},
            )

    def _note_audit(self, audit: AuditReport) -> None:
        verdict = "passed" if audit.passed else f"FAILED, publish held back: {audit.problem}"
        self._note(
            f"audit {verdict} in {audit.seconds:.1f}s: {audit.cells_checked:,} hidden cells checked,"
            f" {audit.hidden:,} more hidden, {audit.blocks:,} blocks, {audit.rounds} rounds,"
            f" {audit.reused:,} proven by the last audit's points",
            event="audit_done",  # a held table's warning (event publish_held) is the service's, with the leaks
            passed=audit.passed,
            problem=audit.problem,
            counts={
                "cells_checked": audit.cells_checked,
                "hidden": audit.hidden,
                "blocks": audit.blocks,
                "rounds": audit.rounds,
                "lps": audit.lps,
                "reused": audit.reused,
            },
            seconds=audit.seconds,
        )

    def _note(self, line: str, **fields: object) -> None:
        if self._progress is not None:
            self._progress(line)
        else:
            log.info(line, extra=fields)

    def _load_new(self) -> list[EventRecord]:
        batch: list[EventRecord] = []
        newest = self._newest
        warehouse = self._engine == WAREHOUSE
        known = self._seen if warehouse else self._events
        for stored_at, event in load_events(
            self._store, stored_after=self._newest, known=known, pool=self._strings, overlap=self._overlap
        ):
            if warehouse:  # no log: the ids of the re-read overlap are what tells a new event
                if event.event_id in self._seen:
                    continue
                self._seen[event.event_id] = stored_at
            batch.append(event)
            if newest is None or stored_at > newest:
                newest = stored_at
        self._newest = newest
        if not warehouse:
            return self._events.add(batch)
        if newest is not None:
            self._seen = {event_id: at for event_id, at in self._seen.items() if at > newest - OVERLAP}
        return batch

    def _publish(
        self, rows: list[IndicatorRow], *, force: bool, since: date | None = None
    ) -> tuple[tuple[int, ...], int]:
        """Swap in the changed years; with `since`, the rows cover only the periods `compute(since=...)` keeps:
        `since`'s year is written with its rows of earlier periods as published, its fingerprint then unknown."""
        groups = by_year(rows)
        prints = {year: fingerprint(group) for year, group in groups.items()}
        part = since if since is not None and since.month != 1 and since.year in groups else None  # (none: after as-of)
        if part is not None:
            prints[part.year] = UNKNOWN
        if force or not self._published:
            stale = self._publisher.stored_years() - set(groups)
            changed = dict(groups)
        else:
            covered = {y for y in self._published if since is None or date(y, 1, 1) >= since}  # wholly recomputed
            stale = covered - set(groups)
            changed = {y: g for y, g in groups.items() if prints[y] == UNKNOWN or self._published.get(y) != prints[y]}
        written = self._publisher.replace_years(changed, stale, self._clock(), part)
        if force or not self._published:
            self._publisher.write_catalog(self._clock())
            self._published = {}
        for year in stale:
            self._published.pop(year, None)
        self._published.update(prints)
        return tuple(sorted(changed)), written

    def _write_units(self, units: list[UnitLabel]) -> None:
        at = self._clock()
        rows = [
            (u.unit_id, u.parent_id, u.level, u.name_zh, u.name_en, u.service_model, u.district_id, u.street_id, at)
            for u in units
        ]
        if rows:
            self._store.insert_rows(
                "org_units",
                rows,
                (*ORG_UNIT_FIELDS, "computed_at"),
            )

    def _log(self, report: RefreshReport) -> None:
        self._store.insert_rows(
            "refresh_log",
            [
                (
                    self._clock(),
                    report.as_of,
                    min(report.years_written or (1970,)),
                    report.newest_stored or datetime.fromtimestamp(0, tz=self._clock().tzinfo),
                    report.rows_written,
                    report.anomalies,
                    report.seconds,
                )
            ],
            ("refreshed_at", "as_of", "from_year", "events_seen_to", "rows_written", "anomalies", "seconds"),
        )


def headlines(rows: list[IndicatorRow]) -> dict[str, float | None]:
    """Program-wide figures operators alert on: latest annual turnover, latest stability, latest median pay."""

    program = [r for r in rows if r[3] == "all"]  # r.dimension, by index: one pass over millions of rows

    def latest(indicator: str, kind: str, category: str = "") -> float | None:
        cells = [
            r
            for r in program
            if r.indicator == indicator and r.period_kind == kind and r.category == category and r.value is not None
        ]
        return max(cells, key=lambda r: r.period).value if cells else None

    return {
        "separation_rate_annual": latest("separation_rate", "rolling12"),
        "stability_index": latest("stability_index", "month"),
        "pay_median": latest("pay_median", "month", "total"),
    }
