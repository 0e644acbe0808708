"""After incremental refreshes (only the years a change can touch), the published indicators equal a full
recomputation, cell for cell, for every kind of worker event; with the publish audit on (every year recomputed),
they equal the audited computation, a restarted service goes on from the stored proofs of the last audit (and
unreadable ones are not used), and a table the audit cannot protect is not published."""

from __future__ import annotations

import base64
import importlib
import json
import logging
import uuid
from datetime import date
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.common.clickhouse import ConnectClickHouse
from services.common.errors import StoreUnavailable
from services.common.migrations import migrate
from services.ingest.deliveries import Delivery
from services.ingest.pipeline import Pipeline
from services.ingest.pseudonymise import Pseudonymiser
from services.ingest.writer import EventWriter
from services.metrics.engine import compute
from services.metrics.engine.audit import AuditReport, audit_hidden
from services.metrics.loader import Overlap, load_events
from services.metrics.proofs_store import COLUMNS as PROOF_COLUMNS
from services.metrics.proofs_store import ProofStore
from services.metrics.publish import COLUMNS
from services.metrics.refresh import PublishHeld, Refresher
from services.sim import SimConfig, generate
from tests.oracle.compare import cells, differences

from .harness import TEST_KEY, utc_now_fixed

ENGINE = importlib.import_module("services.metrics.engine.compute")  # the module (the package exports the function)
AS_OF = date(2024, 6, 30)
NOW = utc_now_fixed(AS_OF)
LEVELS = frozenset({"district", "street"})


def _store(store: ConnectClickHouse, events: list[dict[str, Any]]) -> None:
    pipeline = Pipeline(
        EventWriter(store),
        Pseudonymiser(TEST_KEY.encode()),
        zone=ZoneInfo("Asia/Shanghai"),
        broker="test",
        clock=lambda: NOW,
    )
    out = pipeline.store(
        [Delivery(json.dumps(e, ensure_ascii=False).encode(), None, "t", NOW, str(uuid.uuid4())) for e in events]
    )
    assert not out.rejected, out.rejected[:2]


def _event(kind: str, worker: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": kind,
        "occurred_at": "2024-06-01T09:00:00+08:00",
        "emitted_at": "2024-06-01T09:00:00+08:00",
        "source": "test",
        "worker_id": worker,
        "data": data,
    }


def _rows(store: ConnectClickHouse) -> list[Any]:
    rows = store.query_rows(f"SELECT {', '.join(COLUMNS[:-1])} FROM indicators")
    return [SimpleNamespace(**dict(zip(COLUMNS, row, strict=False))) for row in rows]


def _published(store: ConnectClickHouse) -> dict[Any, Any]:
    return cells(_rows(store))


# audited: a shorter history, as the audit recomputes and checks every year on every refresh
@pytest.mark.parametrize(("audit", "since"), [(False, 2021), (True, 2024)], ids=["rules", "audited"])
def test_incremental_refreshes_equal_a_full_recomputation(
    store: ConnectClickHouse, database: str, audit: bool, since: int
) -> None:
    base = list(generate(SimConfig(workers=50, start_year=since, end=AS_OF, seed=9, scenario=False)))
    _store(store, base)
    migrate(store, "ingest", "metrics", database=database)
    store.command("TRUNCATE TABLE indicators")
    refresher = Refresher(store, k=3, as_of=lambda: AS_OF, clock=lambda: NOW, org_levels=LEVELS, audit=audit)
    assert refresher.refresh(force=True) is not None
    hire = next(e for e in base if e["event_type"] == "staffing.hired.v1")
    unit = hire["data"]["org_unit_id"]
    steps = [
        _event("staffing.hired.v1", "NEW-1", {**hire["data"], "hire_date": "2024-05-02"}),
        _event(
            "staffing.pay_set.v1",
            "NEW-1",
            {
                "effective_date": "2024-05-02",
                "monthly_base": "6000",
                "allowances": "800",
                "currency": "CNY",
                "weekly_hours": 40,
            },
        ),
        _event(
            "training.completed.v1",
            "NEW-1",
            {
                "course_id": "C1",
                "class_id": "K1",
                "kind": "initial",
                "start_date": "2024-05-20",
                "end_date": "2024-05-24",
                "hours": 24,
                "passed": True,
            },
        ),
        _event(
            "staffing.transferred.v1",
            "NEW-1",
            {"from_unit_id": unit, "to_unit_id": "T-BAOSHAN-0001", "effective_date": "2024-06-03"},
        ),
        _event(
            "turnover.separated.v1",
            hire["worker_id"],
            {"separation_date": "2024-06-10", "kind": "voluntary", "reason": "pay", "note": None},
        ),
    ]
    scopes, reused = [], []
    for step in steps:
        # audited, a table starts from the cells the published one hid for the audit (audit_table's prior)
        prior = audit_hidden(_rows(store))
        _store(store, [step])
        report = refresher.refresh()
        assert report is not None
        scopes.append(report.years_written)
        result = compute(
            [e for _, e in load_events(store)], as_of=AS_OF, k=3, org_levels=LEVELS, audit=audit, audit_prior=prior
        )
        problems = differences(cells(result.rows), _published(store))
        assert not problems, f"after {step['event_type']}:\n" + "\n".join(problems)
        assert (report.audit is not None) == audit and (result.audit is None or result.audit.passed)
        reused.append(0 if report.audit is None else report.audit.reused)
    if not audit:
        assert scopes[0] and min(scopes[0]) >= 2024, f"a new worker's hire should touch 2024 only: {scopes}"
        return
    # each refresh's audit proves cells with the points of the one before it (the same table as an audit from
    # scratch: compared above)
    assert all(reused), f"cells proven by the last audit's points, per refresh: {reused}"
    # a restarted service goes on from the cells the published table hid for the audit, read back from it, and from
    # the last audit's proofs, read back from audit_proofs (one row: each publish replaced the one before)
    prior = audit_hidden(_rows(store))
    assert prior, "the audit hid nothing on this log: nothing to carry"
    assert store.query_rows("SELECT count() FROM audit_proofs") == [(1,)]
    restarted = Refresher(store, k=3, as_of=lambda: AS_OF, clock=lambda: NOW, org_levels=LEVELS, audit=True)
    report = restarted.refresh(force=True)
    assert report is not None and report.audit is not None and report.audit.carried == len(prior)
    assert report.audit.reused > 0, "the restarted service's audit proved nothing with the stored points"
    assert audit_hidden(_rows(store)) >= prior
    result = compute(
        [e for _, e in load_events(store)], as_of=AS_OF, k=3, org_levels=LEVELS, audit=True, audit_prior=prior
    )
    assert not differences(cells(result.rows), _published(store))


def test_the_overlap_reread_returns_only_unseen_events(store: ConnectClickHouse) -> None:
    base = list(generate(SimConfig(workers=5, start_year=2023, end=AS_OF, seed=4, scenario=False)))
    _store(store, base)
    first = list(load_events(store))
    assert len({e.event_id for _, e in first}) == len(base)
    newest = max(stored_at for stored_at, _ in first)
    seen = {e.event_id for _, e in first}
    assert list(load_events(store, stored_after=newest, known=seen)) == []  # all inside the overlap, all known
    hire = next(e for e in base if e["event_type"] == "staffing.hired.v1")
    extra = _event("staffing.hired.v1", "NEW-9", {**hire["data"], "hire_date": "2024-06-03"})
    _store(store, [extra])
    again = list(load_events(store, stored_after=newest, known=seen))
    assert [e.event_id for _, e in again] == [extra["event_id"]]
    assert again[0][1].data["hire_date"] == "2024-06-03"


def test_an_unchanged_overlap_is_counted_not_read_again(store: ConnectClickHouse) -> None:
    """All events stored within one overlap (a bulk load): once loaded, a poll that finds the same count after the
    same bound reads no ids; an event stored later is still found."""
    base = list(generate(SimConfig(workers=5, start_year=2023, end=AS_OF, seed=4, scenario=False)))
    _store(store, base)
    first = list(load_events(store))
    newest = max(stored_at for stored_at, _ in first)
    seen = {e.event_id for _, e in first}
    asked: list[str] = []

    def query_rows(sql: str, parameters: Any = None) -> list[tuple[Any, ...]]:
        asked.append(sql)
        return store.query_rows(sql, parameters)

    recording = SimpleNamespace(query_rows=query_rows)
    overlap = Overlap()
    assert list(load_events(recording, stored_after=newest, known=seen, overlap=overlap)) == []
    assert any("DISTINCT" in sql for sql in asked)  # the first poll reads the overlap's ids
    asked.clear()
    assert list(load_events(recording, stored_after=newest, known=seen, overlap=overlap)) == []
    assert len(asked) == 1 and "uniqExact" in asked[0], asked  # nothing new: one count
    hire = next(e for e in base if e["event_type"] == "staffing.hired.v1")
    extra = _event("staffing.hired.v1", "NEW-8", {**hire["data"], "hire_date": "2024-06-04"})
    _store(store, [extra])
    again = list(load_events(recording, stored_after=newest, known=seen, overlap=overlap))
    assert [e.event_id for _, e in again] == [extra["event_id"]]


def test_loaded_events_share_their_repeated_strings(store: ConnectClickHouse) -> None:
    base = list(generate(SimConfig(workers=5, start_year=2023, end=AS_OF, seed=6, scenario=False)))
    _store(store, base)
    pool: dict[str, str] = {}
    pays = [e for _, e in load_events(store, pool=pool) if e.event_type == "staffing.pay_set.v1"]
    by_worker: dict[str, list[Any]] = {}
    for event in pays:
        by_worker.setdefault(event.worker_key, []).append(event)
    one, two = max(by_worker.values(), key=len)[:2]
    assert one.worker_key is two.worker_key and one.event_type is two.event_type
    assert next(iter(one.data)) is next(iter(two.data))  # payload keys
    assert one.data["currency"] is two.data["currency"] == "CNY"
    again = next(e for _, e in load_events(store, pool=pool) if e.event_id == one.event_id)
    assert again == one and again.worker_key is one.worker_key  # the caller's pool outlives one load


class _FailingSwap:
    """The real store, except that the next `fail` partition swaps raise StoreUnavailable."""

    def __init__(self, store: ConnectClickHouse, fail: int) -> None:
        self._store, self.fail = store, fail

    def command(self, sql: str, parameters: Any = None) -> None:
        if "REPLACE PARTITION" in sql and self.fail:
            self.fail -= 1
            raise StoreUnavailable("swap refused (test)")
        self._store.command(sql, parameters)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_events_of_a_failed_refresh_are_published_by_the_next(store: ConnectClickHouse, database: str) -> None:
    base = list(generate(SimConfig(workers=30, start_year=2022, end=AS_OF, seed=5, scenario=False)))
    _store(store, base)
    migrate(store, "ingest", "metrics", database=database)
    store.command("TRUNCATE TABLE indicators")
    flaky = _FailingSwap(store, fail=0)
    refresher = Refresher(flaky, k=3, as_of=lambda: AS_OF, clock=lambda: NOW, org_levels=LEVELS)
    assert refresher.refresh(force=True) is not None
    hire = next(e for e in base if e["event_type"] == "staffing.hired.v1")
    _store(store, [_event("staffing.hired.v1", "NEW-2", {**hire["data"], "hire_date": "2024-06-04"})])
    flaky.fail = 1
    with pytest.raises(StoreUnavailable):
        refresher.refresh()
    report = refresher.refresh()
    assert report is not None and report.new_events == 1 and report.years_written == (2024,)
    expected = cells(compute([e for _, e in load_events(store)], as_of=AS_OF, k=3, org_levels=LEVELS).rows)
    assert not differences(expected, _published(store))


def test_a_one_shot_rebuild_publishes_the_full_computation_and_refuses_a_second_refresh(
    store: ConnectClickHouse, database: str
) -> None:
    base = list(generate(SimConfig(workers=30, start_year=2022, end=AS_OF, seed=7)))
    _store(store, base)
    migrate(store, "ingest", "metrics", database=database)
    store.command("TRUNCATE TABLE indicators")
    store.command("TRUNCATE TABLE org_units")
    once = Refresher(store, k=3, as_of=lambda: AS_OF, clock=lambda: NOW, org_levels=LEVELS, keep_log=False)
    report = once.refresh(force=True)
    assert report is not None and report.events == len(base)
    expected = cells(compute([e for _, e in load_events(store)], as_of=AS_OF, k=3, org_levels=LEVELS).rows)
    assert not differences(expected, _published(store))
    units = store.query_rows("SELECT count() FROM org_units")[0][0]
    assert units == sum(e["event_type"] == "org.unit_registered.v1" for e in base)
    with pytest.raises(RuntimeError, match="refreshes once"):
        once.refresh()


def _audited(store: ConnectClickHouse, database: str) -> tuple[list[dict[str, Any]], Refresher]:
    """A small program stored and published once by an audited refresher (30 workers over half a year)."""
    base = list(generate(SimConfig(workers=30, start_year=2024, end=AS_OF, seed=5, scenario=False)))
    _store(store, base)
    migrate(store, "ingest", "metrics", database=database)
    store.command("TRUNCATE TABLE indicators")
    refresher = Refresher(store, k=3, as_of=lambda: AS_OF, clock=lambda: NOW, org_levels=LEVELS, audit=True)
    assert refresher.refresh(force=True) is not None
    return base, refresher


def test_a_table_the_audit_cannot_protect_is_not_published(
    store: ConnectClickHouse, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, refresher = _audited(store, database)
    before = _published(store)

    def failing(cells: object, org: object, as_of: date, **_: object) -> AuditReport:
        return AuditReport(rounds=30, passed=False, problem="still leaking after 30 rounds")

    monkeypatch.setattr(ENGINE, "audit_table", failing)
    hire = next(e for e in base if e["event_type"] == "staffing.hired.v1")
    _store(store, [_event("staffing.hired.v1", "NEW-3", {**hire["data"], "hire_date": "2024-06-04"})])
    with pytest.raises(PublishHeld, match="still leaking after 30 rounds"):
        refresher.refresh()
    assert not differences(before, _published(store)), "a held-back table was swapped in"
    assert refresher.refresh() is None, "the same table was audited again with nothing changed"
    monkeypatch.undo()
    _store(store, [_event("staffing.hired.v1", "NEW-4", {**hire["data"], "hire_date": "2024-06-05"})])
    report = refresher.refresh()
    assert report is not None and report.new_events == 2 and report.audit is not None and report.audit.passed


@pytest.mark.parametrize("body", ["not base64 at all!", base64.b64encode(b"PK\x03\x04 a damaged archive").decode()])
def test_unreadable_stored_proofs_are_not_used(
    store: ConnectClickHouse, database: str, caplog: pytest.LogCaptureFixture, body: str
) -> None:
    _audited(store, database)
    before = _published(store)
    store.command("TRUNCATE TABLE audit_proofs")
    store.insert_rows("audit_proofs", [("x", NOW, AS_OF, 1, 1, body)], PROOF_COLUMNS)
    rules = Refresher(store, k=3, as_of=lambda: AS_OF, clock=lambda: NOW, org_levels=LEVELS, audit=False)
    restarted = Refresher(store, k=3, as_of=lambda: AS_OF, clock=lambda: NOW, org_levels=LEVELS, audit=True)
    with caplog.at_level(logging.WARNING, logger="services.metrics.refresh"):
        assert rules.refresh(force=True) is not None
        assert not caplog.records, "a refresher with the audit off read the audit's proofs"
        report = restarted.refresh(force=True)
    assert report is not None and report.audit is not None and report.audit.passed and report.audit.reused == 0
    assert [r for r in caplog.records if getattr(r, "event", "") == "audit_proofs_unreadable"]
    assert not differences(before, _published(store)), "the same events gave another table"
    stored = ProofStore(store).load()  # the restarted service's own proofs replaced the damaged row
    assert stored is not None and stored.proofs.moves
    assert store.query_rows("SELECT count() FROM audit_proofs") == [(1,)]
