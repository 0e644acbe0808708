"""How long refused messages are kept in ClickHouse: the `ingest_rejects` TTL, set at start.

Migration 002_ingest_rejects.sql gives a new table a 90-day TTL on `stored_at`; 004 adds `stored_at` (and the
columns after it) to an older table. The number of days is a setting, not a schema version, so at start, after
the migrations, ingest reads the table's definition and, only where it differs, sets the TTL to
INGEST_REJECT_TTL_DAYS (`MODIFY TTL`): run twice, the second run changes nothing. Rows stored before `stored_at`
existed got it (the time of the migration) and expire that many days after it.

On a cluster `ingest_rejects` is a Distributed table and the rows live in `ingest_rejects_local` on each shard:
given a store on every shard (CLICKHOUSE_SHARD_URLS), ingest sets the TTL there, shard by shard, the same way.
Without shard endpoints (the `ON CLUSTER` form, deploy/clickhouse/render.py) the shards keep the DDL's TTL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Final

from services.common.clickhouse import ClickHouse
from services.common.cluster import local_table
from services.common.errors import StoreRejected

from .errors import StoreSetupError

log = logging.getLogger("workforce.ingest")
TABLE: Final = "ingest_rejects"
_TTL: Final = re.compile(r"\bTTL toDateTime\(stored_at\) \+ toIntervalDay\((\d+)\)")
_DEFINITION: Final = (
    "SELECT engine, create_table_query FROM system.tables WHERE database = currentDatabase() AND name = %(table)s"
)


def ttl_days(create_table_query: str) -> int | None:
    """The days of the table's `stored_at` TTL, as ClickHouse shows it; None without one."""
    match = _TTL.search(create_table_query)
    return int(match[1]) if match else None


def changes(engine: str, create_table_query: str, days: int, table: str = TABLE) -> list[str]:
    """The ALTER statement that brings `table` to `days` of retention; none when it is there already."""
    if not engine.endswith("MergeTree") or ttl_days(create_table_query) == days:
        return []
    return [f"ALTER TABLE {table} MODIFY TTL toDateTime(stored_at) + INTERVAL {int(days)} DAY"]


def ensure_reject_retention(store: ClickHouse, days: int, shards: Sequence[ClickHouse] = ()) -> list[str]:
    """Apply `changes` to the live table, or on a cluster to `ingest_rejects_local` on each of `shards`; returns
    the statements run. Raises StoreSetupError when the ClickHouse user may not alter a table (the error names
    the statements an operator must run)."""
    if shards:
        return [statement for shard in shards for statement in _ensure(shard, local_table(TABLE), days)]
    return _ensure(store, TABLE, days)


def _ensure(store: ClickHouse, table: str, days: int) -> list[str]:
    found = store.query_rows(_DEFINITION, {"table": table})
    if not found:
        return []
    engine, definition = found[0]
    if not str(engine).endswith("MergeTree"):
        log.info(
            "%s is a %s table: its TTL is set on the shards by the cluster DDL (CLICKHOUSE_SHARD_URLS unset)",
            table,
            engine,
            extra={"event": "retention_skipped", "table": table, "engine": str(engine)},
        )
        return []
    statements = changes(str(engine), str(definition), days, table)
    for statement in statements:
        try:
            store.command(statement)
        except StoreRejected as exc:
            raise StoreSetupError(
                f"cannot bring {table} to a {days}-day retention ({exc}); run as an administrator: "
                + "; ".join(statements)
            ) from exc
        log.info(
            "%s: %s", table, statement, extra={"event": "retention_applied", "table": table, "statement": statement}
        )
    return statements
