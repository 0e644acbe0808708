"""What the publisher hands the store (services/metrics/publish.py): every row in COLUMNS order, ``computed_at`` as
the DateTime64(3) ticks clickhouse-connect would write for the datetime, in chunks of ``INSERT_ROWS``; no server."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from clickhouse_connect.datatypes.registry import get_from_name
from clickhouse_connect.datatypes.temporal import DateTime64

from services.metrics.engine import IndicatorRow
from services.metrics.publish import COLUMNS, INSERT_ROWS, RECOMPUTED, IndicatorPublisher, _ticks
from services.metrics.refresh import Refresher


class Recorder:
    """A store that keeps what is inserted and the commands run."""

    def __init__(self) -> None:
        self.inserts: list[tuple[str, list[tuple[Any, ...]], tuple[str, ...]]] = []
        self.commands: list[str] = []

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        self.commands.append(sql)

    def stream_rows(
        self, sql: str, parameters: Mapping[str, Any] | None = None, *, settings: Mapping[str, Any] | None = None
    ) -> Iterator[Sequence[Sequence[Any]]]:
        yield self.query_rows(sql, parameters)

    def query_rows(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return []

    def insert_rows(
        self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str], *, dedup_token: str | None = None
    ) -> None:
        self.inserts.append((table, [tuple(row) for row in rows], tuple(columns)))

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 12, 6, 12, 0, 0, 123_999, tzinfo=UTC),
        datetime(1970, 1, 1, 0, 0, 1, 999_999, tzinfo=UTC),
        datetime(2024, 2, 29, 23, 59, 59, 1, tzinfo=timezone(timedelta(hours=8))),
    ],
)
def test_ticks_are_what_the_driver_writes_for_the_datetime(at: datetime) -> None:
    column = cast(DateTime64, get_from_name("DateTime64(3, 'UTC')"))
    assert _ticks(at) == column._datetime64_ticks(at, None)


def test_rows_go_in_columns_order_with_the_stamp_in_chunks() -> None:
    hidden = IndicatorRow("hires", "month", date(2024, 1, 1), "org", "D-1", "", None, None, None, 0, True, "primary")
    shown = IndicatorRow("hires", "month", date(2024, 1, 1), "all", "all", "", 12.0, None, None, 40, False, "")
    rows = [shown, hidden] * (INSERT_ROWS // 2 + 1)
    at = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    store = Recorder()
    written = IndicatorPublisher(store).replace_years({2024: rows}, [], at)
    assert written == len(rows)
    assert [len(batch) for _, batch, _ in store.inserts] == [INSERT_ROWS, 2]
    table, batch, columns = store.inserts[-1]
    assert (table, columns) == ("indicators_staging", COLUMNS)
    stamp = _ticks(at)
    assert batch == [(*shown, stamp), (*hidden, stamp)]
    assert [int(value) for value in (batch[0][10], batch[1][10])] == [0, 1]
    assert "ALTER TABLE indicators REPLACE PARTITION 2024 FROM indicators_staging" in store.commands


def test_a_year_recomputed_from_a_month_keeps_its_earlier_rows_and_a_later_month_writes_nothing() -> None:
    """The refresher's publish after `compute(since=...)`: the year's rows before `since` are copied within
    ClickHouse into the year swapped in; events after as-of (nothing recomputed) drop and write no year."""
    store = Recorder()
    at = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    refresher = Refresher(store, k=3, as_of=lambda: date(2026, 10, 31), clock=lambda: at)
    row = IndicatorRow("hires", "month", date(2026, 9, 1), "all", "all", "", 3.0, None, None, 3, False, "")
    refresher._publish([row], force=True)
    store.commands.clear()
    october = row._replace(period=date(2026, 10, 1))
    assert refresher._publish([october], force=False, since=date(2026, 10, 1)) == ((2026,), 1)
    copy = [sql for sql in store.commands if sql.startswith("INSERT INTO indicators_staging SELECT")]
    assert len(copy) == 1 and RECOMPUTED in copy[0]
    assert "ALTER TABLE indicators REPLACE PARTITION 2026 FROM indicators_staging" in store.commands
    store.commands.clear()
    assert refresher._publish([], force=False, since=date(2026, 11, 1)) == ((), 0)
    assert not [sql for sql in store.commands if "PARTITION" in sql]
