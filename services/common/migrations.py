"""Schema migrations: each service's numbered DDL files, applied in order and recorded in `schema_migrations`.

A service owns the tables of its `sql/` folder (services/ingest/sql, services/metrics/sql). Each file is one
migration named `NNN_what.sql`; its version is NNN. Every statement is idempotent (`CREATE TABLE IF NOT EXISTS`,
`ADD COLUMN IF NOT EXISTS`), so two replicas that start at once may both run a migration and both record it: the
version table (ReplacingMergeTree by service and version) keeps one row. At start `migrate`

- creates the version table if missing and reads what is recorded for the service;
- refuses (`MigrationError`) when a recorded migration's checksum differs from its file (edited after it was
  applied), when a recorded one has no file, or when the database is newer than the code;
- adopts a database created before the version table: the leading migrations whose tables all exist are recorded
  as `adopted` without being run;
- runs the pending ones in order, recording each after its last statement.

The checksum covers the statements, not the `--` comments: a comment may be corrected, a statement may not.

On a cluster (CLICKHOUSE_CLUSTER) every statement takes its cluster form (services/common/cluster.py): the sharded
tables as `<t>_local` on every shard behind a Distributed `<t>`, the small tables on the services' server, which
also keeps the version table. Given every shard's endpoint (CLICKHOUSE_SHARD_URLS: the local stack, whose servers
cannot run `ON CLUSTER`), `migrate` runs those statements shard by shard and records the same versions and
checksums as one server. Without them the operator applies the migrations with `ON CLUSTER` and replication
(deploy/clickhouse/render.py, `cluster`), and a service that finds a migration pending there refuses rather than
alter a Distributed table alone.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, NamedTuple

from .clickhouse import ClickHouse, ConnectClickHouse, identifier, split_statements
from .cluster import INSERT_SETTINGS, Place, place
from .settings import ServiceSettings

log = logging.getLogger("workforce.migrations")

SERVICES: Final = ("ingest", "metrics")
"""The services owning tables, in the order a whole database is created (metrics reads what ingest writes)."""
VERSION_TABLE: Final = "schema_migrations"
VERSION_DDL: Final = """CREATE TABLE IF NOT EXISTS {database}.schema_migrations
(
    service     LowCardinality(String),
    version     UInt32,
    name        String,
    checksum    String,
    how         LowCardinality(String),
    applied_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY (service, version)"""
VERSION_COLUMNS: Final = ("service", "version", "name", "checksum", "how", "applied_at")
_FILE: Final = re.compile(r"^(?P<version>\d{3,})_(?P<name>[a-z0-9_]+)\.sql$")
_CREATES: Final = re.compile(r"^CREATE TABLE IF NOT EXISTS \{database\}\.(\w+)", re.MULTILINE)
_RECORDED: Final = (
    "SELECT version, name, checksum FROM schema_migrations FINAL WHERE service = %(service)s ORDER BY version"
)
_TABLES: Final = "SELECT name, engine FROM system.tables WHERE database = currentDatabase()"
_CLUSTER_ENGINES: Final = re.compile(r"^(Distributed|Replicated)")
_SHARDS: Final = "SELECT count() FROM system.clusters WHERE cluster = %(cluster)s AND replica_num = 1"


class MigrationError(Exception):
    """The database's recorded schema does not fit the code's migrations; no retry will help."""


@dataclass(frozen=True)
class Migration:
    """One migration file: `text` as written, `{database}` where the database name goes."""

    service: str
    version: int
    name: str
    text: str

    @property
    def file(self) -> str:
        return f"{self.version:03d}_{self.name}.sql"

    @property
    def checksum(self) -> str:
        return checksum(self.text)

    def statements(self, database: str) -> list[str]:
        text = self.text.replace("{database}", identifier(database))
        return [s.rstrip(";").rstrip() for s in split_statements(text)]

    def creates(self) -> set[str]:
        """The tables this migration creates (its `CREATE TABLE IF NOT EXISTS {database}.name` statements)."""
        return set(_CREATES.findall("\n".join(split_statements(self.text))))


@dataclass(frozen=True)
class Cluster:
    """The cluster the sharded tables are spread over, and a store on each of its shards' servers (none: the
    operator applies the cluster DDL, and `migrate` only checks that nothing is pending)."""

    name: str
    shards: Sequence[ClickHouse] = ()


class Recorded(NamedTuple):
    version: int
    name: str
    checksum: str


def checksum(text: str) -> str:
    """sha256 of the file's statements, comments and line endings left out."""
    statements = [s.rstrip(";").strip() for s in split_statements(text.replace("\r\n", "\n"))]
    return hashlib.sha256("\n;\n".join(statements).encode("utf-8")).hexdigest()


def parse_file_name(file_name: str) -> tuple[int, str]:
    """`003_events_key_id.sql` → (3, "events_key_id"); anything else is refused."""
    match = _FILE.match(file_name)
    if match is None or int(match["version"]) == 0:
        raise ValueError(f"not a migration file name (NNN_lower_case_name.sql, NNN from 001): {file_name!r}")
    return int(match["version"]), match["name"]


def folder(service: str) -> Path:
    """Where `service` keeps its migrations: services/<service>/sql."""
    return Path(__file__).parents[1] / identifier(service) / "sql"


def load(service: str, directory: Path | None = None) -> list[Migration]:
    """The service's migrations in version order; two files of one version are refused."""
    found: dict[int, Migration] = {}
    for path in sorted((directory or folder(service)).glob("*.sql")):
        version, name = parse_file_name(path.name)
        if version in found:
            raise ValueError(f"{service}: two migrations numbered {version}: {found[version].file}, {path.name}")
        found[version] = Migration(service, version, name, path.read_text(encoding="utf-8"))
    return [found[version] for version in sorted(found)]


def pending(migrations: Sequence[Migration], recorded: Iterable[Recorded]) -> list[Migration]:
    """The migrations not recorded yet, in order. Raises MigrationError when the record and the files disagree."""
    by_version = {m.version: m for m in migrations}
    newest = max(by_version, default=0)
    done: set[int] = set()
    for row in recorded:
        migration = by_version.get(row.version)
        if migration is None:
            where = "newer than this code" if row.version > newest else "recorded but has no file"
            raise MigrationError(
                f"{_service(migrations)} migration {row.version} ({row.name}) is {where}: the code knows up to "
                f"version {newest}; run the release that applied it (or newer), never an older one"
            )
        if row.checksum != migration.checksum:
            raise MigrationError(
                f"{migration.service} migration {migration.file} was edited after it was applied (checksum "
                f"recorded {row.checksum[:12]}, file {migration.checksum[:12]}): restore the file and put the "
                "change in a new migration"
            )
        done.add(row.version)
    return [m for m in migrations if m.version not in done]


def adoptable(todo: Sequence[Migration], existing: set[str]) -> list[Migration]:
    """The leading migrations whose tables all exist already: a database created before the version table."""
    adopted: list[Migration] = []
    for migration in todo:
        created = migration.creates()
        if not created or not created <= existing:
            break
        adopted.append(migration)
    return adopted


def _service(migrations: Sequence[Migration]) -> str:
    return migrations[0].service if migrations else "?"


def utc_now() -> datetime:
    return datetime.now(UTC)


def migrate(
    store: ClickHouse,
    *services: str,
    database: str,
    clock: Callable[[], datetime] = utc_now,
    sources: Mapping[str, Sequence[Migration]] | None = None,
    cluster: Cluster | None = None,
) -> list[Migration]:
    """Bring each of `services` (in the order given) to its newest migration; returns the migrations run.
    `sources` replaces the files of a service (tests); `cluster`: the tables' cluster form (None: one server)."""
    store.command(VERSION_DDL.replace("{database}", identifier(database)))
    ran: list[Migration] = []
    for service in services:
        migrations = list(sources[service]) if sources and service in sources else load(service)
        ran.extend(_migrate_one(store, service, migrations, database, clock, cluster))
    return ran


def _migrate_one(
    store: ClickHouse,
    service: str,
    migrations: Sequence[Migration],
    database: str,
    clock: Callable[[], datetime],
    cluster: Cluster | None,
) -> list[Migration]:
    recorded = [Recorded(int(v), str(n), str(c)) for v, n, c in store.query_rows(_RECORDED, {"service": service})]
    todo = pending(migrations, recorded)
    if not todo:
        return []
    tables = {str(name): str(engine) for name, engine in store.query_rows(_TABLES)}
    clustered = sorted(name for name, engine in tables.items() if _CLUSTER_ENGINES.match(engine))
    if (cluster is None and clustered) or (cluster is not None and not cluster.shards):
        raise MigrationError(
            f"{service} migrations {', '.join(m.file for m in todo)} are pending on a cluster"
            + (f" (replicated or distributed tables: {', '.join(clustered[:3])})" if clustered else "")
            + "; apply them as an administrator with `python -m deploy.clickhouse.render cluster`"
        )
    if cluster is not None:
        _check_shards(store, cluster)
    if not recorded:
        adopted = adoptable(todo, set(tables))
        for migration in adopted:
            _record(store, migration, "adopted", clock)
            log.info("%s: adopted %s (its tables exist)", service, migration.file)
        todo = todo[len(adopted) :]
    for migration in todo:
        for statement in migration.statements(database):
            run_statement(store, statement, cluster)
        _record(store, migration, "applied", clock)
        log.info("%s: applied %s", service, migration.file)
    return list(todo)


def _check_shards(store: ClickHouse, cluster: Cluster) -> None:
    found = int(store.query_rows(_SHARDS, {"cluster": cluster.name})[0][0])
    if found != len(cluster.shards):
        raise MigrationError(
            f"cluster {cluster.name!r} has {found} shards on the services' server (remote_servers), but "
            f"{len(cluster.shards)} shard endpoints are given (CLICKHOUSE_SHARD_URLS): name every shard once"
        )


def run_statement(store: ClickHouse, statement: str, cluster: Cluster | None) -> None:
    """One `CREATE TABLE IF NOT EXISTS db.t` or `ALTER TABLE db.t` statement: as written on one server, in its
    cluster form on a cluster (the migrations' statements, and the metrics service's fact tables)."""
    if cluster is None:
        store.command(statement)
        return
    for placed in place(statement, cluster.name):
        for target in targets(placed.place, store, cluster):
            target.command(placed.sql)


def targets(where: Place, store: ClickHouse, cluster: Cluster) -> list[ClickHouse]:
    """The servers a statement placed ``where`` runs on."""
    if where is Place.HOME:
        return [store]
    if where is Place.SHARDS:
        return list(cluster.shards)
    # the Distributed table also on the services' server, which need not be a shard (twice on one is a no-op)
    return [*cluster.shards, store]


def _record(store: ClickHouse, migration: Migration, how: str, clock: Callable[[], datetime]) -> None:
    row = (migration.service, migration.version, migration.name, migration.checksum, how, clock())
    store.insert_rows(VERSION_TABLE, [row], VERSION_COLUMNS)


def record_statements(database: str, services: Sequence[str] = SERVICES) -> list[str]:
    """INSERTs recording every migration of `services` as applied: the deploy DDL (render.py) ends with them."""
    db = identifier(database)
    rows = [
        f"('{m.service}', {m.version}, '{m.name}', '{m.checksum}', 'applied', now64(3))"
        for service in services
        for m in load(service)
    ]
    return [f"INSERT INTO {db}.{VERSION_TABLE} ({', '.join(VERSION_COLUMNS)}) VALUES\n" + ",\n".join(rows)]


def connect_migrated(settings: ServiceSettings, *services: str) -> ConnectClickHouse:
    """Connect as the service's settings say and bring `services`' tables to their newest migration (on a cluster,
    in their cluster form, on every shard of CLICKHOUSE_SHARD_URLS; inserts then wait for every shard)."""
    store = _connect(settings, settings.clickhouse_url)
    shards: list[ConnectClickHouse] = []
    try:
        cluster = None
        if settings.clickhouse_cluster:
            shards.extend(_connect(settings, url) for url in settings.shard_urls)
            cluster = Cluster(settings.clickhouse_cluster, shards)
        migrate(store, *services, database=settings.clickhouse_database, cluster=cluster)
    except BaseException:
        store.close()
        raise
    finally:
        for shard in shards:
            shard.close()
    return store


def shard_stores(settings: ServiceSettings) -> list[ConnectClickHouse]:
    """A store on every shard of CLICKHOUSE_SHARD_URLS (none off a cluster, or when no shard is named); the caller
    closes them."""
    return [_connect(settings, url) for url in settings.shard_urls] if settings.clickhouse_cluster else []


def connect_home(settings: ServiceSettings) -> ConnectClickHouse:
    """A store on CLICKHOUSE_URL as ``connect_migrated`` opens it, running no migration (a helper process's own
    store, the tables already brought up by its service)."""
    return _connect(settings, settings.clickhouse_url)


def _connect(settings: ServiceSettings, url: str) -> ConnectClickHouse:
    return ConnectClickHouse.connect(
        url,
        database=settings.clickhouse_database,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password.get_secret_value(),
        settings=INSERT_SETTINGS if settings.clickhouse_cluster else None,
    )
