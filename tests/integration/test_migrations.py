"""Schema migrations against a real ClickHouse: a fresh database, one created by an earlier release (adopted, then
brought up to date without losing a row), a second run, two replicas at once, and an edited or unknown migration.

The earlier releases' tables are committed as fixtures (fixtures/ddl_<commit>.sql, from `git show
<commit>:services/common/sql/...`): 4b7f23d is the release before migrations, 02f00a0 the one before key_id."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.common import migrations
from services.common.clickhouse import ConnectClickHouse, split_statements
from services.common.migrations import Migration, MigrationError
from services.ingest import app as ingest_app
from services.ingest.settings import IngestSettings
from services.metrics import app as metrics_app
from services.metrics.settings import MetricsSettings

from .servers import Servers

FIXTURES = Path(__file__).parent / "fixtures"
ROWS = 200
EVERY_TABLE = {
    "schema_migrations",
    "events",
    "ingest_rejects",
    "indicators",
    "indicators_staging",
    "org_units",
    "indicator_catalog",
    "reference_wages",
    "refresh_log",
    "audit_proofs",
}
FILL = {
    "events": (
        "INSERT INTO events (event_id, event_type, occurred_at, emitted_at, received_at, source, worker_key, "
        "event_date, data, content_hash) SELECT generateUUIDv4(), 'staffing.hired.v1', "
        "toDateTime64('2024-01-01', 3, 'UTC') + number, now64(3), now64(3), 'hr', hex(sipHash128(number)), "
        "toDate('2024-01-01'), '{\"n\": ' || toString(number) || '}', hex(sipHash128(number, 'h')) "
        f"FROM numbers({ROWS})"
    ),
    "ingest_rejects": (
        "INSERT INTO ingest_rejects (received_at, reason_code, reason, field_path, event_type, event_id, payload, "
        "broker, subject, reject_key) SELECT now64(3), 'schema_invalid', 'bad', '/data', 'x.v1', NULL, '{}', "
        f"'nats', 'hr.events', toString(number) FROM numbers({ROWS})"
    ),
    "indicators": (
        "INSERT INTO indicators (indicator, period_kind, period, dimension, slice, category, value, numerator, "
        "denominator, workers, suppressed, reason, computed_at) SELECT 'hires', 'month', "
        "addMonths(toDate('2020-01-01'), number), 'all', 'all', '', number * 1.5, NULL, NULL, 40, 0, '', now64(3) "
        f"FROM numbers({ROWS})"
    ),
}


@pytest.fixture
def fresh(servers: Servers, database: str) -> Iterator[tuple[ConnectClickHouse, str]]:
    """An empty database of its own, dropped after the test."""
    name = f"{database}_mig_{uuid.uuid4().hex[:6]}"
    store = ConnectClickHouse.connect(servers.clickhouse_url, database=name, user="default", password="")
    yield store, name
    store.command(f"DROP DATABASE IF EXISTS {name}")
    store.close()


def recorded(store: ConnectClickHouse) -> list[tuple[str, int, str, str]]:
    rows = store.query_rows("SELECT service, version, name, how FROM schema_migrations FINAL ORDER BY service, version")
    return [(str(s), int(v), str(n), str(h)) for s, v, n, h in rows]


def tables(store: ConnectClickHouse) -> dict[str, str]:
    rows = store.query_rows("SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase()")
    return {str(name): str(query) for name, query in rows}


def columns(store: ConnectClickHouse, table: str) -> list[str]:
    rows = store.query_rows(
        "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = %(t)s ORDER BY position",
        {"t": table},
    )
    return [str(row[0]) for row in rows]


def fingerprint(store: ConnectClickHouse, table: str, names: list[str]) -> tuple[int, int]:
    """Row count and an order-free checksum of the rows' values in `names`."""
    row = store.query_rows(f"SELECT count(), sum(cityHash64(toString(tuple({', '.join(names)})))) FROM {table}")[0]
    return int(row[0]), int(row[1])


def every_migration() -> list[tuple[str, int, str, str]]:
    return [(s, m.version, m.name, "applied") for s in sorted(migrations.SERVICES) for m in migrations.load(s)]


def test_a_fresh_database_gets_every_migration(fresh: tuple[ConnectClickHouse, str]) -> None:
    store, name = fresh
    ran = migrations.migrate(store, *migrations.SERVICES, database=name)
    assert [(m.service, m.version) for m in ran] == [
        (s, m.version) for s in migrations.SERVICES for m in migrations.load(s)
    ]
    assert recorded(store) == every_migration()
    assert set(tables(store)) == EVERY_TABLE
    assert "key_id" in columns(store, "events")
    assert "reason" in columns(store, "indicators_staging")


def test_running_again_changes_nothing(fresh: tuple[ConnectClickHouse, str]) -> None:
    store, name = fresh
    migrations.migrate(store, *migrations.SERVICES, database=name)
    before, rows = tables(store), store.query_rows("SELECT count() FROM schema_migrations")
    assert migrations.migrate(store, *migrations.SERVICES, database=name) == []
    assert tables(store) == before
    assert store.query_rows("SELECT count() FROM schema_migrations") == rows


def test_two_replicas_starting_at_once_both_succeed(servers: Servers, fresh: tuple[ConnectClickHouse, str]) -> None:
    store, name = fresh
    other = ConnectClickHouse.connect(servers.clickhouse_url, database=name, user="default", password="")
    try:
        with ThreadPoolExecutor(2) as pool:
            done = [pool.submit(migrations.migrate, s, "ingest", database=name) for s in (store, other)]
            [future.result() for future in done]
    finally:
        other.close()
    assert [(s, v) for s, v, _, _ in recorded(store)] == [("ingest", m.version) for m in migrations.load("ingest")]
    assert migrations.migrate(store, "ingest", database=name) == []


@pytest.mark.parametrize("release", ["4b7f23d", "02f00a0"])
def test_a_database_of_an_earlier_release_is_adopted_and_keeps_its_rows(
    servers: Servers, fresh: tuple[ConnectClickHouse, str], release: str
) -> None:
    store, name = fresh
    text = (FIXTURES / f"ddl_{release}.sql").read_text(encoding="utf-8").replace("{database}", name)
    for statement in split_statements(text):
        store.command(statement)
    for fill in FILL.values():
        store.command(fill)
    old_columns = {table: columns(store, table) for table in FILL}
    before = {table: fingerprint(store, table, old_columns[table]) for table in FILL}
    assert all(count == ROWS for count, _ in before.values())

    connect(servers, name)  # each service's own start-up, as after the upgrade

    assert {table: fingerprint(store, table, old_columns[table]) for table in FILL} == before
    assert "key_id" in columns(store, "events")
    assert columns(store, "indicators") == columns(store, "indicators_staging")
    assert recorded(store) == [
        ("ingest", 1, "events", "adopted"),
        ("ingest", 2, "ingest_rejects", "adopted"),
        ("ingest", 3, "events_key_id", "applied"),
        ("ingest", 4, "ingest_rejects_columns", "applied"),
        ("metrics", 1, "indicators", "adopted"),
        ("metrics", 2, "indicators_reason", "applied"),
        ("metrics", 3, "audit_proofs", "applied"),
    ]
    assert store.query_rows("SELECT count() FROM events WHERE key_id = ''") == [(ROWS,)]


def connect(servers: Servers, name: str) -> None:
    ingest = IngestSettings(
        clickhouse_url=servers.clickhouse_url,
        clickhouse_database=name,
        clickhouse_user="default",
        pseudonym_key=SecretStr(uuid.uuid4().hex + uuid.uuid4().hex),
    )
    ingest_app.connect_store(ingest).close()
    metrics = MetricsSettings(
        clickhouse_url=servers.clickhouse_url, clickhouse_database=name, clickhouse_user="default"
    )
    metrics_app.connect_store(metrics).close()


def test_an_edited_migration_is_refused(fresh: tuple[ConnectClickHouse, str]) -> None:
    store, name = fresh
    migrations.migrate(store, "ingest", database=name)
    shipped = migrations.load("ingest")
    first = shipped[0]
    edited = Migration(first.service, first.version, first.name, first.text.replace("source ", "origin "))
    with pytest.raises(MigrationError, match=r"ingest migration 001_events\.sql was edited after it was applied"):
        migrations.migrate(store, "ingest", database=name, sources={"ingest": [edited, *shipped[1:]]})
    commented = Migration(first.service, first.version, first.name, "-- a corrected comment\n" + first.text)
    assert migrations.migrate(store, "ingest", database=name, sources={"ingest": [commented, *shipped[1:]]}) == []


def test_a_database_newer_than_the_code_is_refused(fresh: tuple[ConnectClickHouse, str]) -> None:
    store, name = fresh
    migrations.migrate(store, "metrics", database=name)
    store.command(
        "INSERT INTO schema_migrations (service, version, name, checksum, how, applied_at) "
        "VALUES ('metrics', 99, 'from_the_future', '', 'applied', now64(3))"
    )
    with pytest.raises(MigrationError, match=r"metrics migration 99 \(from_the_future\) is newer than this code"):
        migrations.migrate(store, "metrics", database=name)
