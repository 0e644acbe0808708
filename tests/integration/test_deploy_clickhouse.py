"""deploy/clickhouse against a real ClickHouse: the single-node DDL runs, the cluster DDL parses with the server's
own parser, and the least-privilege users let each service do exactly what its code does, and no more.

The users are checked twice: from users.sql as written (CREATE USER + GRANT) where the server has writable access
storage (a ClickHouse container; skipped on clickhouse-local/chdb, which refuses CREATE USER), and always on a
private chdb server whose users.xml carries the same GRANT statements (XML users with `<grants>`)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest
from pydantic import SecretStr

from deploy.clickhouse import render
from deploy.grafana import generate
from services.common import migrations
from services.common.clickhouse import ConnectClickHouse
from services.common.errors import StoreRejected
from services.ingest import app as ingest_app
from services.ingest.settings import IngestSettings
from services.ingest.writer import EventWriter
from services.metrics import app as metrics_app
from services.metrics.engine import IndicatorRow
from services.metrics.engine.audit import Proofs
from services.metrics.proofs_store import ProofStore
from services.metrics.publish import IndicatorPublisher
from services.metrics.settings import MetricsSettings
from services.stack.ports import free_port

from .servers import Servers

PASSWORDS = {
    "ingest_writer_password": "iw-" + uuid.uuid4().hex,
    "metrics_job_password": "mj-" + uuid.uuid4().hex,
    "dashboard_reader_password": "dr-" + uuid.uuid4().hex,
}
NOW = datetime(2024, 7, 1, tzinfo=UTC)
TABLES = {
    "events",
    "ingest_rejects",
    "indicators",
    "indicators_staging",
    "org_units",
    "indicator_catalog",
    "reference_wages",
    "refresh_log",
    "audit_proofs",
    "schema_migrations",
}


def admin(url: str, database: str) -> ConnectClickHouse:
    return ConnectClickHouse.connect(url, database=database, user="default", password="")


def test_single_node_form_runs(servers: Servers, database: str) -> None:
    name = f"{database}_single"
    store = admin(servers.clickhouse_url, name)
    try:
        for statement in render.render_single(name):
            store.command(statement)
        for statement in render.render_single(name):  # idempotent: IF NOT EXISTS everywhere
            store.command(statement)
        rows = store.query_rows("SELECT name FROM system.tables WHERE database = %(db)s", {"db": name})
        assert {r[0] for r in rows} == TABLES
    finally:
        store.command(f"DROP DATABASE IF EXISTS {name}")
        store.close()


def test_cluster_form_replicates_and_shards_every_table() -> None:
    everything = render.render_cluster("workforce", "workforce_cluster")
    statements = [s for s in everything if not s.startswith("INSERT INTO ")]
    creates = [s for s in statements if not s.startswith("ALTER TABLE ")]
    created = {re.match(r"CREATE TABLE IF NOT EXISTS workforce\.(\w+)", s)[1]: s for s in creates}  # type: ignore[index]
    assert set(created) == TABLES | {"events_local", "ingest_rejects_local"}
    assert all("ON CLUSTER 'workforce_cluster'" in s for s in statements)
    assert not any("non_replicated_deduplication_window" in s for s in statements)
    for table, key in render.SHARD_KEYS.items():
        assert f"/clickhouse/tables/{{shard}}/workforce/{table}_local" in created[f"{table}_local"]
        assert f"Distributed('workforce_cluster', workforce, {table}_local, {key})" in created[table]
    assert "ReplicatedReplacingMergeTree(" in created["events_local"]
    assert (
        "ReplicatedReplacingMergeTree('/clickhouse/tables/all/workforce/org_units', '{replica}', computed_at)"
        in (created["org_units"])
    )
    assert "ReplicatedMergeTree('/clickhouse/tables/all/workforce/indicators_staging'" in created["indicators_staging"]
    paths = re.findall(r"'(/clickhouse/tables/[^']+)'", "\n".join(statements))
    assert len(paths) == len(set(paths)) == len(TABLES)
    # the same versions as a single node records: the services find nothing pending
    assert everything[-1] == migrations.record_statements("workforce")[0]


def test_cluster_form_parses_with_the_real_server(servers: Servers, database: str) -> None:
    store = admin(servers.clickhouse_url, database)
    try:
        for statement in render.render_cluster(database):
            if statement.startswith("INSERT INTO "):
                continue
            formatted = store.query_rows("SELECT formatQuery(%(q)s)", {"q": statement})[0][0]
            assert "ON CLUSTER `{cluster}`" in formatted
    finally:
        store.close()


# --- users -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    url: str
    database: str


def grants_by_user(statements: list[str]) -> dict[str, list[str]]:
    grants: dict[str, list[str]] = {}
    for statement in statements:
        if match := re.match(r"CREATE USER IF NOT EXISTS (\w+)", statement):
            grants[match[1]] = []
        elif match := re.match(r"GRANT (.+) TO (\w+)$", statement, re.DOTALL):
            grants[match[2]].append(f"GRANT {match[1]}")
    return grants


def users_xml(statements: list[str]) -> str:
    """The users of users.sql as XML users (`<grants>` takes the same GRANT statements without `TO`)."""
    users = []
    for user, grants in grants_by_user(statements).items():
        queries = "".join(f"<query>{g}</query>" for g in grants)
        users.append(
            f"<{user}><password>{PASSWORDS[user + '_password']}</password>"
            f"<networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota>"
            f"<grants>{queries}</grants></{user}>"
        )
    return "".join(users)


CHILD = """
import sys
from pathlib import Path
from services.stack import clickhouse_server as server
extra = Path(sys.argv[1]).read_text()
base = server.render_users
server.render_users = lambda: base().replace("</users>", extra + "</users>", 1)
sys.exit(server.main(sys.argv[2:]))
"""


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def xml_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private chdb ClickHouse whose users.xml holds the users of users.sql."""
    folder = tmp_path_factory.mktemp("clickhouse-users")
    (folder / "users.fragment").write_text(users_xml(render.render_users("workforce", PASSWORDS)), encoding="utf-8")
    http, tcp = free_port(), free_port()
    argv = [sys.executable, "-c", CHILD, str(folder / "users.fragment")]
    argv += ["--dir", str(folder / "server"), "--http-port", str(http), "--tcp-port", str(tcp)]
    with (folder / "server.log").open("w") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[2])
    url = f"http://127.0.0.1:{http}"
    try:
        deadline = time.monotonic() + 60
        while not answers(url):
            assert process.poll() is None, (folder / "server.log").read_text()
            assert time.monotonic() < deadline, "private ClickHouse did not answer"
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def prepare(url: str, database: str) -> None:
    store = admin(url, database)
    for statement in render.render_single(database):
        store.command(statement)
    store.close()


@pytest.fixture(params=["users.sql", "users.xml"], scope="module")
def target(request: pytest.FixtureRequest, servers: Servers, database: str) -> Iterator[Target]:
    if request.param == "users.xml":
        url = request.getfixturevalue("xml_server")
        prepare(url, "workforce")
        yield Target(url, "workforce")
        return
    name = f"{database}_users"
    prepare(servers.clickhouse_url, name)
    store = admin(servers.clickhouse_url, name)
    try:
        for statement in render.render_users(name, PASSWORDS):
            store.command(statement)
    except StoreRejected as exc:
        store.command(f"DROP DATABASE IF EXISTS {name}")
        store.close()
        if "ACCESS_STORAGE_FOR_INSERTION_NOT_FOUND" in str(exc):
            pytest.skip("this ClickHouse (clickhouse-local under chdb) has no writable access storage for CREATE USER")
        raise
    yield Target(servers.clickhouse_url, name)
    store.command("DROP USER IF EXISTS ingest_writer, metrics_job, dashboard_reader")
    store.command(f"DROP DATABASE IF EXISTS {name}")
    store.close()


def denied(action: Callable[[], Any]) -> None:
    with pytest.raises(StoreRejected, match=r"ACCESS_DENIED|Not enough privileges"):
        action()


def test_ingest_writer_does_what_ingest_does_and_no_more(target: Target) -> None:
    settings = IngestSettings(
        clickhouse_url=target.url,
        clickhouse_database=target.database,
        clickhouse_user="ingest_writer",
        clickhouse_password=SecretStr(PASSWORDS["ingest_writer_password"]),
        pseudonym_key=SecretStr(uuid.uuid4().hex + uuid.uuid4().hex),
    )
    store = ingest_app.connect_store(settings)  # CREATE DATABASE / TABLE IF NOT EXISTS, as at start
    try:
        event_id = str(uuid.uuid4())
        columns = ("event_id", "event_type", "occurred_at", "emitted_at", "received_at", "source", "worker_key")
        store.insert_rows("events", [(event_id, "staffing.hired.v1", NOW, NOW, NOW, "test", "w1")], columns)
        store.insert_rows(
            "ingest_rejects", [(NOW, "schema_invalid", "k1")], ("received_at", "reason_code", "reject_key")
        )
        assert set(EventWriter(store).known({event_id})) == {event_id}
        assert EventWriter(store).last_stored() is not None
        denied(lambda: store.query_rows("SELECT count() FROM indicators"))
        denied(lambda: store.query_rows("SELECT count() FROM reference_wages"))
        denied(lambda: store.command("INSERT INTO indicators (indicator) VALUES ('x')"))
        denied(lambda: store.command("DROP TABLE events"))
        denied(lambda: store.command("TRUNCATE TABLE events"))
    finally:
        store.close()


def indicator_row(year: int) -> IndicatorRow:
    return IndicatorRow("hires", "month", date(year, 1, 1), "all", "all", "", 3.0, None, None, 40, False)


def test_metrics_job_does_what_metrics_does_and_no_more(target: Target) -> None:
    settings = MetricsSettings(
        clickhouse_url=target.url,
        clickhouse_database=target.database,
        clickhouse_user="metrics_job",
        clickhouse_password=SecretStr(PASSWORDS["metrics_job_password"]),
    )
    store = metrics_app.connect_store(settings)
    try:
        store.query_rows("SELECT event_id, data FROM events WHERE stored_at > toDateTime64(0, 3) LIMIT 1")
        store.query_rows("SELECT region, year FROM reference_wages FINAL")
        store.insert_rows(
            "reference_wages",
            [("all", 2023, 120000.0, "test", NOW)],
            ("region", "year", "annual_amount", "source", "loaded_at"),
        )
        publisher = IndicatorPublisher(store)
        publisher.replace_years({2023: [indicator_row(2023)], 2024: [indicator_row(2024)]}, drop=[], at=NOW)
        publisher.replace_years({2024: [indicator_row(2024)]}, drop=[2023], at=NOW)
        assert publisher.stored_years() == {2024}
        publisher.write_catalog(NOW)
        store.insert_rows(
            "org_units",
            [("D-1", "", "district", "区", "District", "none", "D-1", "", NOW)],
            (*ORG_COLUMNS, "computed_at"),
        )
        store.insert_rows("refresh_log", [(NOW, date(2024, 6, 30), 2024, NOW, 1, 0, 0.1)], REFRESH_COLUMNS)
        proofs = ProofStore(store)  # keeps one row: inserts its own, deletes the others
        for _ in range(2):
            proofs.save(Proofs(), date(2024, 6, 30), NOW)
        assert proofs.load() is not None and store.query_rows("SELECT count() FROM audit_proofs") == [(1,)]
        denied(lambda: store.command("INSERT INTO events (event_type) VALUES ('x')"))
        denied(lambda: store.query_rows("SELECT count() FROM ingest_rejects"))
        denied(lambda: store.command("DROP TABLE indicators"))
        denied(lambda: store.command("TRUNCATE TABLE events"))
    finally:
        store.close()


ORG_COLUMNS = ("unit_id", "parent_id", "level", "name_zh", "name_en", "service_model", "district_id", "street_id")
REFRESH_COLUMNS = ("refreshed_at", "as_of", "from_year", "events_seen_to", "rows_written", "anomalies", "seconds")


def test_dashboard_reader_reads_the_dashboards_tables_only(target: Target) -> None:
    host, port = target.url.removeprefix("http://").split(":")
    client = clickhouse_connect.get_client(
        host=host,
        port=int(port),
        username="dashboard_reader",
        password=PASSWORDS["dashboard_reader_password"],
        database=target.database,
        autogenerate_session_id=False,
    )
    store = ConnectClickHouse(client)
    try:
        for query in generate.variable_queries():
            sql = query.sql
            for name in ("district", "street", "service_model", "source_channel"):
                sql = sql.replace(f"${{{name}}}", generate.ALL)
            store.query_rows(sql)
        store.query_rows("SELECT indicator, name_zh FROM indicator_catalog FINAL")
        denied(lambda: store.query_rows("SELECT count() FROM events"))
        denied(lambda: store.query_rows("SELECT count() FROM reference_wages"))
        denied(lambda: store.query_rows("SELECT count() FROM refresh_log"))
        denied(lambda: store.query_rows("SELECT count() FROM audit_proofs"))  # derived from true figures
        denied(lambda: store.command("INSERT INTO indicators (indicator) VALUES ('x')"))
        denied(lambda: store.command("CREATE TABLE scratch (a UInt8) ENGINE = Memory"))
    finally:
        store.close()


def test_users_sql_refuses_weak_passwords() -> None:
    with pytest.raises(ValueError, match="ingest_writer_password"):
        render.render_users("workforce", {**PASSWORDS, "ingest_writer_password": "short"})
    with pytest.raises(ValueError, match="metrics_job_password"):
        render.render_users("workforce", {**PASSWORDS, "metrics_job_password": "x' OR 1=1 --aaaaaaaaaaaa"})
