"""The read API's snapshot against a real ClickHouse: read from an `indicators` table with hostile text in every
text column, it answers every page (and every next page) as ClickHouse's query does: the same rows and cursors
(JSON parsed equal), the same CSV bytes."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from starlette.datastructures import QueryParams

from services.common.clickhouse import ConnectClickHouse
from services.common.migrations import migrate
from services.metrics.api import Answer, build_query, render_page, snapshot_page
from services.metrics.publish import COLUMNS
from services.metrics.snapshot import Snapshot, load

from .servers import Servers

TEXTS = ("all", "D1", "=cmd|' /C calc'!A0", "a,b", 'say "x"', "line\nbreak", "宝山区", "é", "tail\\", "")
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def _rows(rng: random.Random) -> list[tuple[Any, ...]]:
    rows = []
    for indicator, kind, dimension, slice_, category in itertools.product(
        ("hires", "pay_median", "separations"), ("month", "year"), ("all", "org", "gender"), TEXTS[:6], TEXTS[4:]
    ):
        for month in range(1, 13, rng.choice((1, 5))):
            suppressed = rng.random() < 0.4
            value = None if suppressed else rng.choice((0.0, 1.0, 2.5, 1 / 3, -4.0, 123456.789))
            period = date(rng.choice((2023, 2024, 2025)), month, 1)
            numbers = (value, value, 3.0 if value else None, 0 if suppressed else 7)
            flags = (int(suppressed), "primary" if suppressed else "")
            rows.append((indicator, kind, period, dimension, slice_, category, *numbers, *flags, NOW))
    return list({row[:6]: row for row in rows}.values())


@pytest.fixture(scope="module")
def table(servers: Servers, database: str) -> Iterator[tuple[ConnectClickHouse, Snapshot]]:
    name = f"{database}_snapshot"
    store = ConnectClickHouse.connect(servers.clickhouse_url, database=name, user="default", password="")
    migrate(store, "metrics", database=name)
    rows = _rows(random.Random(5))
    store.insert_rows("indicators", rows[::2], COLUMNS)  # two inserts: parts whose rows interleave
    store.insert_rows("indicators", rows[1::2], COLUMNS)
    snapshot = load(store, 10_000_000)
    assert snapshot is not None and snapshot.rows == len(rows)
    yield store, snapshot
    store.command(f"DROP DATABASE IF EXISTS {name}")
    store.close()


def _queries() -> list[str]:
    rng = random.Random(11)
    fixed = ["limit=7", "format=csv&limit=9", "slice=a%2Cb&slice=%C3%A9", "category=&format=csv", "from=2024-03-01"]
    drawn = []
    for _ in range(40):
        params = [("limit", str(rng.choice((1, 4, 30, 1000))))]
        for name, values in (
            ("indicator", ("hires", "pay_median")),
            ("period_kind", ("month", "year")),
            ("dimension", ("org", "gender")),
            ("slice", TEXTS),
            ("category", TEXTS),
        ):
            if rng.random() < 0.5:
                params += [(name, v) for v in rng.sample(values, rng.choice((1, 2)))]
        if rng.random() < 0.4:
            params.append(("from", rng.choice(("2023-06-01", "2024-01-01", "2025-12-01"))))
        if rng.random() < 0.3:
            params.append(("format", "csv"))
        drawn.append(str(QueryParams(params)))
    return fixed + drawn


def _same(ours: Answer, theirs: Answer, csv: bool) -> None:
    assert ours.headers == theirs.headers
    if csv:
        assert ours.body == theirs.body
    else:
        assert json.loads(ours.body) == json.loads(theirs.body)


@pytest.mark.parametrize("query", _queries())
def test_every_page_and_next_page_is_what_clickhouse_answers(
    table: tuple[ConnectClickHouse, Snapshot], query: str
) -> None:
    store, snapshot = table
    target: str | None = f"/indicators?{query}"
    for _ in range(4):
        if target is None:
            break
        path, _, text = target.partition("?")
        params = QueryParams(text)
        built = build_query(params)
        theirs = render_page(store, built, path, params)
        ours = snapshot_page(snapshot, built, path, params)
        _same(ours, theirs, built.format == "csv")
        target = dict(theirs.headers).get("Link", "")[1:].split(">")[0] or None
