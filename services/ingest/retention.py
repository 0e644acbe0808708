"""How long refused messages are kept in ClickHouse: the `ingest_rejects` TTL, set at start.

`CREATE TABLE IF NOT EXISTS` (002_ingest_rejects.sql) gives a new table the columns and a 90-day TTL on
`stored_at`, but changes nothing on a table that already exists. So at start ingest reads the table's definition
and, only where it differs, adds the missing columns (`ADD COLUMN IF NOT EXISTS`) and sets the TTL to
INGEST_REJECT_TTL_DAYS (`MODIFY TTL`): run twice, the second run changes nothing. Rows stored before `stored_at`
existed get it (the time of the change) when ClickHouse materialises the new TTL, and expire that many days later.

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
ADDED_COLUMNS: Final = (
    ("stored_at", "DateTime64(3, 'UTC') DEFAULT now64(3)"),
    ("payload_form", "LowCardinality(String)"),
    ("payload_bytes", "UInt64"),
    ("payload_sha256", "String"),
    ("dead_letter", "LowCardinality(String)"),
)
_TTL: Final = re.compile(r"\bTTL toDateTime\(stored_at\) \+ toIntervalDay\((\d+)\)")
_DEFINITION: Final = (
    "SELECT engine, create_table_query FROM system.tables WHERE database = currentDatabase() AND name = %(table)s"
)
_COLUMNS: Final = "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = %(table)s"


def ttl_days(create_table_query: str) -> int | None:
    """The days of the table's `stored_at` TTL, as ClickHouse shows it; None without one."""
    match = _TTL.search(create_table_query)
    return int(match[1]) if match else None


def changes(engine: str, create_table_query: str, columns: set[str], days: int) -> list[str]:
    """The ALTER statements that bring the table to `days` of retention; none when it is there already."""
    if not engine.endswith("MergeTree"):
        return []
    alters = [f"ADD COLUMN IF NOT EXISTS {name} {kind}" for name, kind in ADDED_COLUMNS if name not in columns]
    if ttl_days(create_table_query) != days:
        alters.append(f"MODIFY TTL toDateTime(stored_at) + INTERVAL {int(days)} DAY")
    return [f"ALTER TABLE {TABLE} {alter}" for alter in alters]


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
    columns = {row[0] for row in store.query_rows(_COLUMNS, {"table": TABLE})}
    statements = changes(str(engine), str(definition), columns, days)
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
