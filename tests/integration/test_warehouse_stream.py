"""The warehouse path reading the stored log worker by worker (issue 13, ``warehouse.stream``): the same cells as
the reference engine computing on the whole log in memory, on the edge-case logs (with corrections of worker and
org events, same-day rehires, unregistered units) and the simulator, stored in a real events table with a tenth of
the events stored twice (redeliveries), read back in batches small enough that every log spans several."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest

from services.common.clickhouse import ConnectClickHouse
from services.common.cluster import INSERT_SETTINGS
from services.common.migrations import Cluster, migrate
from services.metrics import app
from services.metrics.engine import EventRecord
from services.metrics.engine.log import EventLog
from services.metrics.publish import COLUMNS as PUBLISHED_COLUMNS
from services.metrics.publish import ORG_UNIT_FIELDS
from services.metrics.scope import event_date
from services.metrics.settings import MetricsSettings
from services.metrics.warehouse import stream
from services.metrics.warehouse.compute import aggregate, load, rederive, streamed
from services.stack.api import StackUrls
from tests.oracle.compare import cells, differences
from tests.oracle.synth import synthetic_log
from tests.unit.test_engine_vs_oracle import PUBLISHED, REFS, SIM_AS_OF, SYNTH_AS_OF, _sim

from .servers import Servers
from .test_cluster import cluster as cluster  # the two-shard stack fixture
from .test_warehouse import _reference

BATCH = 7
"""Workers a batch: every log below spans several batches, and corrections cross batch bounds."""
COLUMNS = ("event_id", "event_type", "occurred_at", "emitted_at", "received_at", "source", "worker_key",
           "event_date", "data", "content_hash")  # fmt: skip


@pytest.fixture
def events_store(servers: Servers) -> Iterator[ConnectClickHouse]:
    """A database of its own with the ingest tables (the events table as ingest creates it)."""
    name = f"whs_{uuid.uuid4().hex[:12]}"
    client = ConnectClickHouse.connect(servers.clickhouse_url, database=name, user="default", password="")
    migrate(client, "ingest", database=name)
    yield client
    client.command(f"DROP DATABASE IF EXISTS {name}")
    client.close()


def _store(store: ConnectClickHouse, events: tuple[EventRecord, ...]) -> None:
    rows = [
        (uuid.UUID(ev.event_id), ev.event_type, ev.occurred_at, ev.emitted_at, ev.emitted_at, "test", ev.worker_key,
         ev.occurred_at.date(), json.dumps(ev.data, ensure_ascii=False), "")
        for ev in events
    ]  # fmt: skip
    store.insert_rows("events", rows, COLUMNS)
    store.insert_rows("events", rows[::10], COLUMNS)  # redelivered: stored twice until a merge


def _assert_equal(
    store: ConnectClickHouse, events: tuple[EventRecord, ...], as_of: date, k: int, levels: frozenset[str] | None
) -> None:
    _store(store, events)
    expected = cells(_reference(events, as_of, k, levels))
    actual = cells(streamed(store, as_of, k, levels, batch=BATCH).cells.rows())
    assert len(expected) > 1000
    problems = differences(expected, actual, limit=40)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("levels", [None, PUBLISHED], ids=["every-level", "published-levels"])
@pytest.mark.parametrize("seed", [1, 7, 23])
def test_streamed_cells_equal_reference_on_edge_case_logs(
    events_store: ConnectClickHouse, seed: int, levels: frozenset[str] | None
) -> None:
    events = tuple(synthetic_log(workers=40, start=date(2021, 1, 1), end=date(2023, 1, 31), seed=seed))
    assert any(ev.event_type.startswith("correction.") for ev in events), "the log should hold corrections"
    _assert_equal(events_store, events, SYNTH_AS_OF, 5, levels)


def test_streamed_cells_equal_reference_on_the_simulator(events_store: ConnectClickHouse) -> None:
    _assert_equal(events_store, _sim(11), SIM_AS_OF, 1, PUBLISHED)


def test_each_batch_holds_its_workers_and_the_corrections_of_their_events(events_store: ConnectClickHouse) -> None:
    events = tuple(synthetic_log(workers=40, start=date(2021, 1, 1), end=date(2023, 1, 31), seed=7))
    _store(events_store, events)
    batches = list(stream.worker_batches(events_store, BATCH))
    workers = {ev.worker_key for ev in events if ev.worker_key}
    assert len(batches) == -(-len(workers) // BATCH)
    seen: set[str] = set()
    for batch in batches:
        keys = {ev.worker_key for ev in batch if ev.worker_key}
        assert not keys & seen, "a worker's events in two batches"
        seen |= keys
        ids = {ev.event_id for ev in batch}
        for ev in batch:
            if ev.event_type.startswith("correction."):
                assert str(ev.data["target_event_id"]).strip().lower() in ids
    assert seen == workers
    read = {ev.event_id for batch in batches for ev in batch}
    assert {ev.event_id for ev in events if ev.worker_key} <= read, "a worker event left out"


def test_load_reports_the_anomalies_the_reference_reports(events_store: ConnectClickHouse) -> None:
    """Corrections no replay reads (of an unknown event, of a correction, one stored twice) are reported as the
    reference engine reports them on the whole log, beside the replays' own; the events read are the log's."""
    events = synthetic_log(workers=40, start=date(2021, 1, 1), end=date(2023, 1, 31), seed=7)
    correction = next(ev for ev in events if ev.event_type.startswith("correction."))
    at = correction.emitted_at

    def retraction(target: str) -> EventRecord:
        return EventRecord(str(uuid.uuid4()), "correction.retracted.v1", at, at, "", {"target_event_id": target})

    strays = (retraction(str(uuid.uuid4())), retraction(correction.event_id.upper()), retraction("not-an-id"))
    logged = (*events, *strays)
    _store(events_store, logged)
    _store(events_store, strays)  # redelivered: a copy is the same event, not another anomaly
    reference = EventLog(logged)
    expected = sorted((a.event_id, a.reason) for a in reference.prepared().anomalies)
    loaded = load(events_store, SYNTH_AS_OF, None, batch=BATCH)
    assert sorted((a.event_id, a.reason) for a in loaded.anomalies) == expected
    assert {reason for _, reason in expected} >= {"correction_unknown_target", "correction_of_correction"}
    assert loaded.events == len(reference)


def test_a_load_over_three_processes_gives_what_one_process_gives(
    servers: Servers, events_store: ConnectClickHouse
) -> None:
    """The workers split in three parts by a hash of their key, two loaded by spawned processes of their own: the
    same cells as the reference's, the same anomalies and events read as one process's load, every worker's first
    date; each helper process reports its peak memory."""
    events = tuple(synthetic_log(workers=40, start=date(2021, 1, 1), end=date(2023, 1, 31), seed=23))
    _store(events_store, events)
    database = str(events_store.query_rows("SELECT currentDatabase()")[0][0])
    connect = partial(ConnectClickHouse.connect, servers.clickhouse_url, database=database, user="default", password="")
    alone = load(events_store, SYNTH_AS_OF, None, batch=BATCH)
    split = load(events_store, SYNTH_AS_OF, None, batch=BATCH, processes=3, connect=connect)
    assert split.first_mi is not None
    actual = cells(aggregate(events_store, split.first_mi, SYNTH_AS_OF, 5, org=split.org).rows())
    problems = differences(cells(_reference(events, SYNTH_AS_OF, 5, None)), actual, limit=40)
    assert not problems, "\n".join(problems)
    assert (split.events, split.anomalies, split.first_mi) == (alone.events, alone.anomalies, alone.first_mi)
    assert split.first_dates == alone.first_dates
    assert len(split.peaks_apart) == 2 and all(peak > 0 for peak in split.peaks_apart)


def test_streamed_cells_on_a_two_shard_cluster_equal_reference(cluster: StackUrls) -> None:
    """The same SQL over Distributed event and fact tables on the project's two-shard stack: events and facts
    spread over both shards by worker, and every cell equal to the reference engine's on the whole log; still equal
    after a refresh's re-derivation of some workers (their facts deleted from each shard's local tables and written
    again through the Distributed ones)."""
    name = f"whc_{uuid.uuid4().hex[:12]}"
    env = cluster.env()
    urls = env["CLICKHOUSE_SHARD_URLS"].split(",")

    def connect(url: str) -> ConnectClickHouse:
        return ConnectClickHouse.connect(url, database=name, user="default", password="", settings=INSERT_SETTINGS)

    home, shards = connect(env["CLICKHOUSE_URL"]), [connect(url) for url in urls]
    topology = Cluster(env["CLICKHOUSE_CLUSTER"], shards)
    try:
        migrate(home, "ingest", database=name, cluster=topology)
        events = tuple(synthetic_log(workers=40, start=date(2021, 1, 1), end=date(2023, 1, 31), seed=7))
        _store(home, events)
        expected = cells(_reference(events, SYNTH_AS_OF, 5, None))
        actual = cells(streamed(home, SYNTH_AS_OF, 5, None, batch=BATCH, cluster=topology).cells.rows())
        problems = differences(expected, actual, limit=40)
        assert not problems, "\n".join(problems)
        loaded = load(home, SYNTH_AS_OF, None, batch=BATCH, cluster=topology)
        assert loaded.first_mi is not None
        presence = "SELECT count() FROM wf_presence"
        before = home.query_rows(presence)[0][0]
        rederive(
            home, sorted({e.worker_key for e in events if e.worker_key})[:7], SYNTH_AS_OF, loaded.org, cluster=topology
        )
        assert home.query_rows(presence)[0][0] == before  # replaced, not added to
        again = aggregate(home, loaded.first_mi, SYNTH_AS_OF, 5, org=loaded.org)
        problems = differences(expected, cells(again.rows()), limit=40)
        assert not problems, "\n".join(problems)
        for shard in shards:
            assert int(shard.query_rows("SELECT count() FROM events_local")[0][0]) > 0
            assert int(shard.query_rows("SELECT count() FROM wf_presence_local")[0][0]) > 0
    finally:
        for store in shards:  # the services' server is the first shard
            store.command(f"DROP DATABASE IF EXISTS {name}")
        for store in (*shards, home):
            store.close()


@contextmanager
def _metrics_database(
    servers: Servers, engine: str, *, audit: bool = False
) -> Iterator[tuple[MetricsSettings, ConnectClickHouse]]:
    """A database of its own with the ingest and metrics tables and the test reference wages, and the metrics
    settings naming it (k = 5, as of ``SYNTH_AS_OF``, ``engine``, ``audit``); dropped after."""
    name = f"whr_{uuid.uuid4().hex[:12]}"
    settings = MetricsSettings(
        clickhouse_url=servers.clickhouse_url,
        clickhouse_database=name,
        metrics_k=5,
        metrics_as_of=SYNTH_AS_OF,
        metrics_engine=engine,
        metrics_audit=audit,
    )
    store = ConnectClickHouse.connect(servers.clickhouse_url, database=name, user="default", password="")
    try:
        migrate(store, "ingest", "metrics", database=name)
        app.load_reference_wages(settings, [(r.region, r.year, r.annual_amount, r.source) for r in REFS])
        yield settings, store
    finally:
        store.command(f"DROP DATABASE IF EXISTS {name}")
        store.close()


def _published(store: ConnectClickHouse) -> dict[Any, Any]:
    rows = store.query_rows(f"SELECT {', '.join(PUBLISHED_COLUMNS[:-1])} FROM indicators")
    return cells(SimpleNamespace(**dict(zip(PUBLISHED_COLUMNS, row, strict=False))) for row in rows)


@pytest.mark.parametrize("audit", [False, True], ids=["rules", "audited"])
def test_rebuild_with_the_warehouse_engine_publishes_what_the_reference_publishes(
    servers: Servers, audit: bool
) -> None:
    """`workforce-metrics rebuild`'s work (app.rebuild) with METRICS_ENGINE=warehouse and with the reference, each
    in a database of its own holding the same stored log and reference wages: the same published table, cell by
    cell (values, flags, reasons), the same unit labels; with the audit on as well."""
    events = tuple(synthetic_log(workers=40, start=date(2021, 1, 1), end=date(2023, 1, 31), seed=7))
    published: dict[str, dict[Any, Any]] = {}
    units: dict[str, list[tuple[Any, ...]]] = {}
    for engine in ("reference", "warehouse"):
        with _metrics_database(servers, engine, audit=audit) as (settings, store):
            _store(store, events)
            report = app.rebuild(settings, progress=lambda line: None)
            assert report is not None and report.rows_written > 1000
            published[engine] = _published(store)
            units[engine] = sorted(store.query_rows(f"SELECT {', '.join(ORG_UNIT_FIELDS)} FROM org_units FINAL"))
    problems = differences(published["reference"], published["warehouse"], limit=40)
    assert not problems, "\n".join(problems)
    assert any(cell[4] and cell[5] == ("audit" if audit else "secondary") for cell in published["warehouse"].values())
    assert units["reference"] == units["warehouse"] and units["warehouse"]


LATE_TYPES = frozenset({"training.completed.v1", "staffing.pay_set.v1", "staffing.transferred.v1"})


def test_a_running_warehouse_refresher_derives_new_workers_again_and_publishes_what_a_rebuild_does(
    servers: Servers,
) -> None:
    """The service's refresher on the warehouse engine (METRICS_ENGINE=warehouse, `run`): after a first full load,
    the trainings, pay changes and transfers of the log's last quarter arrive (some corrected by corrections stored
    before them); the next refresh derives only their workers again (their scope: the as-of year, so earlier years are
    not written) and publishes the table a reference rebuild of the whole log publishes, cell by cell; with nothing new
    the refresh after it does nothing. Its anomalies are the whole log's, as the reference counts them: those of the
    workers it did not derive again (a training after a worker left, in the first load) with the new ones (another,
    late)."""
    synthetic = synthetic_log(workers=40, start=date(2021, 1, 1), end=date(2023, 1, 31), seed=7)
    last: dict[str, date] = {}
    for e in synthetic:
        last[e.worker_key] = max(last.get(e.worker_key, date.min), event_date(e) or date.min)
    left = {e.worker_key: event_date(e) or date.max for e in synthetic if e.event_type == "turnover.separated.v1"}
    gone = [key for key, day in left.items() if last[key] <= day]  # nothing of theirs after they left
    strays = (_training(gone[0], date(2022, 6, 1)), _training(gone[1], date(2022, 11, 15)))
    assert all(left[key] < date(2022, 6, 1) for key in gone[:2]), "they should have left before"
    events = (*synthetic, *strays)
    late = tuple(e for e in events if e.event_type in LATE_TYPES and (event_date(e) or date.min) >= date(2022, 10, 1))
    early = tuple(e for e in events if e not in late)
    assert len({e.worker_key for e in late}) >= 5 and strays[1] in late
    published: dict[str, dict[Any, Any]] = {}
    anomalies: dict[str, int] = {}
    for engine in ("reference", "warehouse"):
        with _metrics_database(servers, engine) as (settings, store):
            if engine == "reference":
                _store(store, events)
                rebuilt = app.rebuild(settings, progress=lambda line: None)
                assert rebuilt is not None
                anomalies[engine] = rebuilt.anomalies
            else:
                _store(store, early)
                refresher = app.build_refresher(settings, store)
                first = refresher.refresh(force=True)
                assert first is not None and first.years_written[-2:] == (2021, 2022)
                _store(store, late)
                report = refresher.refresh()
                assert report is not None and report.new_events == len(late)
                assert report.years_written == (2022,)  # the as-of year alone
                assert first.anomalies == anomalies["reference"] - 1  # the late training not stored yet
                anomalies[engine] = report.anomalies
                assert refresher.refresh() is None
            published[engine] = _published(store)
    problems = differences(published["reference"], published["warehouse"], limit=40)
    assert not problems, "\n".join(problems)
    assert anomalies["warehouse"] == anomalies["reference"] >= 2


def _training(worker: str, day: date) -> EventRecord:
    at = datetime.combine(day, time(2), tzinfo=UTC)
    data = {"course_id": "c", "class_id": "k", "kind": "site_visit", "start_date": day.isoformat(),
            "end_date": day.isoformat(), "hours": "8", "passed": True}  # fmt: skip
    return EventRecord(str(uuid.uuid4()), "training.completed.v1", at, at, worker, data)
