"""The event log as the engine reads it, kept up to date batch by batch. Pure: no I/O.

Corrections are applied, org events set apart, and every worker's events replayed into spells. Replaying a
thousand workers' histories is most of an incremental refresh's work, so the log remembers each worker's replay
and, when a batch holds only plain events, replays only the workers it touches. A correction, an event some
stored correction names as its target, or an id that collides once normalised re-prepares the whole log, so the
result is always exactly what preparing the whole log from scratch gives (tests/unit/test_engine_log.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from schemas.correction import payload_problem

from .corrections import CORRECTION_TYPES, NO_CLOCK, apply_corrections, norm_id
from .model import Anomaly, EventRecord
from .orgs import ORG_TYPES
from .spells import Worker
from .timeline import UNREADABLE, WORKER_TYPES, Dated, first_date, group_by_worker, replay_worker


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the engine computes from: corrected org events, every worker's spells (by worker key), the earliest
    worker event date, and the events that count nowhere (sorted by event_id, reason)."""

    org_events: tuple[EventRecord, ...]
    workers: tuple[Worker, ...]
    first_date: date | None
    anomalies: tuple[Anomaly, ...]


class EventLog:
    """Events deduplicated by ``event_id`` (the first content is the only content), prepared on demand."""

    def __init__(self, events: Iterable[EventRecord] = ()) -> None:
        self._events: dict[str, EventRecord] = {}
        self._norm_ids: set[str] = set()
        self._targets: set[str] = set()
        self._pending: list[EventRecord] = []
        self._full = True
        self._org: list[EventRecord] = []
        self._loose: list[Anomaly] = []  # corrections that apply nowhere, unknown types, unreadable worker events
        self._dated: dict[str, list[Dated]] = {}
        self._workers: dict[str, Worker] = {}
        self._replay_anomalies: dict[str, list[Anomaly]] = {}
        self._prepared: Prepared | None = None
        self._first: date | None = None  # the earliest worker event date: dated events are only ever added
        self.add(events)

    def __len__(self) -> int:
        return len(self._events)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._events

    def values(self) -> Iterable[EventRecord]:
        return self._events.values()

    def add(self, events: Iterable[EventRecord]) -> list[EventRecord]:
        """Take a batch; returns the events not seen before, in batch order."""
        new: list[EventRecord] = []
        for ev in events:
            if ev.event_id in self._events:
                continue
            self._events[ev.event_id] = ev
            new.append(ev)
            norm = norm_id(ev.event_id)
            if ev.event_type in CORRECTION_TYPES or norm in self._targets or norm in self._norm_ids:
                self._full = True
            self._norm_ids.add(norm)
            if ev.event_type in CORRECTION_TYPES:
                self._targets.add(norm_id(ev.data.get("target_event_id", "")))
            if not self._full:
                self._pending.append(ev)
        if new:
            self._prepared = None
        return new

    def prepared(self) -> Prepared:
        """The whole log prepared: from scratch after a correction, else updated for the pending batch only."""
        if self._prepared is None:
            if self._full:
                self._prepare_all()
            else:
                self._prepare_pending()
            self._pending = []
            self._full = False
            self._prepared = self._assemble()
        return self._prepared

    def _prepare_all(self) -> None:
        corrected, self._loose = apply_corrections(self._events.values())
        self._org = []
        self._dated = {}
        self._classify(corrected)
        self._workers, self._replay_anomalies = {}, {}
        for key in sorted(self._dated):
            self._replay(key)
        self._first = first_date(self._dated.values())

    def _prepare_pending(self) -> None:
        """No correction is involved: the pending events count as they are."""
        before = set(self._dated)
        touched = self._classify(self._pending)
        for key in touched:
            self._dated[key].sort(key=lambda d: norm_id(d.event.event_id))  # the order a full prepare gives
            self._replay(key)
        first = first_date(self._dated[key] for key in touched)
        if first is not None and (self._first is None or first < self._first):
            self._first = first
        if not touched <= before:
            self._workers = dict(sorted(self._workers.items()))

    def _classify(self, events: Iterable[EventRecord]) -> set[str]:
        """Org events aside, unknown types as anomalies, worker events grouped; returns the workers touched."""
        worker_events: list[EventRecord] = []
        for ev in events:
            if ev.event_type in ORG_TYPES:
                self._org.append(ev)
            elif ev.event_type in WORKER_TYPES:
                worker_events.append(ev)
            else:
                self._loose.append(Anomaly(ev.event_id, ev.worker_key, "unknown_event_type"))
        grouped = group_by_worker(worker_events, self._loose)
        for key, dated in grouped.items():
            self._dated.setdefault(key, []).extend(dated)
        return set(grouped)

    def _replay(self, key: str) -> None:
        anomalies: list[Anomaly] = []
        try:
            self._workers[key] = replay_worker(key, self._dated[key], anomalies)
        except UNREADABLE:
            anomalies = []
            self._workers[key] = self._replay_readable(key, anomalies)
        if anomalies:
            self._replay_anomalies[key] = anomalies
        else:
            self._replay_anomalies.pop(key, None)

    def _replay_readable(self, key: str, anomalies: list[Anomaly]) -> Worker:
        """The worker replayed without the events their payload model refuses (stored by hand, or amended before
        the engine checked amendments): each an ``invalid_payload`` anomaly. Only after a replay failed."""
        readable: list[Dated] = []
        for dated in self._dated[key]:
            ev = dated.event
            if payload_problem(ev.event_type, ev.data, NO_CLOCK) is None:
                readable.append(dated)
            else:
                anomalies.append(Anomaly(ev.event_id, ev.worker_key, "invalid_payload"))
        return replay_worker(key, readable, anomalies)

    def _assemble(self) -> Prepared:
        anomalies = [*self._loose, *(a for group in self._replay_anomalies.values() for a in group)]
        anomalies.sort(key=lambda a: (a.event_id, a.reason))
        first = self._first
        org = sorted(self._org, key=lambda e: norm_id(e.event_id))  # a few thousand at most
        return Prepared(tuple(org), tuple(self._workers.values()), first, tuple(anomalies))
