"""The metrics read API without a server: paging, validation, CSV safety, OpenAPI coverage, and the routes driven
through ASGI with a store double (HEAD, 503, nosniff, off the event loop)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import pytest
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, TypeAdapter
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.routing import Route
from starlette.types import Message

from services.common.clickhouse import ClickHouse
from services.common.errors import StoreRejected, StoreUnavailable
from services.common.http import build_app, operator_routes
from services.metrics import pages
from services.metrics.api import (
    DEFAULT_LIMIT,
    FIELDS,
    KEY,
    MAX_LIMIT,
    OPENAPI,
    PARAMETERS,
    Answer,
    AnswerCache,
    ApiThreads,
    BadRequest,
    as_csv,
    as_records,
    build_query,
    decode_cursor,
    encode_cursor,
    json_answer,
    json_rows,
    key_of,
    next_url,
    page_of,
    routes,
    status_of,
    unit_levels,
)
from services.metrics.catalog import BY_NAME, DIMENSIONS, PERIOD_KINDS, TOPICS
from services.metrics.openapi import BadRequestBody, CatalogEntry, IndicatorPage, Labels, OrgUnit, Status
from services.metrics.queries import FacetsQuery, IndicatorsQuery, openapi_parameters


def _row(indicator: str = "hires", slice_: str = "all", value: float | None = 1.0, period: int = 1) -> tuple[Any, ...]:
    return (indicator, "month", date(2024, period, 1), "all", slice_, "", value, value, 2.0, 7, 0, "")


# --- query building and paging ---------------------------------------------------------------------------------


def test_the_default_page_is_bounded_and_asks_for_one_row_more_to_see_a_next_page() -> None:
    query = build_query(QueryParams(""))
    assert (query.limit, query.bound["limit"], query.format) == (DEFAULT_LIMIT, DEFAULT_LIMIT + 1, "json")
    assert query.sql.endswith(f"ORDER BY {', '.join(KEY)} LIMIT %(limit)s")
    assert build_query(QueryParams(f"limit={MAX_LIMIT}")).bound["limit"] == MAX_LIMIT + 1
    with pytest.raises(BadRequest, match="limit: must be between 1 and 100000"):
        build_query(QueryParams(f"limit={MAX_LIMIT + 1}"))


def test_a_cursor_survives_the_round_trip_and_is_bound_not_formatted() -> None:
    key = ("pay_median", "month", "org", "园区'; DROP TABLE x --", "", date(2024, 2, 1))
    token = encode_cursor(key)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor(token) == key
    query = build_query(QueryParams([("indicator", "pay_median"), ("cursor", token)]))
    assert "DROP" not in query.sql
    assert query.bound["after_slice"] == key[3] and query.bound["after_period"] == key[5]
    assert "(indicator > %(after_indicator)s)" in query.sql
    assert "category = %(after_category)s AND period > %(after_period)s)" in query.sql


@pytest.mark.parametrize(
    "token",
    [
        "not a cursor",
        "%%%",
        encode_cursor(("a", "b", "c", "d", "e", date(2024, 1, 1)))[:-3],  # cut short
        "eyJhZnRlciI6WzEsMiwzXX0",  # {"after":[1,2,3]}
        "eyJiZWZvcmUiOltdfQ",  # {"before":[]}
        "WzFd",  # [1]
        "eyJhZnRlciI6WyJhIiwiYiIsImMiLCJkIiwiZSIsIm5vdC1hLWRhdGUiXX0",  # the period not a date
    ],
)
def test_a_bad_cursor_is_a_bad_request(token: str) -> None:
    with pytest.raises(BadRequest, match="cursor: not a cursor this API gave out") as caught:
        build_query(QueryParams([("cursor", token)]))
    assert caught.value.parameter == "cursor"


def test_a_page_with_a_row_beyond_it_points_at_the_next_one_and_the_last_page_does_not() -> None:
    rows = [_row(period=m) for m in (1, 2, 3)]
    page = page_of(rows, 2)
    assert [r["period"] for r in page.records] == ["2024-01-01", "2024-02-01"]
    assert page.next is not None and decode_cursor(page.next) == key_of(rows[1])
    assert page_of(rows, 3).next is None
    assert page_of([], 3).next is None and page_of([], 3).records == []


def test_the_next_url_keeps_every_filter_and_replaces_the_cursor() -> None:
    params = QueryParams("indicator=hires&indicator=separations&slice=%3C25&category=&format=csv&cursor=old")
    url = next_url("/indicators", params, "NEW")
    parts = urlsplit(url)
    assert parts.path == "/indicators" and not parts.netloc
    assert parse_qsl(parts.query, keep_blank_values=True) == [
        ("indicator", "hires"),
        ("indicator", "separations"),
        ("slice", "<25"),
        ("category", ""),
        ("format", "csv"),
        ("cursor", "NEW"),
    ]


def test_key_of_reads_the_order_by_key_from_a_row_in_field_order() -> None:
    row = ("hires", "year", date(2023, 1, 1), "gender", "female", "", 3.0, None, None, 3, 0, "")
    assert dict(zip(FIELDS, row, strict=True))["slice"] == "female"
    assert key_of(row) == ("hires", "year", "gender", "female", "", date(2023, 1, 1))


# --- validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "parameter", "accepted"),
    [
        ("dimension=district", "dimension", list(DIMENSIONS)),
        ("period_kind=quarter", "period_kind", list(PERIOD_KINDS)),
        ("period_kind=month&period_kind=week", "period_kind", list(PERIOD_KINDS)),
        ("format=xlsx", "format", ["json", "csv"]),
        ("indicator=nope", "indicator", list(BY_NAME)),
        ("indicators=hires", "indicators", list(PARAMETERS)),
        ("limit=5&pagesize=5", "pagesize", list(PARAMETERS)),
    ],
)
def test_unknown_values_and_names_say_which_parameter_and_what_it_accepts(
    query: str, parameter: str, accepted: list[str]
) -> None:
    with pytest.raises(BadRequest) as caught:
        build_query(QueryParams(query))
    body = caught.value.body()
    assert body["parameter"] == parameter and body["accepted"] == accepted
    assert body["error"].startswith(parameter) or body["error"].startswith("unknown parameter")


@pytest.mark.parametrize("name", ["from", "to", "format", "limit", "cursor"])
def test_a_single_valued_parameter_given_twice_is_refused(name: str) -> None:
    value = {"from": "2024-01-01", "to": "2024-01-01", "format": "json", "limit": "5", "cursor": "x"}[name]
    with pytest.raises(BadRequest, match=f"{name}: given 2 times"):
        build_query(QueryParams([(name, value), (name, value)]))


def test_the_accepted_dimensions_and_period_kinds_are_the_catalogs() -> None:
    for dimension in DIMENSIONS:
        assert build_query(QueryParams([("dimension", dimension)])).bound["dimension"] == [dimension]
    for kind in PERIOD_KINDS:
        assert build_query(QueryParams([("period_kind", kind)])).bound["period_kind"] == [kind]


# --- CSV safety ------------------------------------------------------------------------------------------------

HOSTILE = ["+cmd|' /C calc'!A0", "@SUM(1+1)", '=HYPERLINK("http://x","y")', "-1+2", "\tx", "\rx"]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_text_cell_a_spreadsheet_would_run_is_neutralised(text: str) -> None:
    row = ("hires", "month", date(2024, 1, 1), "org", text, text, 1.0, 1.0, 1.0, 5, 0, "")
    (record,) = csv.DictReader(io.StringIO(as_csv(as_records([row])), newline=""))
    assert record["slice"] == "'" + text and record["category"] == "'" + text
    assert record["indicator"] == "hires" and record["value"] == "1.0"


def test_negative_numbers_stay_numbers_and_harmless_text_is_untouched() -> None:
    row = ("pay_gap_mean", "year", date(2024, 1, 1), "age_band", "<25", "", -12.5, -1.0, -8.0, 9, 0, "")
    (record,) = csv.DictReader(io.StringIO(as_csv(as_records([row])), newline=""))
    assert (record["value"], record["numerator"], record["denominator"]) == ("-12.5", "-1.0", "-8.0")
    assert record["slice"] == "<25" and record["category"] == ""


# --- status ----------------------------------------------------------------------------------------------------


def test_status_before_the_first_refresh_is_nulls_and_k() -> None:
    assert status_of([], 5) == {"as_of": None, "refreshed_at": None, "events_seen_to": None, "k": 5}


def test_status_times_are_utc_with_z_and_the_epoch_means_no_events_seen() -> None:
    refreshed = datetime(2024, 7, 1, 4, 5, 6, 789000, tzinfo=UTC)
    assert status_of([(date(2024, 6, 30), refreshed, datetime(1970, 1, 1, tzinfo=UTC))], 3) == {
        "as_of": "2024-06-30",
        "refreshed_at": "2024-07-01T04:05:06.789Z",
        "events_seen_to": None,
        "k": 3,
    }
    naive = datetime(2024, 7, 1, 4, 5, 6)  # noqa: DTZ001 - what a driver may hand back for a UTC column
    assert status_of([(date(2024, 6, 30), naive, naive)], 3)["events_seen_to"] == "2024-07-01T04:05:06.000Z"


# --- OpenAPI ---------------------------------------------------------------------------------------------------


async def _ok() -> tuple[bool, str]:
    return True, ""


def _service_paths() -> set[str]:
    """Every path the metrics service serves, assembled as services/metrics/app.py does."""
    served = [
        *operator_routes(live=_ok, ready=_ok, registry=CollectorRegistry()),
        *routes(_Store(), k=5),
        *pages.routes(cast(ClickHouse, _Store())),  # the pages only ask query_rows
    ]
    return {route.path for route in served if isinstance(route, Route)}


def test_every_route_of_the_service_is_in_the_openapi_document() -> None:
    assert {route.path for route in routes(_Store(), k=5)} <= set(OPENAPI["paths"])
    assert _service_paths() <= set(OPENAPI["paths"])
    assert "analyst pages (HTML)" in OPENAPI["paths"]["/"]["get"]["summary"]
    assert "analyst pages (HTML)" in OPENAPI["paths"]["/pages/{page}"]["get"]["summary"]


def _indicator_parameters() -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in OPENAPI["paths"]["/indicators"]["get"]["parameters"]}


def test_the_parameters_build_query_accepts_are_the_documented_ones() -> None:
    documented = _indicator_parameters()
    assert set(documented) == set(PARAMETERS)
    for name, parameter in documented.items():  # each documented example is accepted
        example = parameter["example"]
        build_query(QueryParams([(name, v) for v in (example if isinstance(example, list) else [example])]))
    with pytest.raises(BadRequest, match="unknown parameter"):
        build_query(QueryParams("offset=10"))


def test_the_documented_enums_limits_and_errors_are_the_real_ones() -> None:
    documented = _indicator_parameters()
    assert documented["dimension"]["schema"]["items"]["enum"] == list(DIMENSIONS)
    assert documented["period_kind"]["schema"]["items"]["enum"] == list(PERIOD_KINDS)
    assert documented["indicator"]["schema"]["items"]["enum"] == list(BY_NAME)
    assert documented["format"]["schema"]["enum"] == ["json", "csv"]
    limit = documented["limit"]["schema"]
    assert (limit["default"], limit["maximum"]) == (DEFAULT_LIMIT, MAX_LIMIT)
    responses = OPENAPI["paths"]["/indicators"]["get"]["responses"]
    assert {"200", "400", "503"} <= set(responses)
    assert "Retry-After" in responses["503"]["headers"]
    for path in ("/indicators/status", "/org-units"):
        assert "503" in OPENAPI["paths"][path]["get"]["responses"]
    refs = json.dumps(OPENAPI).count("#/components/schemas/")
    assert refs and all(
        ref.split("/")[-1] in OPENAPI["components"]["schemas"]
        for ref in _refs(OPENAPI)  # every $ref resolves
    )


def test_the_documented_parameters_are_the_query_models() -> None:
    assert OPENAPI["paths"]["/indicators"]["get"]["parameters"] == openapi_parameters(IndicatorsQuery)
    assert OPENAPI["paths"]["/indicators"]["head"]["parameters"] == openapi_parameters(IndicatorsQuery)
    assert OPENAPI["paths"]["/indicators/facets"]["get"]["parameters"] == openapi_parameters(FacetsQuery)
    documented = _indicator_parameters()
    assert documented["from"]["schema"] == {"type": "string", "format": "date"}  # absent, never null
    assert documented["indicator"]["style"] == "form" and documented["indicator"]["explode"] is True
    assert (
        not documented["limit"]["required"]
        and OPENAPI["paths"]["/indicators/facets"]["get"]["parameters"][0]["required"]
    )


async def test_every_json_answer_is_what_the_document_says() -> None:
    """The answer models of /openapi.json against the routes' real answers (ClickHouse writes the pages)."""
    refreshed = datetime(2024, 7, 1, tzinfo=UTC)
    unit = ("D1", "", "district", "宝山区", "Baoshan", "none", "D1", "")
    cases: list[tuple[_Store, str, str, int, Any]] = [
        (_Store([_row(period=m, value=None) for m in (1, 2, 3)]), "/indicators", "limit=2", 200, IndicatorPage),
        (_Store([(date(2024, 6, 30), refreshed, refreshed)]), "/indicators/status", "", 200, Status),
        (_Store(), "/indicators/status", "", 200, Status),
        (_Store(), "/indicators/catalog", "", 200, list[CatalogEntry]),
        (_Store(), "/indicators/labels", "", 200, Labels),
        (_Store([unit]), "/org-units", "", 200, list[OrgUnit]),
        (_Store(), "/indicators", "limit=0", 400, BadRequestBody),
        (_Store(), "/indicators", "nope=1", 400, BadRequestBody),
    ]
    for store, path, query, expected, model in cases:
        status, _, body = await _call(store, "GET", path, query)
        assert status == expected, (path, query)
        if isinstance(model, type) and issubclass(model, BaseModel):
            model.model_validate_json(body, strict=True)
        else:
            TypeAdapter(model).validate_json(body, strict=True)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


# --- the routes over ASGI, with a store double -----------------------------------------------------------------


class _Store:
    """Answers canned rows per table (or raises `error`) and records the thread of each call."""

    def __init__(self, rows: list[tuple[Any, ...]] | None = None, error: Exception | None = None) -> None:
        self.rows = rows or []
        self.error = error
        self.calls: list[tuple[str, str]] = []

    def query_rows(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        self.calls.append((sql, threading.current_thread().name))
        if self.error is not None:
            raise self.error
        limit = (parameters or {}).get("limit")
        return self.rows[:limit] if limit else self.rows

    def query_bytes(
        self,
        sql: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        fmt: str,
        settings: Mapping[str, Any] | None = None,
    ) -> bytes:
        """The rows as ClickHouse's JSONEachRow writes them (one object a line, the period ISO, `suppressed` a Bool)."""
        assert fmt == "JSONEachRow"
        lines = []
        for row in self.query_rows(sql, parameters):
            record = dict(zip(FIELDS, row, strict=True))
            record["period"], record["suppressed"] = record["period"].isoformat(), bool(record["suppressed"])
            lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        return "".join(lines).encode()


def _app(store: _Store, **options: Any) -> Starlette:
    operator = operator_routes(live=_ok, ready=_ok, registry=CollectorRegistry())
    return build_app([*operator, *routes(store, k=5, **options)])


async def _call(store: _Store, method: str, path: str, query: str = "") -> tuple[int, dict[str, str], bytes]:
    return await _request(_app(store), method, path, query)


async def _request(app: Starlette, method: str, path: str, query: str = "") -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    sent: list[Message] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    with contextlib.suppress(RuntimeError):  # Starlette re-raises after answering 500; the answer is checked
        await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body


async def test_head_checks_the_parameters_and_answers_headers_without_running_the_query() -> None:
    store = _Store([_row()])
    status, headers, body = await _call(store, "HEAD", "/indicators", "format=csv&indicator=hires")
    assert (status, body, store.calls) == (200, b"", [])
    assert headers["content-type"].startswith("text/csv")
    assert headers["content-disposition"] == 'attachment; filename="indicators.csv"'
    assert (await _call(store, "HEAD", "/indicators", "dimension=district"))[0] == 400
    assert store.calls == []


async def test_clickhouse_away_is_a_503_json_with_retry_after_on_every_route_that_reads_it() -> None:
    store = _Store(error=StoreUnavailable("ClickHouse unreachable during query: refused"))
    for path in ("/indicators", "/indicators/status", "/org-units"):
        status, headers, body = await _call(store, "GET", path)
        assert (status, headers["retry-after"], headers["content-type"]) == (503, "5", "application/json")
        assert "unavailable" in json.loads(body)["error"]
    refused = await _call(_Store(error=StoreRejected("bad SQL")), "GET", "/indicators")
    assert refused[0] == 500 and json.loads(refused[2]) == {"error": "ClickHouse refused the query"}


async def test_every_answer_says_nosniff_errors_included() -> None:
    class Broken(_Store):
        def query_rows(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
            raise RuntimeError("a bug")

    for path in ("/health", "/ready", "/metrics", "/indicators", "/indicators/catalog", "/nowhere", "/openapi.json"):
        assert (await _call(_Store(), "GET", path))[1]["x-content-type-options"] == "nosniff", path
    assert (await _call(_Store(), "GET", "/indicators", "bad=1"))[1]["x-content-type-options"] == "nosniff"
    status, headers, _ = await _call(Broken(), "GET", "/indicators")
    assert (status, headers["x-content-type-options"]) == (500, "nosniff")


async def test_a_page_answers_rows_count_and_next_and_clickhouse_is_asked_off_the_event_loop() -> None:
    store = _Store([_row(period=m) for m in range(1, 13)])
    status, headers, body = await _call(store, "GET", "/indicators", "indicator=hires&limit=5")
    answer = json.loads(body)
    assert (status, answer["count"], len(answer["rows"])) == (200, 5, 5)
    assert answer["next"].startswith("/indicators?indicator=hires&limit=5&cursor=")
    assert headers["link"] == f'<{answer["next"]}>; rel="next"'
    assert store.calls and all(thread != threading.main_thread().name for _, thread in store.calls)
    status, headers, body = await _call(store, "GET", "/indicators", "format=csv&limit=20")
    assert "link" not in headers and headers["content-disposition"] == 'attachment; filename="indicators.csv"'
    assert body.decode().count("\r\n") == 13


async def test_a_bad_request_names_the_parameter_as_json() -> None:
    status, _, body = await _call(_Store(), "GET", "/indicators", "dimension=district")
    assert status == 400 and json.loads(body)["accepted"] == list(DIMENSIONS)


def test_the_pages_scope_of_org_units_is_the_published_levels_and_those_above() -> None:
    assert unit_levels("all", {"district", "street"}) == ("district", "street", "second_tier")
    assert unit_levels("published", {"district", "street"}) == ("district", "street")
    assert unit_levels("published", {"district"}) == ("district",)
    assert unit_levels("published", {"district", "second_tier"}) == ("district", "street", "second_tier")
    assert unit_levels("published", ()) == ("district", "street", "second_tier")
    with pytest.raises(BadRequest) as refused:
        unit_levels("mine", {"district"})
    assert refused.value.body()["accepted"] == ["all", "published"]


async def test_org_units_asks_only_for_the_levels_of_its_scope_and_refuses_others() -> None:
    store = _Store([("D1", "", "district", "宝山区", "Baoshan", "none", "D1", "")])
    app = _app(store, org_levels={"district"})
    code, _, _ = await _request(app, "GET", "/org-units", "scope=published")
    assert code == 200 and "WHERE level IN" in store.calls[-1][0]
    for query, parameter in (("scope=mine", "scope"), ("level=district", "level")):
        code, _, body = await _request(app, "GET", "/org-units", query)
        assert code == 400 and json.loads(body)["parameter"] == parameter, body


async def test_status_labels_catalog_and_org_units_answer_json() -> None:
    refreshed = datetime(2024, 7, 1, tzinfo=UTC)
    status = json.loads(
        (await _call(_Store([(date(2024, 6, 30), refreshed, refreshed)]), "GET", "/indicators/status"))[2]
    )
    assert status == {
        "as_of": "2024-06-30",
        "refreshed_at": "2024-07-01T00:00:00.000Z",
        "events_seen_to": "2024-07-01T00:00:00.000Z",
        "k": 5,
    }
    labels = json.loads((await _call(_Store(), "GET", "/indicators/labels"))[2])
    assert set(labels["dimensions"]) == set(DIMENSIONS) and labels["published_facts"]
    catalog = json.loads((await _call(_Store(), "GET", "/indicators/catalog"))[2])
    assert {entry["topic"] for entry in catalog} == set(TOPICS) and len(catalog) == len(BY_NAME)
    unit = ("D1", "", "district", "宝山区", "Baoshan", "none", "D1", "")
    units = json.loads((await _call(_Store([unit]), "GET", "/org-units"))[2])
    assert units == [
        {
            "unit_id": "D1",
            "parent_id": "",
            "level": "district",
            "name_zh": "宝山区",
            "name_en": "Baoshan",
            "service_model": "none",
            "district_id": "D1",
            "street_id": "",
        }
    ]


# --- concurrency: the API's own threads, kept answers, /health never behind a query -----------------------------


def test_a_json_page_is_the_rows_clickhouse_wrote_and_the_last_ones_key_when_more_follow() -> None:
    raw = _Store([_row(period=m, slice_="a\nb") for m in range(1, 4)]).query_bytes("", fmt="JSONEachRow")
    rows, last = json_rows(raw, 2)
    assert [json.loads(r)["period"] for r in rows] == ["2024-01-01", "2024-02-01"]
    assert last == ("hires", "month", "all", "a\nb", "", "2024-02-01")
    assert decode_cursor(encode_cursor(last))[-1] == date(2024, 2, 1)
    assert json_rows(raw, 3) == (raw.rstrip(b"\n").split(b"\n"), None)
    assert json_rows(b"", 5) == ([], None)
    body = json.loads(json_answer(rows, "/indicators?cursor=x").body)
    assert (body["count"], body["next"], body["rows"][0]["suppressed"]) == (2, "/indicators?cursor=x", False)


def _answer(text: str) -> Answer:
    return Answer(text.encode(), "application/json")


async def test_an_answer_is_kept_until_invalidated_and_one_asked_before_is_not_kept_after() -> None:
    cache = AnswerCache(1_000)
    made: list[str] = []

    async def make() -> Answer:
        made.append("query")
        return _answer(f"v{len(made)}")

    assert (await cache.answer("/a", make)).body == b"v1"
    assert (await cache.answer("/a", make)).body == b"v1" and (cache.hits, cache.misses) == (1, 1)
    release = asyncio.Event()

    async def slow() -> Answer:
        await release.wait()
        return _answer("old")

    cache.invalidate()
    pending = asyncio.ensure_future(cache.answer("/a", slow))
    await asyncio.sleep(0)  # the fill has started
    cache.invalidate()  # a publish while it runs
    release.set()
    assert (await pending).body == b"old"  # its caller gets it ...
    assert (await cache.answer("/a", make)).body == b"v2"  # ... but it is not kept


async def test_concurrent_misses_of_one_target_share_one_query_and_errors_are_not_kept() -> None:
    cache = AnswerCache(1_000)
    calls = 0
    release = asyncio.Event()

    async def make() -> Answer:
        nonlocal calls
        calls += 1
        await release.wait()
        if calls == 1:
            raise StoreUnavailable("away")
        return _answer("ok")

    waiting = [asyncio.ensure_future(cache.answer("/a", make)) for _ in range(20)]
    await asyncio.sleep(0)
    release.set()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert calls == 1 and all(isinstance(o, StoreUnavailable) for o in outcomes)
    assert (await cache.answer("/a", make)).body == b"ok" and calls == 2


async def test_what_is_kept_is_bounded_in_bytes_and_in_age() -> None:
    now = [0.0]
    cache = AnswerCache(40, seconds=60, clock=lambda: now[0])

    async def of(text: str) -> Answer:
        return await cache.answer(text, lambda: asyncio.sleep(0, _answer(text * 10)))

    for name in ("a", "b", "c", "d"):
        await of(name)  # 10 bytes each: all kept
    await of("a")  # a hit: now the most recently used
    await of("e")  # 50 bytes > 40: the least recently used go first
    assert cache.misses == 5 and cache.hits == 1
    await of("a")
    assert cache.hits == 2
    await of("b")
    assert cache.misses == 6  # b was evicted
    big = await cache.answer("big", lambda: asyncio.sleep(0, _answer("x" * 11)))  # above a quarter: never kept
    assert (await cache.answer("big", lambda: asyncio.sleep(0, big))) and cache.misses == 8
    now[0] = 61.0
    await of("a")
    assert cache.misses == 9  # too old


class _Blocking(_Store):
    """Holds every query until `release` is set; says on the event loop how many are held."""

    def __init__(self, rows: list[tuple[Any, ...]], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(rows)
        self.release = threading.Event()
        self.held = 0
        self.changed = asyncio.Event()
        self._loop = loop

    def query_rows(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        self.calls.append((sql, threading.current_thread().name))
        self._loop.call_soon_threadsafe(self._one_more)
        assert self.release.wait(10)
        limit = (parameters or {}).get("limit")
        return self.rows[:limit] if limit else self.rows

    def _one_more(self) -> None:
        self.held += 1
        self.changed.set()


async def test_queries_run_on_the_apis_threads_and_health_asks_nothing_while_they_are_all_busy() -> None:
    store = _Blocking([_row()], asyncio.get_running_loop())
    threads = ApiThreads(2)
    app = _app(store, threads=threads, cache=AnswerCache(1_000_000))
    try:
        asked = [asyncio.ensure_future(_request(app, "GET", "/indicators", f"limit={n + 1}")) for n in range(20)]
        while store.held < 2:  # both threads hold a query; 18 requests wait their turn
            store.changed.clear()
            await asyncio.wait_for(store.changed.wait(), 10)
        assert (await _request(app, "GET", "/health"))[0] == 200
        assert (await _request(app, "GET", "/indicators/catalog"))[0] == 200
        assert len(store.calls) == 2 and not any(a.done() for a in asked)  # /health asked nothing, waited for none
        store.release.set()
        assert [status for status, _, _ in await asyncio.gather(*asked)] == [200] * 20
        assert {thread.rsplit("_", 1)[0] for _, thread in store.calls} == {"metrics-api"}
    finally:
        store.release.set()
        threads.shutdown()


async def test_a_kept_answer_is_served_without_asking_clickhouse_until_invalidated() -> None:
    store = _Store([_row(period=m) for m in range(1, 4)])
    cache = AnswerCache(1_000_000)
    app = _app(store, cache=cache)
    first = await _request(app, "GET", "/indicators", "indicator=hires")
    assert await _request(app, "GET", "/indicators", "indicator=hires") == first and len(store.calls) == 1
    await _request(app, "GET", "/indicators", "indicator=hires&format=csv")  # another target
    assert len(store.calls) == 2
    cache.invalidate()
    await _request(app, "GET", "/indicators", "indicator=hires")
    assert len(store.calls) == 3
    units = _Store([("D1", "", "district", "宝山区", "Baoshan", "none", "D1", "")])
    app = _app(units, cache=cache)
    assert await _request(app, "GET", "/org-units") == await _request(app, "GET", "/org-units")
    assert len(units.calls) == 1
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    log = _Store([(date(2026, 1, 2), moment, moment)])
    app = _app(log, cache=cache)
    status = await _request(app, "GET", "/indicators/status")
    assert json.loads(status[2])["refreshed_at"] == "2026-01-02T03:04:05.000Z"
    assert await _request(app, "GET", "/indicators/status") == status and len(log.calls) == 1
    cache.invalidate()  # after a refresh that logged a row
    await _request(app, "GET", "/indicators/status")
    assert len(log.calls) == 2


async def test_a_facets_answer_is_kept_with_the_apis_answers_and_asked_again_after_a_publish() -> None:
    """Every topic page asks for its indicator's facets first: kept until the service invalidates its answers,
    asked of ClickHouse on the API's threads, and a 503 (ClickHouse away) is never kept."""
    store = _Store([("month", "all", [""], date(2024, 1, 1), date(2024, 12, 1))])
    cache, threads = AnswerCache(1_000_000), ApiThreads(1)
    app = build_app(pages.routes(cast(ClickHouse, store), cache=cache, threads=threads))
    try:
        first = await _request(app, "GET", "/indicators/facets", "indicator=hires")
        assert first[0] == 200 and json.loads(first[2])["period_kinds"]["month"]["to"] == "2024-12-01"
        assert await _request(app, "GET", "/indicators/facets", "indicator=hires") == first
        assert len(store.calls) == 1 and store.calls[0][1].startswith("metrics-api")
        assert (await _request(app, "GET", "/indicators/facets", "indicator=separation_rate"))[0] == 200
        assert len(store.calls) == 2
        cache.invalidate()
        store.error = StoreUnavailable("ClickHouse unreachable during query: refused")
        assert (await _request(app, "GET", "/indicators/facets", "indicator=hires"))[0] == 503
        store.error = None
        assert await _request(app, "GET", "/indicators/facets", "indicator=hires") == first
        assert len(store.calls) == 4
    finally:
        threads.shutdown()


async def test_a_kept_answer_is_found_by_the_target_alone_and_a_refused_one_never_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A hit is served before the parameters are parsed (they were valid when it was kept: same bytes); a HEAD,
    a 400 or an error is never served from, nor kept in, the cache."""
    import services.metrics.api as api

    parsed: list[str] = []
    real = api.build_query

    def counting(params: QueryParams) -> Any:
        parsed.append(str(params))
        return real(params)

    monkeypatch.setattr(api, "build_query", counting)
    store = _Store([_row(period=m) for m in range(1, 4)])
    app = _app(store, cache=AnswerCache(1_000_000))
    first = await _request(app, "GET", "/indicators", "indicator=hires&limit=2")
    assert await _request(app, "GET", "/indicators", "indicator=hires&limit=2") == first
    assert (len(parsed), len(store.calls)) == (1, 1)
    head = await _request(app, "HEAD", "/indicators", "indicator=hires&limit=2")
    assert (head[0], head[2], len(parsed)) == (200, b"", 2)  # HEAD is parsed, and answers no body
    assert await _request(app, "GET", "/indicators", "indicator=hires&limit=2&limit=2") != first  # other bytes
    for _ in range(2):
        assert (await _request(app, "GET", "/indicators", "limit=0"))[0] == 400
    assert len(parsed) == 5
