"""How long refused messages are kept in ClickHouse: the `ingest_rejects` TTL, set at start.

Migration 002_ingest_rejects.sql gives a new table a 90-day TTL on `stored_at`; 004 adds `stored_at` (and the
columns after it) to an older table. The number of days is a setting, not a schema version, so at start, after
the migrations, ingest reads the table's definition and, only where it differs, sets the TTL to
INGEST_REJECT_TTL_DAYS (`MODIFY TTL`): run twice, the second run changes nothing. Rows stored before `stored_at`
existed got it (the time of the migration) and expire that many days after it.

On a cluster `ingest_rejects` is a Distributed table: the TTL lives on `ingest_rejects_local`, set by the cluster
DDL (deploy/clickhouse/render.py), and is left alone here.
"""

from __future__ import annotations

import logging
import re
from typing import Final

from services.common.clickhouse import ClickHouse
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


def changes(engine: str, create_table_query: str, days: int) -> list[str]:
    """The ALTER statement that brings the table to `days` of retention; none when it is there already."""
    if not engine.endswith("MergeTree") or ttl_days(create_table_query) == days:
        return []
    return [f"ALTER TABLE {TABLE} MODIFY TTL toDateTime(stored_at) + INTERVAL {int(days)} DAY"]


def ensure_reject_retention(store: ClickHouse, days: int) -> list[str]:
    """Apply `changes` to the live table; returns the statements run. Raises StoreSetupError when the
    ClickHouse user may not alter the table (the error names the statements an operator must run)."""
    found = store.query_rows(_DEFINITION, {"table": TABLE})
    if not found:
        return []
    engine, definition = found[0]
    if not str(engine).endswith("MergeTree"):
        log.info(
            "%s is a %s table: its TTL is set on the shards by the cluster DDL",
            TABLE,
            engine,
            extra={"event": "retention_skipped", "table": TABLE, "engine": str(engine)},
        )
        return []
    statements = changes(str(engine), str(definition), days)
    for statement in statements:
        try:
            store.command(statement)
        except StoreRejected as exc:
            raise StoreSetupError(
                f"cannot bring {TABLE} to a {days}-day retention ({exc}); run as an administrator: "
                + "; ".join(statements)
            ) from exc
        log.info(
            "%s: %s", TABLE, statement, extra={"event": "retention_applied", "table": TABLE, "statement": statement}
        )
    return statements
