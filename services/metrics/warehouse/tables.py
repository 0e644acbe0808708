"""The fact tables' place (issue 13): created and emptied on one server, or in their cluster form.

On one server each ``queries.TABLES`` statement runs as written in the store's database. On a cluster
(``migrations.Cluster``: its name and a store on every shard) the statements take the cluster form of
``services/common/cluster.py``: a fact table becomes ``<t>_local`` on every shard behind a ``Distributed`` table
``<t>`` sharded by worker (a worker's facts beside its events), ``wf_org`` stays whole on the services' server and
is joined ``GLOBAL``; emptying a fact table empties every shard's local table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from services.common.clickhouse import ClickHouse
from services.common.cluster import Place, local_table, sharded
from services.common.migrations import Cluster, run_statement, targets

_CREATE: Final = re.compile(r"^\s*CREATE TABLE IF NOT EXISTS (\w+)")
_ENGINE: Final = re.compile(r"\s*\n\s*ENGINE = ")


def create(store: ClickHouse, statements: Iterable[str], cluster: Cluster | None = None) -> None:
    """Run ``CREATE TABLE IF NOT EXISTS t ...`` statements (unqualified names) in the store's database."""
    database = str(store.query_rows("SELECT currentDatabase()")[0][0])
    for statement in statements:
        qualified = _CREATE.sub(lambda m: f"CREATE TABLE IF NOT EXISTS {database}.{m[1]}", statement, count=1)
        qualified = _ENGINE.sub("\nENGINE = ", qualified, count=1)  # the engine on a line of its own, as placed
        run_statement(store, qualified, cluster)


def truncate(store: ClickHouse, tables: Iterable[str], cluster: Cluster | None = None) -> None:
    """Empty the tables (on a cluster: a sharded table's local table on every shard)."""
    for table in tables:
        if cluster is None or not sharded(table):
            store.command(f"TRUNCATE TABLE {table}")
            continue
        for shard in targets(Place.SHARDS, store, cluster):
            shard.command(f"TRUNCATE TABLE {local_table(table)}")


def forget(store: ClickHouse, tables: Iterable[str], keys: Iterable[str], cluster: Cluster | None = None) -> None:
    """Delete the rows of the workers ``keys`` from fact tables with a ``worker_key`` (a lightweight ``DELETE``,
    done when it returns; on a cluster, from every shard's local table). The tables' deletes run at once: each
    waits on its own mutation more than it works (0.4-1 s a table at 1 M events, whatever it deletes)."""
    chosen = {"keys": tuple(sorted(keys))}
    if not chosen["keys"]:
        return
    deletes: list[tuple[ClickHouse, str]] = []
    for table in tables:
        if cluster is None or not sharded(table):
            deletes.append((store, table))
        else:
            deletes += [(shard, local_table(table)) for shard in targets(Place.SHARDS, store, cluster)]
    with ThreadPoolExecutor(max_workers=len(deletes) or 1) as pool:
        sql = "DELETE FROM {} WHERE worker_key IN %(keys)s"
        done = [pool.submit(place.command, sql.format(table), chosen) for place, table in deletes]
        for future in done:
            future.result()  # the first failure, translated by the store, is raised
