"""The cluster form of the services' tables: one rule saying which tables are sharded and where each statement of a
migration runs, derived from the single-server statement (the `.sql` files hold only that form).

A table named in `SHARD_KEYS` becomes `<t>_local` on every shard (the statement as written, renamed) and a
`Distributed` table `<t>` of the same columns over them, sharded by its key, on every shard and on the services'
server, so the services' SQL is the same on one server and on a cluster. Every other table is small (indicators
and their staging table, labels, reference wages, the refresh log, the version table) and stays whole on the
services' server: `ALTER TABLE indicators REPLACE PARTITION ... FROM indicators_staging` needs both tables on one
server, and a refresh reads and writes them in one piece.

`place` is pure. The migrations run its output shard by shard (CLICKHOUSE_CLUSTER with CLICKHOUSE_SHARD_URLS,
services/common/migrations.py: the local stack, whose servers cannot run `ON CLUSTER`); the deploy DDL
(deploy/clickhouse/render.py) adds `ON CLUSTER` and replication to the same statements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

SHARD_KEYS: Final = {
    # By worker: a worker's events on one shard (per-worker derivation can run shard by shard), and a redelivered
    # event, carrying the same worker key, on the shard of its first copy, where ReplacingMergeTree collapses it.
    "events": "cityHash64(worker_key)",
    # By its deduplication key: copies of one refused message meet on one shard.
    "ingest_rejects": "cityHash64(reject_key)",
}
FACT_PREFIX: Final = "wf_"
"""The metrics service's fact tables (services/metrics/warehouse): per-worker rows, sharded like ``events`` so that a
worker's facts sit beside its events; ``wf_org`` (a unit's chain, small) stays whole on the services' server."""
UNSHARDED_FACTS: Final = frozenset({"wf_org"})
INSERT_SETTINGS: Final[dict[str, Any]] = {
    # An insert into a Distributed table returns once every shard has stored its part (not when the part is queued
    # for sending): ingest acknowledges a message only then, a retry carries the same insert_deduplication_token
    # to the same shards, and a refresh reading right after finds the rows.
    "distributed_foreground_insert": 1,
}
_CREATE: Final = re.compile(r"^CREATE TABLE IF NOT EXISTS (?P<db>\w+)\.(?P<name>\w+)(?P<rest>.*)$", re.DOTALL)
_ALTER: Final = re.compile(r"^ALTER TABLE (?P<db>\w+)\.(?P<name>\w+) (?P<rest>.*)$", re.DOTALL)
_COPY: Final = re.compile(r"^\s*AS \w+\.\w+\s*$")
_ENGINE: Final = "\nENGINE = "


class Place(StrEnum):
    """Where a statement of the cluster form runs."""

    SHARDS = "shards"  # every shard: the shard-local table `<t>_local`
    EVERYWHERE = "everywhere"  # every shard and the services' server: the Distributed table `<t>`
    HOME = "home"  # the services' server only: a small table


@dataclass(frozen=True)
class Placed:
    """One statement of the cluster form: `head` names the table (`CREATE TABLE IF NOT EXISTS db.t`,
    `ALTER TABLE db.t`), `body` is the rest; `ON CLUSTER` goes between them."""

    place: Place
    table: str
    head: str
    body: str

    @property
    def sql(self) -> str:
        return self.head + self.body

    def on_cluster(self, cluster: str) -> str:
        return f"{self.head} ON CLUSTER '{cluster}'{self.body}"


def local_table(name: str) -> str:
    """The shard-local table behind the Distributed table `name`."""
    return f"{name}_local"


def shard_key(name: str) -> str | None:
    """The sharding key of table ``name`` (None: a small table, whole on the services' server)."""
    if name in SHARD_KEYS:
        return SHARD_KEYS[name]
    if name.startswith(FACT_PREFIX) and name not in UNSHARDED_FACTS:
        return SHARD_KEYS["events"]
    return None


def sharded(name: str) -> bool:
    return shard_key(name) is not None


def place(statement: str, cluster: str) -> list[Placed]:
    """The cluster form of one single-server statement (`CREATE TABLE IF NOT EXISTS db.t ...` or
    `ALTER TABLE db.t ...`, as `Migration.statements` gives it) for the cluster named `cluster`."""
    if created := _CREATE.match(statement):
        return _create(created["db"], created["name"], created["rest"], cluster)
    if altered := _ALTER.match(statement):
        db, name, rest = altered["db"], altered["name"], " " + altered["rest"]
        if not sharded(name):
            return [Placed(Place.HOME, name, f"ALTER TABLE {db}.{name}", rest)]
        local = local_table(name)
        return [
            Placed(Place.SHARDS, local, f"ALTER TABLE {db}.{local}", rest),
            Placed(Place.EVERYWHERE, name, f"ALTER TABLE {db}.{name}", rest),
        ]
    raise ValueError(f"not a CREATE TABLE IF NOT EXISTS or ALTER TABLE statement: {statement[:80]}")


def _create(db: str, name: str, rest: str, cluster: str) -> list[Placed]:
    if not sharded(name):
        return [Placed(Place.HOME, name, f"CREATE TABLE IF NOT EXISTS {db}.{name}", rest)]
    if _COPY.match(rest) or _ENGINE not in rest:
        raise ValueError(f"{name}: a sharded table must state its columns and engine")
    local = local_table(name)
    columns = rest[: rest.index(_ENGINE)]
    distributed = f"{_ENGINE}Distributed('{cluster}', {db}, {local}, {shard_key(name)})"
    return [
        Placed(Place.SHARDS, local, f"CREATE TABLE IF NOT EXISTS {db}.{local}", rest),
        Placed(Place.EVERYWHERE, name, f"CREATE TABLE IF NOT EXISTS {db}.{name}", columns + distributed),
    ]
