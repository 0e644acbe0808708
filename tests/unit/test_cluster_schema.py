"""The cluster form of the schema (issue 13) without a server: every table of the migrations has one, in the
services' form (services/common/cluster.py) and in the deploy DDL (deploy/clickhouse/render.py); the sharded tables
are split by worker; one server is unchanged; the cluster settings are checked."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr, ValidationError

from deploy.clickhouse import render
from services.common import migrations
from services.common.cluster import SHARD_KEYS, Place, local_table, place
from services.common.settings import ServiceSettings

DB = "workforce"
CREATED = re.compile(r"^CREATE TABLE IF NOT EXISTS workforce\.(\w+)")
ALTERED = re.compile(r"^ALTER TABLE workforce\.(\w+)")


def every_statement() -> list[str]:
    return [s for service in migrations.SERVICES for m in migrations.load(service) for s in m.statements(DB)]


def migration_tables() -> set[str]:
    """Every table the migrations create, and the version table: read from the files, not listed here."""
    created = {t for service in migrations.SERVICES for m in migrations.load(service) for t in m.creates()}
    return created | {migrations.VERSION_TABLE}


def cluster_tables() -> set[str]:
    return {local_table(t) for t in migration_tables() if t in SHARD_KEYS} | migration_tables()


def columns_of(statement: str) -> str:
    return statement[statement.index("(") : statement.index("\nENGINE")]


def test_the_cluster_ddl_covers_every_table_of_the_migrations() -> None:
    statements = [s for s in render.render_cluster(DB, "wf") if not s.startswith("INSERT INTO ")]
    created = [m[1] for s in statements if (m := CREATED.match(s))]
    assert sorted(created) == sorted(cluster_tables()), "each table once, every table of the migrations"
    altered = {m[1] for s in statements if (m := ALTERED.match(s))}
    assert altered <= set(created)
    singles = {m[1] for s in every_statement() if (m := ALTERED.match(s))}
    assert altered == singles | {local_table(t) for t in singles if t in SHARD_KEYS}, "an ALTER reaches both tables"


def test_the_services_cluster_form_covers_every_table_of_the_migrations() -> None:
    placed = [p for s in every_statement() for p in place(s, "wf")]
    created = {p.table for p in placed if p.head.startswith("CREATE ")}
    assert created | {migrations.VERSION_TABLE} == cluster_tables()
    where = {p.table: p.place for p in placed if p.head.startswith("CREATE ")}
    assert {t for t, p in where.items() if p is Place.SHARDS} == {local_table(t) for t in SHARD_KEYS}
    assert {t for t, p in where.items() if p is Place.EVERYWHERE} == set(SHARD_KEYS)


def test_events_shard_by_worker_and_every_key_is_a_column_of_its_table() -> None:
    assert SHARD_KEYS["events"] == "cityHash64(worker_key)"
    creates = {m[1]: s for s in every_statement() if (m := CREATED.match(s))}
    for table, key in SHARD_KEYS.items():
        column = re.fullmatch(r"cityHash64\((\w+)\)", key)
        assert column is not None and re.search(rf"^\s+{column[1]}\s", creates[table], re.MULTILINE), table


def test_a_sharded_table_is_local_on_the_shards_behind_a_distributed_table_of_the_same_columns() -> None:
    statement = next(s for s in every_statement() if s.startswith("CREATE TABLE IF NOT EXISTS workforce.events\n"))
    local, distributed = place(statement, "wf")
    assert (local.place, local.table) == (Place.SHARDS, "events_local")
    assert local.sql == statement.replace("workforce.events\n", "workforce.events_local\n", 1)
    assert "non_replicated_deduplication_window" in local.sql  # no replication here: the shard deduplicates alone
    assert (distributed.place, distributed.table) == (Place.EVERYWHERE, "events")
    assert columns_of(distributed.sql) == columns_of(statement)
    assert distributed.sql.endswith("\nENGINE = Distributed('wf', workforce, events_local, cityHash64(worker_key))")
    assert distributed.on_cluster("wf").startswith("CREATE TABLE IF NOT EXISTS workforce.events ON CLUSTER 'wf'\n(")


def test_small_tables_and_their_alters_stay_as_written_on_the_services_server() -> None:
    for statement in every_statement():
        name = (CREATED.match(statement) or ALTERED.match(statement) or [None, None])[1]
        if name in SHARD_KEYS:
            continue
        assert [(p.place, p.sql) for p in place(statement, "wf")] == [(Place.HOME, statement)]


def test_an_alter_of_a_sharded_table_reaches_the_local_and_the_distributed_table() -> None:
    statement = "ALTER TABLE workforce.events ADD COLUMN IF NOT EXISTS key_id LowCardinality(String)"
    assert [(p.place, p.sql) for p in place(statement, "wf")] == [
        (Place.SHARDS, statement.replace("events", "events_local")),
        (Place.EVERYWHERE, statement),
    ]


def test_what_the_cluster_form_cannot_place_is_refused() -> None:
    with pytest.raises(ValueError, match="must state its columns"):
        place("CREATE TABLE IF NOT EXISTS workforce.events AS workforce.other", "wf")
    with pytest.raises(ValueError, match="not a CREATE TABLE IF NOT EXISTS or ALTER TABLE"):
        place("DROP TABLE workforce.events", "wf")


def test_one_server_is_the_default_and_shards_need_a_cluster() -> None:
    plain = ServiceSettings()
    assert (plain.clickhouse_cluster, plain.shard_urls) == ("", ())
    settings = ServiceSettings(
        clickhouse_cluster="workforce", clickhouse_shard_urls=" http://127.0.0.1:1, http://localhost:2 ,"
    )
    assert settings.shard_urls == ("http://127.0.0.1:1", "http://localhost:2")
    with pytest.raises(ValidationError, match="set CLICKHOUSE_CLUSTER too"):
        ServiceSettings(clickhouse_shard_urls="http://127.0.0.1:1")
    with pytest.raises(ValidationError, match="plain identifier"):
        ServiceSettings(clickhouse_cluster="wf'; DROP")
    with pytest.raises(ValidationError, match="not an http"):
        ServiceSettings(clickhouse_cluster="wf", clickhouse_shard_urls="127.0.0.1:1")


def test_an_empty_password_is_refused_for_a_shard_off_loopback() -> None:
    with pytest.raises(ValidationError, match=r"CLICKHOUSE_PASSWORD is empty.*'ch-2'"):
        ServiceSettings(clickhouse_cluster="wf", clickhouse_shard_urls="http://127.0.0.1:1,http://ch-2:8123")
    remote = ServiceSettings(
        clickhouse_url="http://ch-1:8123",
        clickhouse_password=SecretStr("p" * 20),
        clickhouse_cluster="wf",
        clickhouse_shard_urls="http://ch-1:8123,http://ch-2:8123",
    )
    assert len(remote.shard_urls) == 2
