"""Ingest and metrics on a two-shard cluster (issue 13): the project's own stack started with two chdb-core
ClickHouse servers forming the cluster `workforce`, the services pointed at it by the settings `workforce-stack up
--shards 2` prints. The simulator's log goes through NATS and ingest into `events`, sharded by worker over both
servers, each event stored once; metrics publishes from it the same cells as the same run on one server."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

from services.common.clickhouse import ConnectClickHouse
from services.ingest import app as ingest_app
from services.ingest.retention import ensure_reject_retention, ttl_days
from services.ingest.rows import EVENT_COLUMNS, EventRow, dedup_token
from services.ingest.writer import EventWriter
from services.metrics import app as metrics_app
from services.metrics.publish import COLUMNS
from services.metrics.settings import MetricsSettings
from services.sim import SimConfig, generate
from services.stack.api import StackUrls, down, ensure_up
from services.stack.ports import free_port_block
from services.stack.settings import StackSettings
from tests.oracle.compare import cells, differences

from .harness import count, ingest_settings, publish_nats, running, utc_now_fixed, wait_for
from .servers import Servers

AS_OF = date(2024, 6, 30)
NOW = utc_now_fixed(AS_OF)
SHARDS = 2


@dataclass(frozen=True)
class Run:
    """Where one run of ingest and metrics stored its data."""

    env: dict[str, Any]
    database: str
    cells: dict[Any, Any]


@pytest.fixture(scope="module")
def cluster(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUrls]:
    """A stack of two ClickHouse shards on ports of its own, using the session's NATS; stopped at the end."""
    http = free_port_block(SHARDS)
    tcp = free_port_block(SHARDS, avoid=frozenset(range(http, http + SHARDS)))
    settings = StackSettings(
        dir=tmp_path_factory.mktemp("cluster-stack"),
        clickhouse_http_port=http,
        clickhouse_tcp_port=tcp,
        nats_url=servers.nats_url,
        shards=SHARDS,
    )
    urls = ensure_up(settings)
    try:
        yield urls
    finally:
        down(settings)


@pytest.fixture(scope="module")
def bodies() -> list[bytes]:
    config = SimConfig(workers=50, start_year=2022, end=AS_OF, seed=13, scenario=False)
    return [json.dumps(event, ensure_ascii=False).encode() for event in generate(config)]


@contextmanager
def opened(url: str, database: str) -> Iterator[ConnectClickHouse]:
    store = ConnectClickHouse.connect(url, database=database, user="default", password="")
    try:
        yield store
    finally:
        store.close()


def env_of(urls: StackUrls) -> dict[str, Any]:
    """The settings `workforce-stack up` prints, as settings fields."""
    return {name.lower(): value for name, value in urls.env().items() if name.startswith("CLICKHOUSE_")}


async def ingest_and_publish(env: dict[str, Any], nats_url: str, bodies: list[bytes]) -> Run:
    """The log through NATS and ingest (a tenth of it delivered twice), then one metrics refresh, as the services
    run them with these ClickHouse settings; returns the published cells."""
    database = f"cluster_{uuid.uuid4().hex[:10]}"
    settings = ingest_settings(env["clickhouse_url"], database, nats_url, **env)
    store = ingest_app.connect_store(settings)
    try:
        async with running(settings, store, clock=lambda: NOW):
            subject = settings.ingest_subject.replace(">", "events")
            await publish_nats(nats_url, subject, [*bodies, *bodies[::10]])
            await wait_for(
                lambda: count(store, "SELECT uniqExact(event_id) FROM events") == len(bodies),
                timeout=90,
                what="the whole log stored",
            )
    finally:
        store.close()
    metrics = MetricsSettings(**env, clickhouse_database=database, metrics_k=3, metrics_as_of=AS_OF)
    store = metrics_app.connect_store(metrics)
    try:
        report = metrics_app.build_refresher(metrics, store).refresh(force=True)
        assert report is not None and report.rows_written > 0
        rows = store.query_rows(f"SELECT {', '.join(COLUMNS[:-1])} FROM indicators")
    finally:
        store.close()
    return Run(env, database, cells(SimpleNamespace(**dict(zip(COLUMNS, row, strict=False))) for row in rows))


@pytest.fixture(scope="module")
async def runs(servers: Servers, cluster: StackUrls, bodies: list[bytes]) -> AsyncIterator[tuple[Run, Run]]:
    """The same log and settings on one server (the session's) and on the two-shard cluster."""
    one = await ingest_and_publish({"clickhouse_url": servers.clickhouse_url}, servers.nats_url, bodies)
    two = await ingest_and_publish(env_of(cluster), servers.nats_url, bodies)
    yield one, two
    with opened(servers.clickhouse_url, one.database) as store:
        store.command(f"DROP DATABASE IF EXISTS {one.database}")


def tables(store: ConnectClickHouse) -> dict[str, str]:
    return {
        str(name): str(engine)
        for name, engine in store.query_rows(
            "SELECT name, engine FROM system.tables WHERE database = currentDatabase()"
        )
    }


def test_the_stack_prints_the_cluster_for_the_services(cluster: StackUrls) -> None:
    env = cluster.env()
    assert env["CLICKHOUSE_CLUSTER"] == "workforce"
    assert env["CLICKHOUSE_SHARD_URLS"].split(",") == list(cluster.clickhouse_shard_urls)
    assert cluster.clickhouse_shard_urls[0] == env["CLICKHOUSE_URL"] and len(set(cluster.clickhouse_shard_urls)) == 2
    for url in cluster.clickhouse_shard_urls:  # a Distributed table works from any shard: each knows the cluster
        with opened(url, "default") as store:
            rows = store.query_rows(
                "SELECT shard_num, is_local FROM system.clusters WHERE cluster = 'workforce' ORDER BY shard_num"
            )
        assert [shard for shard, _ in rows] == [1, 2] and sum(local for _, local in rows) == 1


def test_the_schema_has_its_cluster_form(cluster: StackUrls, runs: tuple[Run, Run]) -> None:
    with opened(cluster.clickhouse_url, runs[1].database) as home:
        engines = tables(home)
    assert engines["events"] == engines["ingest_rejects"] == "Distributed"
    assert engines["indicators"] == engines["indicators_staging"] == "MergeTree"
    for url in cluster.clickhouse_shard_urls:
        with opened(url, runs[1].database) as shard:
            local = tables(shard)
        assert local["events_local"] == local["ingest_rejects_local"] == "ReplacingMergeTree"
        assert local["events"] == "Distributed"


def test_events_are_spread_over_both_shards_by_worker_each_stored_once(
    cluster: StackUrls, runs: tuple[Run, Run], bodies: list[bytes]
) -> None:
    database = runs[1].database
    per_shard = []
    for url in cluster.clickhouse_shard_urls:
        with opened(url, database) as shard:
            per_shard.append(count(shard, "SELECT count() FROM events_local"))
    assert sum(per_shard) == len(bodies), "no event stored twice (a tenth was delivered twice), none lost"
    assert min(per_shard) > len(bodies) // 5, f"rows spread over both shards: {per_shard}"
    with opened(cluster.clickhouse_url, database) as home:
        assert count(home, "SELECT count() FROM events") == count(home, "SELECT uniqExact(event_id) FROM events")
        by_worker = "SELECT uniqExact(_shard_num) AS shards FROM events GROUP BY worker_key"
        assert count(home, f"SELECT countIf(shards > 1) FROM ({by_worker})") == 0, "each worker's events on one shard"


def test_the_published_cells_equal_those_of_one_server(runs: tuple[Run, Run]) -> None:
    one, two = runs
    assert len(one.cells) > 1000
    suppressed = [cell[4] for cell in one.cells.values()]
    assert any(suppressed) and not all(suppressed)
    problems = differences(one.cells, two.cells)
    assert not problems, "\n".join(problems)


def test_a_retried_insert_is_stored_once_on_every_shard_and_readable_at_once(
    servers: Servers, cluster: StackUrls, runs: tuple[Run, Run]
) -> None:
    """Through the Distributed table: the insert returns when every shard holds its part, a retry with the same
    deduplication token adds nothing, and a copy under another token meets its first copy on one shard."""
    database = runs[1].database
    store = ingest_app.connect_store(
        ingest_settings(cluster.clickhouse_url, database, servers.nats_url, **env_of(cluster))
    )
    try:
        with opened(cluster.clickhouse_url, database) as home:
            sample = home.query_rows(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events LIMIT 1 BY worker_key")
            rows = [EventRow(str(uuid.uuid4()), *row[1:]) for row in sample]
            before = count(home, "SELECT count() FROM events")
            EventWriter(store).write_events(rows)
            assert count(home, "SELECT count() FROM events") == before + len(rows)  # no wait: on every shard already
            EventWriter(store).write_events(rows)  # the same batch again: ingest's retry after a lost answer
            assert count(home, "SELECT count() FROM events") == before + len(rows)
            token = "another-" + dedup_token([row.event_id for row in rows])
            store.insert_rows("events", rows, EVENT_COLUMNS, dedup_token=token)  # a second replica's copy
            assert count(home, "SELECT count() FROM events") == before + 2 * len(rows)
            assert count(home, "SELECT count() FROM events FINAL") == before + len(rows)  # collapsed on their shard
    finally:
        store.close()


def test_ingest_sets_the_reject_retention_on_every_shards_local_table(
    servers: Servers, cluster: StackUrls, runs: tuple[Run, Run]
) -> None:
    """INGEST_REJECT_TTL_DAYS reaches the rows on a cluster: each shard's `ingest_rejects_local` (the Distributed
    `ingest_rejects` holds none); a second start changes nothing."""
    settings = ingest_settings(
        cluster.clickhouse_url, runs[1].database, servers.nats_url, **env_of(cluster), ingest_reject_ttl_days=30
    )
    ingest_app.connect_store(settings).close()
    for url in cluster.clickhouse_shard_urls:
        with opened(url, runs[1].database) as shard:
            (definition,) = shard.query_rows(
                "SELECT create_table_query FROM system.tables WHERE database = currentDatabase()"
                " AND name = 'ingest_rejects_local'"
            )[0]
            assert ttl_days(str(definition)) == 30, url
            assert ensure_reject_retention(shard, 30, [shard]) == []
