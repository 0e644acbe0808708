"""Schema migrations without a server: file names, ordering, checksums, what is pending, adoption, packaging."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from setuptools import find_namespace_packages  # type: ignore[import-untyped]  # no stubs installed; one function used

from services.common import migrations
from services.common.migrations import Migration, MigrationError, Recorded

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, tzinfo=UTC)
IDEMPOTENT = re.compile(r"^(CREATE TABLE IF NOT EXISTS |ALTER TABLE \S+ ADD COLUMN IF NOT EXISTS )")


def migration(version: int, text: str, name: str = "step") -> Migration:
    return Migration("svc", version, name, text)


CREATE_A = "CREATE TABLE IF NOT EXISTS {database}.a (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
CREATE_B = "CREATE TABLE IF NOT EXISTS {database}.b (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
ALTER_A = "ALTER TABLE {database}.a ADD COLUMN IF NOT EXISTS y String;\n"
SOURCE = [migration(1, CREATE_A, "a"), migration(2, CREATE_B, "b"), migration(3, ALTER_A, "a_y")]


def test_file_names_give_version_and_name() -> None:
    assert migrations.parse_file_name("003_events_key_id.sql") == (3, "events_key_id")
    assert migrations.parse_file_name("1000_later.sql") == (1000, "later")
    for bad in ("3_short.sql", "000_zero.sql", "001-dash.sql", "001_Upper.sql", "001_x.txt", "events.sql"):
        with pytest.raises(ValueError, match="not a migration file name"):
            migrations.parse_file_name(bad)


def test_files_load_in_numeric_order_and_one_version_once(tmp_path: Path) -> None:
    for name in ("010_c.sql", "002_b.sql", "1000_d.sql", "001_a.sql"):
        (tmp_path / name).write_text(CREATE_A, encoding="utf-8")
    assert [m.file for m in migrations.load("svc", tmp_path)] == ["001_a.sql", "002_b.sql", "010_c.sql", "1000_d.sql"]
    (tmp_path / "0002_again.sql").write_text(CREATE_B, encoding="utf-8")
    with pytest.raises(ValueError, match="two migrations numbered 2"):
        migrations.load("svc", tmp_path)


def test_the_checksum_covers_statements_not_comments_or_line_endings() -> None:
    base = migrations.checksum(CREATE_A)
    assert migrations.checksum("-- why a exists\n" + CREATE_A) == base
    assert migrations.checksum(CREATE_A.replace("\n", "\r\n")) == base
    assert migrations.checksum(CREATE_A.rstrip("\n")) == base
    assert migrations.checksum(CREATE_A.replace("UInt8", "UInt16")) != base
    assert re.fullmatch(r"[0-9a-f]{64}", base)


def test_pending_is_what_is_not_recorded_in_order() -> None:
    assert migrations.pending(SOURCE, []) == SOURCE
    recorded = [Recorded(1, "a", SOURCE[0].checksum)]
    assert migrations.pending(SOURCE, recorded) == SOURCE[1:]
    every = [Recorded(m.version, m.name, m.checksum) for m in SOURCE]
    assert migrations.pending(SOURCE, every) == []


def test_an_edited_migration_is_refused() -> None:
    recorded = [Recorded(1, "a", migrations.checksum(CREATE_A.replace("UInt8", "UInt16")))]
    with pytest.raises(MigrationError, match=r"svc migration 001_a\.sql was edited after it was applied"):
        migrations.pending(SOURCE, recorded)


def test_a_database_newer_than_the_code_is_refused() -> None:
    with pytest.raises(MigrationError, match=r"migration 4 \(later\) is newer than this code.*up to version 3"):
        migrations.pending(SOURCE, [Recorded(4, "later", "0" * 64)])
    with pytest.raises(MigrationError, match="recorded but has no file"):
        migrations.pending([SOURCE[0], SOURCE[2]], [Recorded(2, "b", SOURCE[1].checksum)])


def test_adoption_takes_the_leading_migrations_whose_tables_exist() -> None:
    assert migrations.adoptable(SOURCE, {"a", "b"}) == SOURCE[:2]
    assert migrations.adoptable(SOURCE, {"a"}) == SOURCE[:1]
    assert migrations.adoptable(SOURCE, {"b"}) == []
    assert migrations.adoptable(SOURCE[2:], {"a", "b"}) == []  # an ALTER creates nothing: always run


class FakeStore:
    """Just what `migrate` asks of a store: the version table and the tables' names and engines."""

    def __init__(self, tables: Mapping[str, str] | None = None, cluster_shards: int = 0) -> None:
        self.tables = dict(tables or {})
        self.rows: list[tuple[Any, ...]] = []
        self.commands: list[str] = []
        self.cluster_shards = cluster_shards

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        self.commands.append(sql)
        if created := re.match(r"CREATE TABLE IF NOT EXISTS \w+\.(\w+)", sql):
            self.tables.setdefault(created[1], "MergeTree")

    def stream_rows(
        self, sql: str, parameters: Mapping[str, Any] | None = None, *, settings: Mapping[str, Any] | None = None
    ) -> Iterator[Sequence[Sequence[Any]]]:
        yield self.query_rows(sql, parameters)

    def query_rows(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        if "system.tables" in sql:
            return list(self.tables.items())
        if "system.clusters" in sql:
            return [(self.cluster_shards,)]
        service = (parameters or {})["service"]
        return sorted({r[1]: (r[1], r[2], r[3]) for r in self.rows if r[0] == service}.values())

    def insert_rows(
        self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str], *, dedup_token: str | None = None
    ) -> None:
        assert table == "schema_migrations" and tuple(columns) == migrations.VERSION_COLUMNS
        self.rows.extend(tuple(row) for row in rows)

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        pass


def run(store: FakeStore) -> list[Migration]:
    return migrations.migrate(store, "svc", database="db", clock=lambda: NOW, sources={"svc": SOURCE})


def test_a_fresh_database_gets_every_migration_once() -> None:
    store = FakeStore()
    assert run(store) == SOURCE
    assert [(r[1], r[4]) for r in store.rows] == [(1, "applied"), (2, "applied"), (3, "applied")]
    assert store.commands[0].startswith("CREATE TABLE IF NOT EXISTS db.schema_migrations")
    assert "ALTER TABLE db.a ADD COLUMN IF NOT EXISTS y String" in store.commands
    assert run(store) == []
    assert len(store.rows) == 3


def test_a_database_of_the_previous_release_is_adopted_then_brought_up() -> None:
    store = FakeStore({"a": "MergeTree", "b": "ReplacingMergeTree"})
    assert run(store) == SOURCE[2:]
    assert [(r[1], r[4]) for r in store.rows] == [(1, "adopted"), (2, "adopted"), (3, "applied")]
    assert not any(c.startswith("CREATE TABLE IF NOT EXISTS db.a") for c in store.commands)


def test_pending_migrations_on_a_cluster_are_left_to_the_operator() -> None:
    store = FakeStore({"a": "Distributed", "a_local": "ReplicatedMergeTree"})
    with pytest.raises(MigrationError, match=r"pending on a cluster.*render cluster"):
        run(store)
    assert store.rows == []


SHARDED = [
    migration(1, "CREATE TABLE IF NOT EXISTS {database}.events (worker_key String)\nENGINE = MergeTree ORDER BY x;\n"),
    migration(2, "ALTER TABLE {database}.events ADD COLUMN IF NOT EXISTS y String;\n"),
    migration(3, CREATE_A, "a"),
]


def run_on_cluster(home: FakeStore, shards: list[FakeStore]) -> list[Migration]:
    cluster = migrations.Cluster("wf", shards)
    return migrations.migrate(home, "svc", database="db", clock=lambda: NOW, sources={"svc": SHARDED}, cluster=cluster)


def test_on_a_cluster_each_shard_gets_the_local_tables_and_the_services_server_the_rest() -> None:
    home, shards = FakeStore(cluster_shards=2), [FakeStore(), FakeStore()]
    assert run_on_cluster(home, shards) == SHARDED
    for shard in shards:
        assert [c.split("(")[0].strip() for c in shard.commands] == [
            "CREATE TABLE IF NOT EXISTS db.events_local",
            "CREATE TABLE IF NOT EXISTS db.events",
            "ALTER TABLE db.events_local ADD COLUMN IF NOT EXISTS y String",
            "ALTER TABLE db.events ADD COLUMN IF NOT EXISTS y String",
        ]
        assert shard.rows == []
    assert "ENGINE = Distributed('wf', db, events_local, cityHash64(worker_key))" in shards[0].commands[1]
    assert [c.split("(")[0].strip() for c in home.commands[1:]] == [
        "CREATE TABLE IF NOT EXISTS db.events",
        "ALTER TABLE db.events ADD COLUMN IF NOT EXISTS y String",
        "CREATE TABLE IF NOT EXISTS db.a",
    ]
    assert [(r[1], r[3], r[4]) for r in home.rows] == [(m.version, m.checksum, "applied") for m in SHARDED]
    assert run_on_cluster(home, shards) == []


def test_a_cluster_whose_shards_are_not_all_named_is_refused() -> None:
    home, shards = FakeStore(cluster_shards=3), [FakeStore(), FakeStore()]
    with pytest.raises(MigrationError, match=r"'wf' has 3 shards .* 2 shard endpoints"):
        run_on_cluster(home, shards)
    assert home.rows == [] and not any(shard.commands for shard in shards)


def test_on_a_cluster_without_shard_endpoints_the_operator_applies_the_migrations() -> None:
    with pytest.raises(MigrationError, match=r"pending on a cluster; apply them .*render cluster"):
        run_on_cluster(FakeStore(cluster_shards=2), [])
    home = FakeStore(cluster_shards=2)
    home.rows = [("svc", m.version, m.name, m.checksum, "applied", NOW) for m in SHARDED]
    assert run_on_cluster(home, []) == []


@pytest.mark.parametrize("service", migrations.SERVICES)
def test_the_shipped_migrations_load_and_every_statement_is_idempotent(service: str) -> None:
    loaded = migrations.load(service)
    assert [m.version for m in loaded] == list(range(1, len(loaded) + 1))
    for m in loaded:
        for statement in m.statements("workforce"):
            assert IDEMPOTENT.match(statement), f"{m.file}: {statement[:60]}"


def test_the_first_migrations_are_the_previous_release_tables() -> None:
    """A database of the release before migrations is recognised: its tables are the first migrations'."""
    ingest, metrics = migrations.load("ingest"), migrations.load("metrics")
    assert ingest[0].creates() | ingest[1].creates() == {"events", "ingest_rejects"}
    assert metrics[0].creates() == {
        "indicators",
        "indicators_staging",
        "org_units",
        "indicator_catalog",
        "reference_wages",
        "refresh_log",
    }


def test_the_migration_folders_are_packaged() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    packages = find_namespace_packages(str(ROOT), include=pyproject["packages"]["find"]["include"])
    for service in migrations.SERVICES:
        assert f"services.{service}.sql" in packages
    assert "*.sql" in pyproject["package-data"]["*"]
    assert not (ROOT / "services" / "common" / "sql").exists() or not any((ROOT / "services/common/sql").iterdir())
