"""The read API's in-memory snapshot of the published table: every page it answers is the page ClickHouse's
query would give (filters, period range, cursor, limit, KEY order), written as the ClickHouse path writes it
(JSON parsed equal, CSV byte for byte); `Snapshots` serves one only once the table has settled after a publish.
tests/integration/test_api_snapshot.py checks the same against a real ClickHouse table."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from services.common.errors import StoreUnavailable
from services.metrics.api import FIELDS, KEY, Page, as_records, build_query, csv_answer, next_url, snapshot_page
from services.metrics.queries import decode_cursor, encode_cursor
from services.metrics.snapshot import Snapshot, Snapshots, of_rows

TEXTS = ("a", "b", "=cmd", "é", "x,y", 'q"', "")
NUMBERS = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False), st.integers(-5, 5).map(float))
ROWS = st.lists(
    st.tuples(
        st.sampled_from(("hires", "separations", "headcount_end")),
        st.sampled_from(("month", "year")),
        st.dates(date(2023, 1, 1), date(2025, 12, 31)).map(lambda d: d.replace(day=1)),
        st.sampled_from(("all", "org", "gender")),
        st.sampled_from(TEXTS),
        st.sampled_from(TEXTS),
        NUMBERS,
        NUMBERS,
        NUMBERS,
        st.integers(0, 9),
        st.integers(0, 1),
        st.sampled_from(("", "primary", "linked")),
    ),
    max_size=60,
    unique_by=lambda row: tuple(row[FIELDS.index(c)] for c in KEY),
)
FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "indicator": st.lists(st.sampled_from(("hires", "separations", "pay_median")), min_size=1, max_size=2),
        "period_kind": st.lists(st.sampled_from(("month", "year")), min_size=1, max_size=2),
        "dimension": st.lists(st.sampled_from(("all", "org", "age_band")), min_size=1, max_size=2),
        "slice": st.lists(st.sampled_from((*TEXTS, "zz")), min_size=1, max_size=3),
        "category": st.lists(st.sampled_from((*TEXTS, "zz")), min_size=1, max_size=3),
        "from": st.dates(date(2022, 6, 1), date(2026, 1, 1)).map(lambda d: [d.isoformat()]),
        "to": st.dates(date(2022, 6, 1), date(2026, 1, 1)).map(lambda d: [d.isoformat()]),
        "limit": st.integers(1, 7).map(lambda n: [str(n)]),
    },
)


def _params(filters: dict[str, list[str]], cursor: str | None = None) -> QueryParams:
    items = [(name, value) for name, values in filters.items() for value in values]
    return QueryParams([*items, *([("cursor", cursor)] if cursor else [])])


def _key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(row[FIELDS.index(c)] for c in KEY)


def _expected(rows: list[tuple[Any, ...]], params: QueryParams) -> tuple[list[tuple[Any, ...]], bool]:
    """What the SQL of `build_query` selects: the rows matching every filter after the cursor, in KEY order, the
    first `limit`, and whether one more follows."""
    query = build_query(params).request
    after = query.after()

    def wanted(row: tuple[Any, ...]) -> bool:
        record = dict(zip(FIELDS, row, strict=True))
        lists = ("indicator", "period_kind", "dimension", "slice", "category")
        return (
            all(not getattr(query, c) or record[c] in getattr(query, c) for c in lists)
            and (query.from_ is None or record["period"] >= query.from_)
            and (query.to is None or record["period"] <= query.to)
            and (after is None or _key(row) > after)
        )

    found = sorted((row for row in rows if wanted(row)), key=_key)
    return found[: query.limit], len(found) > query.limit


@settings(max_examples=300, deadline=None)
@given(rows=ROWS, filters=FILTERS, data=st.data())
def test_every_page_is_the_rows_the_query_selects_after_any_cursor(
    rows: list[tuple[Any, ...]], filters: dict[str, list[str]], data: st.DataObject
) -> None:
    snapshot = of_rows(rows)
    keys = sorted({_key(row) for row in rows})
    invented = ("hires", "month", "all", "b!", "", date(2024, 5, 1))  # between held values
    cursor = data.draw(st.sampled_from([None, invented, *keys]))
    params = _params(filters, None if cursor is None else encode_cursor(cursor))
    expected, more = _expected(rows, params)
    answer = snapshot_page(snapshot, build_query(params), "/indicators", params)
    body = json.loads(answer.body)
    assert body["rows"] == as_records(expected)
    assert body["count"] == len(expected)
    assert (body["next"] is not None) == more
    if more:
        next_cursor = dict(QueryParams(body["next"].split("?", 1)[1]))["cursor"]
        assert decode_cursor(next_cursor) == _key(expected[-1])
        assert answer.headers == (("Link", f'<{body["next"]}>; rel="next"'),)


@settings(max_examples=100, deadline=None)
@given(rows=ROWS, filters=FILTERS)
def test_a_csv_page_is_byte_for_byte_what_the_clickhouse_path_writes(
    rows: list[tuple[Any, ...]], filters: dict[str, list[str]]
) -> None:
    params = _params({**filters, "format": ["csv"]})
    expected, more = _expected(rows, params)
    answer = snapshot_page(of_rows(rows), build_query(params), "/indicators", params)
    page = Page(as_records(expected), encode_cursor(_key(expected[-1])) if more else None)
    url = next_url("/indicators", params, page.next) if page.next else None
    assert answer == csv_answer(page, url)


def test_a_suppressed_cell_has_no_numbers_and_a_value_of_zero_is_a_number() -> None:
    rows = [
        ("hires", "month", date(2024, 1, 1), "all", "all", "", None, None, None, 0, 1, "primary"),
        ("hires", "month", date(2024, 2, 1), "all", "all", "", 0.0, 0.0, 3.0, 3, 0, ""),
    ]
    params = QueryParams("")
    body = json.loads(snapshot_page(of_rows(rows), build_query(params), "/indicators", params).body)
    assert [(r["value"], r["numerator"], r["denominator"], r["suppressed"]) for r in body["rows"]] == [
        (None, None, None, True),
        (0.0, 0.0, 3.0, False),
    ]


async def _next_read(snapshots: Snapshots) -> None:
    await asyncio.wait_for(snapshots.read_done.wait(), 10)
    snapshots.read_done.clear()


async def test_a_snapshot_is_served_once_the_table_settled_and_never_across_a_publish() -> None:
    rows = [("hires", "month", date(2024, 1, 1), "all", "all", "", 1.0, 1.0, 1.0, 5, 0, "")]
    snapshots = Snapshots(1_000_000, settle=0.05)
    reads: list[int] = []
    started, release = asyncio.Event(), threading.Event()
    loop = asyncio.get_running_loop()

    def read() -> Snapshot:
        reads.append(len(reads))
        loop.call_soon_threadsafe(started.set)
        assert release.wait(10)  # the first read is overtaken by a publish
        return of_rows(rows)

    keeper = asyncio.create_task(snapshots.keep(read))
    try:
        snapshots.invalidate()
        snapshots.invalidate()  # a burst of publishes: one read
        await asyncio.wait_for(started.wait(), 10)
        snapshots.invalidate()
        release.set()
        await _next_read(snapshots)
        assert snapshots.current is None  # read across a publish: not served
        await _next_read(snapshots)
        assert len(reads) == 2 and snapshots.current is not None and snapshots.current.rows == 1
        snapshots.invalidate()
        assert snapshots.current is None
    finally:
        keeper.cancel()


async def test_clickhouse_away_while_reading_means_no_snapshot_and_another_try() -> None:
    snapshots = Snapshots(1_000_000, settle=0.01)
    tries: list[int] = []

    def read() -> Snapshot | None:
        tries.append(1)
        if len(tries) == 1:
            raise StoreUnavailable("away")
        return None  # too large: pages ask ClickHouse

    keeper = asyncio.create_task(snapshots.keep(read))
    try:
        snapshots.invalidate()
        await _next_read(snapshots)
        await _next_read(snapshots)
        assert len(tries) == 2 and snapshots.current is None
    finally:
        keeper.cancel()
