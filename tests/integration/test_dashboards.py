"""The Grafana dashboards: committed JSON equals the generator's output, and every ClickHouse panel's SQL,
expanded as the grafana-clickhouse-datasource plugin would, runs against real indicators computed from a small
simulated program and returns the columns its panel reads and some rows."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client

from deploy.grafana import generate, macros
from services.common.clickhouse import ConnectClickHouse
from services.common.migrations import migrate
from services.metrics.catalog import BY_NAME, CATEGORIES, REASONS
from services.metrics.engine import EventRecord, IndicatorRow, ReferenceWage, compute
from services.metrics.publish import COLUMNS
from services.sim import SimConfig
from services.sim import generate as simulate

from .servers import Servers

FROM, TO = date(2019, 1, 1), date(2023, 6, 30)
CONFIG = SimConfig(workers=150, start_year=2019, end=TO, seed=7, scenario=False)
INDICATOR_COLUMNS = COLUMNS
ORG_COLUMNS = ("unit_id", "parent_id", "level", "name_zh", "name_en", "service_model", "district_id", "street_id")
# Org unit ids (and names) an upstream system could register: Grafana puts the chosen id into the panels' SQL.
HOSTILE = ("1' OR '1'='1", "x\\' OR 1=1 -- ", "tail\\")
ALL_VALUES = {
    "district": generate.ALL,
    "street": generate.ALL,
    "service_model": generate.ALL,
    "source_channel": generate.ALL,
}


def test_committed_dashboards_are_the_generated_ones() -> None:
    committed = {p.relative_to(generate.OUT): p.read_text(encoding="utf-8") for p in generate.OUT.rglob("*.json")}
    expected = generate.rendered()
    assert sorted(committed) == sorted(expected), "run `python -m deploy.grafana.generate`"
    for path, text in expected.items():
        assert committed[path] == text, f"{path} is stale: run `python -m deploy.grafana.generate`"


def test_both_languages_have_the_same_panels() -> None:
    files = generate.rendered()
    for dashboard in generate.DASHBOARDS:
        zh, en = (files[Path(lang) / f"{dashboard.key}.json"] for lang in generate.LANGS)
        assert zh != en
        assert zh.count('"type": "timeseries"') == en.count('"type": "timeseries"')


@dataclass(frozen=True)
class Loaded:
    client: Client
    choices: Mapping[str, str]  # one real value per variable
    hostile: Mapping[str, list[str]]  # district / street: hostile unit ids holding a copy of the chosen unit's cells


def sim_records() -> tuple[list[EventRecord], list[dict[str, Any]]]:
    events = list(simulate(CONFIG))
    records = [
        EventRecord(
            e["event_id"],
            e["event_type"],
            datetime.fromisoformat(e["occurred_at"]),
            datetime.fromisoformat(e["emitted_at"]),
            e["worker_id"] or "",
            e["data"],
        )
        for e in events
    ]
    units = [e["data"] for e in events if e["event_type"].startswith("org.")]
    return records, units


def org_rows(units: list[dict[str, Any]], now: datetime) -> list[tuple[Any, ...]]:
    latest = {u["unit_id"]: u for u in sorted(units, key=lambda u: u["effective_date"])}

    def ancestor(unit_id: str, level: str) -> str:
        seen: set[str] = set()
        current: str = unit_id
        while current in latest and current not in seen:
            seen.add(current)
            if latest[current]["level"] == level:
                return current
            current = latest[current]["parent_id"] or ""
        return ""

    return [
        (
            u["unit_id"],
            u["parent_id"] or "",
            u["level"],
            u["name_zh"],
            u["name_en"],
            u["service_model"] or "none",
            ancestor(u["unit_id"], "district"),
            ancestor(u["unit_id"], "street"),
            now,
        )
        for u in latest.values()
    ]


def busiest(rows: list[tuple[Any, ...]], dimension: str, units: set[str] | None = None) -> str:
    """The slice of `dimension` with the most workers in the as-of month's headcount cell."""
    candidates = [
        (r[9], r[4])
        for r in rows
        if r[0] == "headcount_end" and r[1] == "month" and r[3] == dimension and (units is None or r[4] in units)
    ]
    return str(max(candidates)[1])


def astuple_row(r: IndicatorRow) -> tuple[Any, ...]:
    return (
        r.indicator,
        r.period_kind,
        r.period,
        r.dimension,
        r.slice,
        r.category,
        r.value,
        r.numerator,
        r.denominator,
        r.workers,
        int(r.suppressed),
        r.reason,
    )


@pytest.fixture(scope="module")
def loaded(servers: Servers, database: str) -> Iterator[Loaded]:
    name = f"{database}_dash"
    store = ConnectClickHouse.connect(servers.clickhouse_url, database=name, user="default", password="")
    migrate(store, "metrics", database=name)
    records, units = sim_records()
    districts = sorted({u["unit_id"] for u in units if u["level"] == "district"})
    wages = [
        ReferenceWage(region, year, 120_000.0, "test") for region in ["all", *districts] for year in range(2019, 2023)
    ]
    result = compute(records, as_of=TO, k=5, reference_wages=wages)
    now = datetime(2023, 7, 1, tzinfo=UTC)
    # The dashboards filter by district and street union only: other units' cells are never read.
    selectable = {u["unit_id"] for u in units if u["level"] in ("district", "street")}
    used = {"all", "service_model", "source_channel"}
    rows = [
        (*astuple_row(r), now)
        for r in result.rows
        if r.dimension in used or (r.dimension == "org" and r.slice in selectable)
    ]
    for start in range(0, len(rows), 200_000):
        store.insert_rows("indicators", rows[start : start + 200_000], INDICATOR_COLUMNS)
    orgs = org_rows(units, now)
    streets = {o[0] for o in orgs if o[2] == "street"}
    choices = {
        "district": busiest(rows, "org", set(districts)),
        "street": busiest(rows, "org", streets),
        "service_model": busiest(rows, "service_model"),
        "source_channel": busiest(rows, "source_channel"),
    }
    hostile = {"district": [f"d{h}" for h in HOSTILE], "street": [f"s{h}" for h in HOSTILE]}
    twins = [
        (*r[:4], unit, *r[5:])
        for level, units_of_level in hostile.items()
        for unit in units_of_level
        for r in rows
        if r[3] == "org" and r[4] == choices[level]
    ]
    store.insert_rows("indicators", twins, INDICATOR_COLUMNS)
    for district, street in zip(hostile["district"], hostile["street"], strict=True):
        orgs.append((district, "", "district", district, district, "none", district, "", now))
        orgs.append((street, district, "street", street, street, "none", district, street, now))
    store.insert_rows("org_units", orgs, (*ORG_COLUMNS, "computed_at"))
    client = clickhouse_connect.get_client(
        dsn=servers.clickhouse_url.replace("http://", "clickhouse://", 1) + f"/{name}",
        autogenerate_session_id=False,
    )
    yield Loaded(client, choices, hostile)
    client.close()
    store.command(f"DROP DATABASE IF EXISTS {name}")
    store.close()


def expand(sql: str, values: Mapping[str, str]) -> str:
    """What the plugin and Grafana send for the range FROM..TO with these variable values."""
    return macros.expand(sql, values, FROM, TO)


def settings_to_try(choices: Mapping[str, str]) -> list[dict[str, str]]:
    """Every variable at "All", then each variable alone at one real value."""
    return [dict(ALL_VALUES), *({**ALL_VALUES, name: value} for name, value in choices.items())]


QUERIES = generate.clickhouse_queries()


@pytest.mark.parametrize("query", QUERIES, ids=[f"{q.dashboard}-{q.lang}-{q.title}" for q in QUERIES])
def test_panel_sql_runs_and_returns_rows(loaded: Loaded, query: generate.Query) -> None:
    for values in settings_to_try(loaded.choices):
        result = loaded.client.query(expand(query.sql, values))
        assert tuple(result.column_names) == query.columns, values
        assert result.result_rows, f"no rows with {values}"
        if "suppressed" in query.columns:
            value_at, flag_at = query.columns.index("value"), query.columns.index("suppressed")
            assert all(row[value_at] is None for row in result.result_rows if row[flag_at] != 0)
            if "workers" in query.columns:  # a suppressed cell's population is not shown either
                workers_at = query.columns.index("workers")
                assert all(row[workers_at] is None for row in result.result_rows if row[flag_at] != 0)


def test_suppressed_cells_reach_the_panels_as_null(loaded: Loaded) -> None:
    flows = generate.joined(*map(generate.name, ("hires", "separations", "net_change")))("en")
    query = next(q for q in QUERIES if q.dashboard == "retention" and q.title == flows)
    rows = loaded.client.query(expand(query.sql, {**ALL_VALUES, "street": loaded.choices["street"]})).result_rows
    flagged = [row for row in rows if row[3] != 0]
    assert flagged, "a street union of a 150-worker program should have suppressed flow cells"
    assert all(row[2] is None for row in flagged)
    # the flag is the code of the reason: 2 + its place in the catalog's REASONS (1: no reason stated)
    codes = {row[3] for row in flagged}
    assert codes <= set(range(2, 2 + len(REASONS))) and 2 + list(REASONS).index("primary") in codes


def _career_rows(loaded: Loaded, title: generate.Text) -> list[Sequence[Any]]:
    query = next(q for q in QUERIES if q.dashboard == "career" and q.lang == "en" and q.title == title("en"))
    return list(loaded.client.query(expand(query.sql, ALL_VALUES)).result_rows)


def test_the_career_panels_show_the_simulated_grade_changes(loaded: Loaded) -> None:
    """Program-wide: published promotions, a grade mix over several levels summing to 100 % in a month with no
    hidden level, and promoted-within rows for each of the three marks, all named by the catalog."""
    flows = ("promotions", "demotions", "regrades_lateral")
    changes = _career_rows(loaded, generate.joined(*map(generate.name, flows)))
    promotions = [row[2] for row in changes if row[1] == BY_NAME["promotions"].name_en and row[2] is not None]
    assert sum(promotions) > 0
    mix = _career_rows(loaded, generate.name("grade_mix"))
    assert len({row[1] for row in mix if row[2] is not None}) >= 2
    months = {row[0] for row in mix}
    whole = [m for m in months if all(row[3] == 0 for row in mix if row[0] == m)]
    assert whole and all(sum(row[2] for row in mix if row[0] == m) == pytest.approx(100) for m in whole)
    within = _career_rows(loaded, generate.joined(generate.name("promoted_within"), generate.period("year")))
    assert {row[1] for row in within} == {CATEGORIES[mark].en for mark in ("365", "730", "1095")}


VARIABLES = generate.variable_queries()


@pytest.mark.parametrize("query", VARIABLES, ids=[f"{q.lang}-{q.title}" for q in VARIABLES])
def test_variable_queries_list_values(loaded: Loaded, query: generate.Query) -> None:
    for values in (ALL_VALUES, {**ALL_VALUES, "district": loaded.choices["district"]}):
        result = loaded.client.query(expand(query.sql, values))
        assert tuple(result.column_names) == query.columns
        assert result.result_rows


VARIABLE_IN_SQL = re.compile(r"\$\{?(?!__)\w+")
ENCODED = re.compile(r"decodeURLComponent\('\$\{\w+:percentencode\}'\)")


def test_every_variable_reaches_the_sql_percent_encoded() -> None:
    """`${var:percentencode}` leaves only A-Z a-z 0-9 - _ . ~ %: nothing in the value can end the literal."""
    queries = [*QUERIES, *VARIABLES]
    for query in queries:
        assert not VARIABLE_IN_SQL.search(ENCODED.sub("", query.sql)), f"{query.dashboard} {query.title}"
    assert sum(len(ENCODED.findall(q.sql)) for q in queries) > len(QUERIES)


@pytest.mark.parametrize("query", QUERIES, ids=[f"{q.dashboard}-{q.lang}-{q.title}" for q in QUERIES])
def test_hostile_unit_ids_are_values_not_sql(loaded: Loaded, query: generate.Query) -> None:
    """A unit whose id is `1' OR '1'='1` (or ends in a backslash) shows its own cells, no more, no fewer."""
    for level, units in loaded.hostile.items():
        twin = loaded.client.query(expand(query.sql, {**ALL_VALUES, level: loaded.choices[level]})).result_rows
        for unit in units:
            rows = loaded.client.query(expand(query.sql, {**ALL_VALUES, level: unit})).result_rows
            assert len(rows) == len(twin) > 0, (level, unit)


def test_hostile_district_lists_only_its_own_street(loaded: Loaded) -> None:
    for query in (q for q in VARIABLES if q.title == "street"):
        for district, street in zip(loaded.hostile["district"], loaded.hostile["street"], strict=True):
            rows = loaded.client.query(expand(query.sql, {**ALL_VALUES, "district": district})).result_rows
            assert rows == [(street, street)], district
