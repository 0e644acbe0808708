"""ClickHouse DDL for deployment: the single-node form, the cluster form, and the users.

``python -m deploy.clickhouse.render single --database workforce`` prints the services' migrations
(``services/ingest/sql``, ``services/metrics/sql``, see services/common/migrations.py) as the services apply them,
then the INSERT recording them in ``schema_migrations`` (the versions and checksums the services check at start).
``cluster`` prints the same migrations and versions for a replicated, sharded cluster: ``ON CLUSTER``,
``Replicated*MergeTree`` with ``{shard}``/``{replica}`` macros, and for the event tables a ``*_local`` table per
shard behind a ``Distributed`` table of the original name (so the services' SQL is unchanged). The event tables
shard by their deduplication key, so every copy of one event lands on one shard and ``ReplacingMergeTree``
collapses it there; the indicator and label tables are small and replicated whole to every node.
``users`` prints ``users.sql`` with the passwords from the environment (see ``PASSWORD_ENV``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from services.common import migrations
from services.common.clickhouse import identifier, split_statements

USERS_SQL = Path(__file__).parent / "users.sql"
# The shard key of each sharded table: its ReplacingMergeTree key, so duplicates meet on one shard.
SHARD_KEYS = {"events": "cityHash64(event_id)", "ingest_rejects": "cityHash64(reject_key)"}
PASSWORD_ENV = {
    "ingest_writer_password": "INGEST_CLICKHOUSE_PASSWORD",
    "metrics_job_password": "METRICS_CLICKHOUSE_PASSWORD",
    "dashboard_reader_password": "DASHBOARD_READER_PASSWORD",
}
_PASSWORD = re.compile(r"^[A-Za-z0-9_\-]{16,128}$")
_CREATE = re.compile(r"^CREATE TABLE IF NOT EXISTS (?P<db>\w+)\.(?P<name>\w+)(?P<rest>.*)$", re.DOTALL)
_ALTER = re.compile(r"^ALTER TABLE (?P<db>\w+)\.(?P<name>\w+) (?P<rest>.*)$", re.DOTALL)
_AS = re.compile(r"^\s*AS (?P<db>\w+)\.(?P<source>\w+)\s*$")
_ENGINE = re.compile(r"ENGINE = (?P<kind>Replacing)?MergeTree(?:\((?P<args>[^)]*)\))?")
_NON_REPLICATED = re.compile(r"\n?SETTINGS non_replicated_deduplication_window = \d+")


def render_single(database: str) -> list[str]:
    """The version table, every migration of every service in order as one node runs them, and the INSERT that
    records them (so the services find nothing pending at start)."""
    db = identifier(database)
    statements = [migrations.VERSION_DDL.replace("{database}", db)]
    for service in migrations.SERVICES:
        statements.extend(s for m in migrations.load(service) for s in m.statements(db))
    statements.extend(migrations.record_statements(db))
    return [s.rstrip(";").rstrip() for s in statements]


def render_cluster(database: str, cluster: str = "{cluster}") -> list[str]:
    """The same tables for a cluster named `cluster` (default: the server's `{cluster}` macro)."""
    by_name: dict[str, str] = {}
    out: list[str] = []
    for statement in render_single(database):
        if statement.startswith("INSERT INTO "):  # the version rows: the table is replicated, one node takes them
            out.append(statement)
            continue
        altered = _ALTER.match(statement)
        if altered is not None:  # bringing an older table up to date: on every node, every table of the name
            name = altered["name"]
            tables = (f"{name}_local", name) if name in SHARD_KEYS else (name,)
            out.extend(f"ALTER TABLE {database}.{t} ON CLUSTER '{cluster}' {altered['rest']}" for t in tables)
            continue
        match = _CREATE.match(statement)
        if match is None:
            raise ValueError(f"not a CREATE TABLE IF NOT EXISTS or ALTER TABLE statement: {statement[:80]}")
        name, rest = match["name"], match["rest"]
        copied = _AS.match(rest)
        if copied:  # `AS other` would copy the other table's replication path: restate its definition instead
            rest = _CREATE.match(by_name[copied["source"]])["rest"]  # type: ignore[index]
        by_name[name] = statement
        out.extend(cluster_table(database, name, rest, cluster))
    return out


def cluster_table(database: str, name: str, rest: str, cluster: str) -> list[str]:
    sharded = name in SHARD_KEYS
    local = f"{name}_local" if sharded else name
    path = f"/clickhouse/tables/{'{shard}' if sharded else 'all'}/{database}/{local}"

    def replicated(match: re.Match[str]) -> str:
        args = f"'{path}', '{{replica}}'" + (f", {match['args']}" if match["args"] else "")
        return f"ENGINE = Replicated{match['kind'] or ''}MergeTree({args})"

    body, count = _ENGINE.subn(replicated, _NON_REPLICATED.sub("", rest))
    if count != 1:
        raise ValueError(f"{name}: expected one MergeTree engine")
    on_cluster = f"ON CLUSTER '{cluster}'"
    statements = [f"CREATE TABLE IF NOT EXISTS {database}.{local} {on_cluster}{body}"]
    if sharded:
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {database}.{name} {on_cluster} AS {database}.{local}\n"
            f"ENGINE = Distributed('{cluster}', {database}, {local}, {SHARD_KEYS[name]})"
        )
    return statements


def render_users(database: str, passwords: Mapping[str, str]) -> list[str]:
    """users.sql with `database` and the three passwords (letters, digits, `_`, `-`; 16 to 128 characters)."""
    text = USERS_SQL.read_text(encoding="utf-8").replace("{database}", identifier(database))
    for key in PASSWORD_ENV:
        value = passwords.get(key, "")
        if not _PASSWORD.match(value):
            raise ValueError(f"{key}: need 16-128 letters, digits, '_' or '-' (e.g. `openssl rand -hex 24`)")
        text = text.replace("{" + key + "}", value)
    return [s.rstrip(";").rstrip() for s in split_statements(text)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="print ClickHouse DDL for deployment")
    parser.add_argument("form", choices=("single", "cluster", "users"))
    parser.add_argument("--database", default="workforce")
    parser.add_argument("--cluster", default="{cluster}", help="cluster name (default: the {cluster} macro)")
    args = parser.parse_args(argv)
    if args.form == "single":
        statements = render_single(args.database)
    elif args.form == "cluster":
        statements = render_cluster(args.database, args.cluster)
    else:
        passwords = {key: os.environ.get(env, "") for key, env in PASSWORD_ENV.items()}
        try:
            statements = render_users(args.database, passwords)
        except ValueError as exc:
            print(f"render users: {exc}", file=sys.stderr)
            return 2
    print(";\n\n".join(statements) + ";")
    return 0


if __name__ == "__main__":
    sys.exit(main())
