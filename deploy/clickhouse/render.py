"""ClickHouse DDL for deployment: the single-node form, the cluster form, and the users.

``python -m deploy.clickhouse.render single --database workforce`` prints the services' migrations
(``services/ingest/sql``, ``services/metrics/sql``, see services/common/migrations.py) as the services apply them,
then the INSERT recording them in ``schema_migrations`` (the versions and checksums the services check at start).
``cluster`` prints the same migrations and versions for a replicated, sharded cluster: the cluster form the
services apply with CLICKHOUSE_CLUSTER (services/common/cluster.py: for ``events`` and ``ingest_rejects`` a
``*_local`` table per shard behind a ``Distributed`` table of the original name, so the services' SQL is
unchanged; events shard by worker, so every copy of one event lands on one shard and ``ReplacingMergeTree``
collapses it there), with ``ON CLUSTER`` and ``Replicated*MergeTree`` (``{shard}``/``{replica}`` macros); the
indicator and label tables are small and replicated whole to every node. Point the services at it with
CLICKHOUSE_CLUSTER (the cluster's name).
``users`` prints ``users.sql`` with the passwords from the environment (see ``PASSWORD_ENV``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from services.common import migrations
from services.common.clickhouse import identifier, split_statements
from services.common.cluster import SHARD_KEYS as SHARD_KEYS  # re-exported: the shard key of each sharded table
from services.common.cluster import Place, Placed, place

USERS_SQL = Path(__file__).parent / "users.sql"
PASSWORD_ENV = {
    "ingest_writer_password": "INGEST_CLICKHOUSE_PASSWORD",
    "metrics_job_password": "METRICS_CLICKHOUSE_PASSWORD",
    "dashboard_reader_password": "DASHBOARD_READER_PASSWORD",
}
_PASSWORD = re.compile(r"^[A-Za-z0-9_\-]{16,128}$")
_CREATE = re.compile(r"^CREATE TABLE IF NOT EXISTS (?P<db>\w+)\.(?P<name>\w+)(?P<rest>.*)$", re.DOTALL)
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
    """The same tables for a cluster named `cluster` (default: the server's `{cluster}` macro): the cluster form
    of services/common/cluster.py (`place`), every statement `ON CLUSTER`, every MergeTree replicated."""
    definitions: dict[str, str] = {}
    out: list[str] = []
    for statement in render_single(database):
        if statement.startswith("INSERT INTO "):  # the version rows: the table is replicated, one node takes them
            out.append(statement)
            continue
        statement = _restated(statement, definitions)
        out.extend(_on_cluster(placed, database, cluster) for placed in place(statement, cluster))
    return out


def _restated(statement: str, definitions: dict[str, str]) -> str:
    """`CREATE TABLE ... t AS other` with other's definition written out (`AS` would copy other's replication
    path); `definitions` collects each table's, by name."""
    created = _CREATE.match(statement)
    if created is None:
        return statement
    rest = created["rest"]
    if copied := _AS.match(rest):
        rest = definitions[copied["source"]]
    definitions[created["name"]] = rest
    return f"CREATE TABLE IF NOT EXISTS {created['db']}.{created['name']}{rest}"


def _on_cluster(placed: Placed, database: str, cluster: str) -> str:
    """`placed` on every node: a shard-local table replicated within its shard, a small table to every node."""
    if not placed.head.startswith("CREATE ") or placed.place is Place.EVERYWHERE:
        return placed.on_cluster(cluster)  # an ALTER, or the Distributed table (no data of its own)
    path = f"/clickhouse/tables/{'{shard}' if placed.place is Place.SHARDS else 'all'}/{database}/{placed.table}"

    def replicated(match: re.Match[str]) -> str:
        args = f"'{path}', '{{replica}}'" + (f", {match['args']}" if match["args"] else "")
        return f"ENGINE = Replicated{match['kind'] or ''}MergeTree({args})"

    body, count = _ENGINE.subn(replicated, _NON_REPLICATED.sub("", placed.body))
    if count != 1:
        raise ValueError(f"{placed.table}: expected one MergeTree engine")
    return replace(placed, body=body).on_cluster(cluster)


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
