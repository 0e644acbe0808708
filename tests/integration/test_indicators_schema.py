"""The indicators tables of an older release are brought up to date by the DDL the metrics service applies."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.common.clickhouse import ConnectClickHouse
from services.common.migrations import migrate
from services.metrics.engine import IndicatorRow
from services.metrics.publish import COLUMNS, IndicatorPublisher

from .servers import Servers

NOW = datetime(2024, 7, 1, tzinfo=UTC)
# The shape of `indicators` before the `reason` column (release of issue 11).
OLD_TABLE = """CREATE TABLE {database}.indicators
(
    indicator    LowCardinality(String),
    period_kind  LowCardinality(String),
    period       Date,
    dimension    LowCardinality(String),
    slice        String,
    category     LowCardinality(String),
    value        Nullable(Float64),
    numerator    Nullable(Float64),
    denominator  Nullable(Float64),
    workers      UInt32,
    suppressed   UInt8,
    computed_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYear(period)
ORDER BY (indicator, period_kind, dimension, slice, category, period)"""
OLD_COLUMNS = COLUMNS[:-2] + COLUMNS[-1:]


def columns(store: ConnectClickHouse, database: str, table: str) -> list[str]:
    sql = "SELECT name FROM system.columns WHERE database = %(db)s AND table = %(t)s ORDER BY position"
    return [row[0] for row in store.query_rows(sql, {"db": database, "t": table})]


def test_an_older_indicators_table_gets_the_reason_column_and_keeps_its_rows(servers: Servers, database: str) -> None:
    name = f"{database}_old_indicators"
    store = ConnectClickHouse.connect(servers.clickhouse_url, database=name, user="default", password="")
    try:
        store.command(OLD_TABLE.format(database=name))
        store.command(f"CREATE TABLE {name}.indicators_staging AS {name}.indicators")
        old = ("hires", "month", date(2023, 1, 1), "all", "all", "", 3.0, None, None, 40, 0, NOW)
        hidden = ("hires", "month", date(2023, 1, 1), "gender", "male", "", None, None, None, 2, 1, NOW)
        store.insert_rows("indicators", [old, hidden], OLD_COLUMNS)
        migrate(store, "metrics", database=name)
        migrate(store, "metrics", database=name)  # idempotent
        assert columns(store, name, "indicators") == list(COLUMNS)
        assert columns(store, name, "indicators_staging") == list(COLUMNS)
        kept = store.query_rows(f"SELECT slice, value, suppressed, reason FROM {name}.indicators ORDER BY slice")
        assert kept == [("all", 3.0, 0, ""), ("male", None, 1, "")]
        # both tables have one structure again: a publish swaps a year in through the staging table
        row = IndicatorRow(
            "hires", "month", date(2023, 1, 1), "gender", "male", "", None, None, None, 0, True, "primary"
        )
        IndicatorPublisher(store).replace_years({2023: [row]}, drop=[], at=NOW)
        rows = store.query_rows(f"SELECT slice, workers, suppressed, reason FROM {name}.indicators")
        assert rows == [("male", 0, 1, "primary")]
    finally:
        store.command(f"DROP DATABASE IF EXISTS {name}")
        store.close()
