"""Read API of the metrics service: `GET /indicators` (JSON or CSV, paged), `/indicators/catalog`,
`/indicators/labels`, `/indicators/status`, `/org-units`, `/openapi.json`.

Request values are always bound as query parameters, never formatted into SQL. Every ClickHouse call and every
rendering of its rows runs on the API's own sized pool of threads (never on the event loop, so `/health` is never
queued behind a query); ClickHouse itself writes the rows of a JSON page (JSONEachRow), so the worker threads hold
the GIL little. Answers of `/indicators` and `/org-units` are kept (`AnswerCache`) until the service next publishes.
`StoreUnavailable` becomes a 503 JSON answer with `Retry-After`, never a plain-text 500.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import functools
import io
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final, Protocol, TypeVar
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.common.errors import StoreRejected, StoreUnavailable

from .catalog import BY_NAME, CATALOG, DIMENSIONS, PERIOD_KINDS, REASONS, labels, topic_of
from .publish import COLUMNS, ORG_UNIT_FIELDS

log = logging.getLogger("workforce.metrics.api")

FIELDS: Final = COLUMNS[:-1]
"""Every published column but `computed_at`."""
SELECTED: Final = tuple("toBool(suppressed) AS suppressed" if f == "suppressed" else f for f in FIELDS)
"""FIELDS as selected: `suppressed` as a Bool, so that ClickHouse writes it as JSON true/false."""
JSON_SETTINGS: Final = {"output_format_json_escape_forward_slashes": 0}
"""ClickHouse's JSONEachRow as json.dumps writes it: `/` not escaped (NaN and infinities are null)."""
CACHE_SECONDS: Final = 60.0
"""The longest a kept answer is served: bounds what a writer other than this service (a `rebuild`) leaves stale."""
KEY: Final = ("indicator", "period_kind", "dimension", "slice", "category", "period")
"""The table's ORDER BY key: the order of rows and what a cursor holds."""
TEXT_COLUMNS: Final = frozenset(KEY[:-1])
"""The columns whose CSV cells are neutralised; numbers, dates and flags are written as they are."""
DEFAULT_LIMIT: Final = 10_000
MAX_LIMIT: Final = 100_000
FORMATS: Final = ("json", "csv")
MANY: Final = ("indicator", "period_kind", "dimension", "slice", "category")
"""Parameters that may be given several times (any of the values)."""
ONCE: Final = ("from", "to", "format", "limit", "cursor")
PARAMETERS: Final = (*MANY, *ONCE)
"""Every query parameter `GET /indicators` accepts; any other name is a 400."""
RETRY_AFTER_SECONDS: Final = 5
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet reads a cell starting with one of these as a formula (OWASP CSV injection)."""
ACCEPTED: Final[dict[str, tuple[str, ...]]] = {
    "indicator": tuple(BY_NAME),
    "period_kind": tuple(PERIOD_KINDS),
    "dimension": tuple(DIMENSIONS),
}
"""The parameters whose values are a closed list (the catalog's names); slice and category are open."""
LABEL_TABLES: Final = ("topics", "dimensions", "period_kinds", "org_levels", "categories", "slices", "reasons")
UNIT_FIELDS: Final = ORG_UNIT_FIELDS


class BadRequest(ValueError):
    """A query string the API cannot answer: which parameter, why, and the values it accepts (if a list)."""

    def __init__(self, parameter: str, message: str, accepted: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.accepted = list(accepted)

    def body(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"error": str(self), "parameter": self.parameter}
        if self.accepted:
            answer["accepted"] = self.accepted
        return answer


@dataclass(frozen=True, slots=True)
class Query:
    """One page's SQL and bound values; `bound["limit"]` is one more than the page so a next page shows."""

    sql: str
    bound: dict[str, Any]
    limit: int
    format: str


def build_query(params: QueryParams) -> Query:
    """Query string → one page's SQL with placeholders and its bound values. Pure: tested without a server."""
    _known_names(params)
    where: list[str] = []
    bound: dict[str, Any] = {}
    for key in MANY:
        values = _values(params, key)
        if values:
            where.append(f"{key} IN %({key})s")
            bound[key] = values
    for key, op in (("from", ">="), ("to", "<=")):
        if (raw := _once(params, key)) is not None:
            bound[key] = _date(key, raw)
            where.append(f"period {op} %({key})s")
    if (token := _once(params, "cursor")) is not None:
        where.append(_after(decode_cursor(token), bound))
    fmt = _once(params, "format") or "json"
    if fmt not in FORMATS:
        raise BadRequest("format", f"format: unknown value {fmt!r}; accepted: {', '.join(FORMATS)}", FORMATS)
    limit = _int("limit", _once(params, "limit") or str(DEFAULT_LIMIT), 1, MAX_LIMIT)
    bound["limit"] = limit + 1
    sql = (
        f"SELECT {', '.join(SELECTED)} FROM indicators"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY {', '.join(KEY)} LIMIT %(limit)s"
    )
    return Query(sql, bound, limit, fmt)


def _known_names(params: QueryParams) -> None:
    unknown = sorted({name for name in params if name not in PARAMETERS})
    if unknown:
        raise BadRequest(
            unknown[0],
            f"unknown parameter(s): {', '.join(unknown)}; accepted: {', '.join(PARAMETERS)}",
            PARAMETERS,
        )


def _values(params: QueryParams, key: str) -> list[str]:
    values = params.getlist(key)
    accepted = ACCEPTED.get(key)
    unknown = [v for v in values if accepted is not None and v not in accepted]
    if accepted is not None and unknown:
        see = "; see /indicators/catalog" if key == "indicator" else ""
        raise BadRequest(
            key,
            f"{key}: unknown value(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(accepted)}{see}",
            accepted,
        )
    return values


def _once(params: QueryParams, key: str) -> str | None:
    values = params.getlist(key)
    if len(values) > 1:
        raise BadRequest(key, f"{key}: given {len(values)} times, accepted once")
    return values[0] if values else None


def _date(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(name, f"{name}: expected a date YYYY-MM-DD, got {raw!r}") from None


def _int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(name, f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(name, f"{name}: must be between {low} and {high}, got {value}")
    return value


def _after(key: tuple[Any, ...], bound: dict[str, Any]) -> str:
    """Rows after `key` in KEY order, spelled as comparisons of single key columns so that ClickHouse prunes
    granules with the primary index: a > x OR (a = x AND b > y) OR ..."""
    terms = []
    for i, column in enumerate(KEY):
        bound[f"after_{column}"] = key[i]
        equal = [f"{c} = %(after_{c})s" for c in KEY[:i]]
        terms.append("(" + " AND ".join([*equal, f"{column} > %(after_{column})s"]) + ")")
    return "(" + " OR ".join(terms) + ")"


def encode_cursor(key: tuple[Any, ...]) -> str:
    """The opaque token of a page's last row: urlsafe base64 (unpadded) of `{"after": [...KEY values]}`."""
    values = [v.isoformat() if isinstance(v, date) else v for v in key]
    raw = json.dumps({"after": values}, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[Any, ...]:
    """`encode_cursor`'s key back (the period as a date); anything else is a BadRequest."""
    bad = BadRequest("cursor", "cursor: not a cursor this API gave out; take `next` of the previous page")
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        values = json.loads(raw)["after"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise bad from None
    if not (isinstance(values, list) and len(values) == len(KEY) and all(isinstance(v, str) for v in values)):
        raise bad
    try:
        return (*values[:-1], date.fromisoformat(values[-1]))
    except ValueError:
        raise bad from None


def key_of(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A FIELDS-ordered row's KEY."""
    return tuple(row[FIELDS.index(column)] for column in KEY)


def next_url(path: str, params: QueryParams, token: str) -> str:
    """The relative URL of the next page: the same parameters, the cursor replaced."""
    kept = [(k, v) for k, v in params.multi_items() if k != "cursor"]
    return f"{path}?{urlencode([*kept, ('cursor', token)])}"


def as_records(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        record = dict(zip(FIELDS, row, strict=True))
        record["period"] = record["period"].isoformat()
        record["suppressed"] = bool(record["suppressed"])
        out.append(record)
    return out


def neutralise(text: str) -> str:
    """A text cell a spreadsheet would run as a formula, prefixed with `'` so that it is shown as text."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def as_csv(records: list[dict[str, Any]]) -> str:
    """Records as RFC 4180 CSV (CRLF, so that a field holding a CR or LF is quoted and cannot split a row); text
    columns neutralised, numbers (negative ones too) kept numbers, no value (a suppressed cell) empty."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        writer.writerow(
            {k: ("" if v is None else neutralise(v) if k in TEXT_COLUMNS else v) for k, v in record.items()}
        )
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class Page:
    records: list[dict[str, Any]]
    next: str | None
    """The next page's cursor; None on the last page."""


def page_of(rows: list[tuple[Any, ...]], limit: int) -> Page:
    """At most `limit` rows of a query that asked for `limit + 1`; a row beyond the page means a next page."""
    shown = rows[:limit]
    more = len(rows) > limit
    return Page(as_records(shown), encode_cursor(key_of(shown[-1])) if more else None)


def json_rows(raw: bytes, limit: int) -> tuple[list[bytes], tuple[Any, ...] | None]:
    """JSONEachRow of a query that asked for `limit + 1` rows → the page's rows (one JSON object each) and, when a
    row lies beyond the page, the KEY of its last row (the next page's cursor). ClickHouse escapes every newline
    inside a string, so each line is one row."""
    lines = raw.rstrip(b"\n").split(b"\n") if raw.strip() else []
    shown = lines[:limit]
    if len(lines) <= limit:
        return shown, None
    last = json.loads(shown[-1])
    return shown, tuple(last[column] for column in KEY)


@dataclass(frozen=True, slots=True)
class Answer:
    """A rendered 200 answer; what `AnswerCache` keeps."""

    body: bytes
    media_type: str
    headers: tuple[tuple[str, str], ...] = ()

    def response(self) -> Response:
        return Response(self.body, media_type=self.media_type, headers=dict(self.headers))


def _link(url: str | None) -> tuple[tuple[str, str], ...]:
    return (("Link", f'<{url}>; rel="next"'),) if url else ()


def json_answer(rows: list[bytes], url: str | None) -> Answer:
    """`{rows, count, next}` around rows ClickHouse wrote, with `Link: <next>; rel="next"`."""
    body = b'{"rows":[%b],"count":%d,"next":%b}' % (b",".join(rows), len(rows), _json(url))
    return Answer(body, "application/json", _link(url))


def csv_answer(page: Page, url: str | None) -> Answer:
    """The page as CSV (`as_csv`), an attachment, with `Link: <next>; rel="next"`."""
    disposition = ("Content-Disposition", 'attachment; filename="indicators.csv"')
    return Answer(as_csv(page.records).encode(), "text/csv; charset=utf-8", (*_link(url), disposition))


class IndicatorStore(Protocol):
    """What the read API asks of ClickHouse: rows, or an answer in one of ClickHouse's output formats."""

    def query_rows(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]: ...

    def query_bytes(
        self,
        sql: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        fmt: str,
        settings: Mapping[str, Any] | None = None,
    ) -> bytes: ...


def render_page(store: IndicatorStore, query: Query, path: str, params: QueryParams) -> Answer:
    """One page of `GET /indicators`: JSON written by ClickHouse and wrapped, or CSV rendered here."""
    if query.format == "csv":
        page = page_of(store.query_rows(query.sql, query.bound), query.limit)
        return csv_answer(page, next_url(path, params, page.next) if page.next else None)
    raw = store.query_bytes(query.sql, query.bound, fmt="JSONEachRow", settings=JSON_SETTINGS)
    rows, last = json_rows(raw, query.limit)
    return json_answer(rows, next_url(path, params, encode_cursor(last)) if last else None)


def _json(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def head_response(query: Query) -> Response:
    """Headers of the GET answer without running its query (no length, no Link: they need the rows)."""
    response = Response(media_type="text/csv; charset=utf-8" if query.format == "csv" else "application/json")
    if query.format == "csv":
        response.headers["Content-Disposition"] = 'attachment; filename="indicators.csv"'
    del response.headers["content-length"]
    return response


def status_of(rows: list[tuple[Any, ...]], k: int) -> dict[str, Any]:
    """`GET /indicators/status` from the latest refresh_log row (as_of, refreshed_at, events_seen_to), if any."""
    if not rows:
        return {"as_of": None, "refreshed_at": None, "events_seen_to": None, "k": k}
    as_of, refreshed_at, seen_to = rows[0]
    return {"as_of": as_of.isoformat(), "refreshed_at": _utc(refreshed_at), "events_seen_to": _utc(seen_to), "k": k}


def _utc(moment: datetime) -> str | None:
    """ISO-8601 UTC with a Z; the epoch (what a refresh that saw no events logs) is None."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if aware.timestamp() == 0:
        return None
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Endpoint = Callable[[Request], Awaitable[Response]]


def store_errors(endpoint: Endpoint) -> Endpoint:
    """ClickHouse errors become JSON answers: unavailable → 503 with Retry-After, refused → 500."""

    @functools.wraps(endpoint)
    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except StoreUnavailable as exc:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
            return JSONResponse(
                {"error": f"ClickHouse is unavailable; retry in {RETRY_AFTER_SECONDS} s"},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        except StoreRejected:
            log.exception("%s %s: ClickHouse refused the query", request.method, request.url.path)
            return JSONResponse({"error": "ClickHouse refused the query"}, status_code=500)

    return answer


def catalog_entries() -> list[dict[str, str]]:
    return [
        {
            "indicator": i.name,
            "name_zh": i.name_zh,
            "name_en": i.name_en,
            "unit": i.unit,
            "formula": i.formula,
            "formula_zh": i.formula_zh,
            "standard": i.standard,
            "topic": topic_of(i.name),
        }
        for i in CATALOG
    ]


T = TypeVar("T")


@dataclass(eq=False)
class AnswerCache:
    """Rendered answers by request target (path and query string), kept until `invalidate` (the service calls it
    after every refresh that ran, since a refresh may have published), at most `seconds` old and `max_bytes` in
    all, least recently used out first; an answer above a quarter of `max_bytes` is not kept. Concurrent misses of
    one target share one query. Used from the event loop only (no locks)."""

    max_bytes: int
    seconds: float = CACHE_SECONDS
    clock: Callable[[], float] = time.monotonic
    hits: int = 0
    misses: int = 0
    _entries: OrderedDict[str, tuple[float, Answer]] = field(default_factory=OrderedDict)
    _bytes: int = 0
    _pending: dict[str, asyncio.Future[Answer]] = field(default_factory=dict)
    _generation: int = 0

    def invalidate(self) -> None:
        """Forget every answer; queries already running finish for their callers but are not kept."""
        self._generation += 1
        self._entries.clear()
        self._pending.clear()
        self._bytes = 0

    async def answer(self, target: str, make: Callable[[], Awaitable[Answer]]) -> Answer:
        entry = self._entries.get(target)
        if entry is not None and entry[0] > self.clock():
            self._entries.move_to_end(target)
            self.hits += 1
            return entry[1]
        pending = self._pending.get(target)
        if pending is None:
            self.misses += 1
            pending = asyncio.ensure_future(make())
            self._pending[target] = pending
            generation = self._generation
            pending.add_done_callback(lambda done: self._settle(target, generation, done))
        return await asyncio.shield(pending)  # a caller that goes away does not cancel the others' query

    def _settle(self, target: str, generation: int, done: asyncio.Future[Answer]) -> None:
        if self._pending.get(target) is done:
            del self._pending[target]
        if done.cancelled() or done.exception() is not None or generation != self._generation:
            return
        answer = done.result()
        if self.max_bytes <= 0 or len(answer.body) > self.max_bytes // 4:
            return
        if (old := self._entries.pop(target, None)) is not None:
            self._bytes -= len(old[1].body)
        self._entries[target] = (self.clock() + self.seconds, answer)
        self._bytes += len(answer.body)
        while self._bytes > self.max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._bytes -= len(evicted.body)


class ApiThreads:
    """The read API's sized pool: its ClickHouse calls and renderings run on `size` threads of its own, never on
    the event loop nor on the default executor the refresh uses; more requests than threads wait their turn in
    the pool's queue (FIFO) without holding anything the event loop needs."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._executor = ThreadPoolExecutor(size, thread_name_prefix="metrics-api")

    async def run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


def _target(request: Request) -> str:
    return f"{request.url.path}?{request.url.query}"


def routes(
    store: IndicatorStore, *, k: int, threads: ApiThreads | None = None, cache: AnswerCache | None = None
) -> list[Route]:
    """The read API over `store`; `k` is the suppression threshold the service publishes with. ClickHouse calls
    and renderings run on `threads` (default: a pool of 4); with `cache`, answers are kept until it is
    invalidated."""
    keep = cache or AnswerCache(0)  # a budget of 0 keeps nothing; concurrent identical misses still share a query
    pool = threads or ApiThreads(4)
    off_loop = pool.run

    @store_errors
    async def indicators(request: Request) -> Response:
        try:
            query = build_query(request.query_params)
        except BadRequest as exc:
            return JSONResponse(exc.body(), status_code=400)
        if request.method == "HEAD":
            return head_response(query)
        path, params = request.url.path, request.query_params

        async def make() -> Answer:
            return await off_loop(lambda: render_page(store, query, path, params))

        return (await keep.answer(_target(request), make)).response()

    catalog_answer = Answer(_json(catalog_entries()), "application/json")
    labels_answer = Answer(_json(labels()), "application/json")
    openapi_answer = Answer(_json(OPENAPI), "application/json")

    async def catalog(_: Request) -> Response:
        return catalog_answer.response()

    async def label_document(_: Request) -> Response:
        return labels_answer.response()

    @store_errors
    async def status(_: Request) -> Response:
        sql = "SELECT as_of, refreshed_at, events_seen_to FROM refresh_log ORDER BY refreshed_at DESC LIMIT 1"
        return JSONResponse(status_of(await off_loop(lambda: store.query_rows(sql)), k))

    def units_answer() -> Answer:
        sql = f"SELECT {', '.join(UNIT_FIELDS)} FROM org_units FINAL ORDER BY unit_id"
        units = [dict(zip(UNIT_FIELDS, row, strict=True)) for row in store.query_rows(sql)]
        return Answer(_json(units), "application/json")

    @store_errors
    async def org_units(request: Request) -> Response:
        return (await keep.answer(_target(request), lambda: off_loop(units_answer))).response()

    async def openapi(_: Request) -> Response:
        return openapi_answer.response()

    return [
        Route("/indicators", indicators),
        Route("/indicators/catalog", catalog),
        Route("/indicators/labels", label_document),
        Route("/indicators/status", status),
        Route("/org-units", org_units),
        Route("/openapi.json", openapi),
    ]


_STRING: Final[dict[str, Any]] = {"type": "string"}
_NULLABLE_NUMBER: Final = {"type": ["number", "null"]}
_REF: Final = "#/components/schemas/"


def _param(name: str, description: str, example: str, schema: dict[str, Any] = _STRING, *, many: bool = False) -> Any:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "array", "items": schema} if many else schema,
        **({"style": "form", "explode": True} if many else {}),
        "example": [example] if many else example,
    }


def _enum(values: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {"type": "string", "enum": list(values), **extra}


def _json_answer(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": _REF + schema}}}}


def _list_answer(description: str, schema: str) -> dict[str, Any]:
    items = {"type": "array", "items": {"$ref": _REF + schema}}
    return {"description": description, "content": {"application/json": {"schema": items}}}


def _page(summary: str) -> dict[str, Any]:
    return {"get": {"summary": f"analyst pages (HTML): {summary}", "responses": {"200": {"description": "HTML"}}}}


def _object(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **({"required": list(required)} if required else {})}


_STORE_ERRORS: Final = {
    "503": {
        **_json_answer("ClickHouse is unavailable; retry after Retry-After seconds", "Error"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    },
    "500": _json_answer("ClickHouse refused the query", "Error"),
}
_DATE: Final = {"type": "string", "format": "date"}
_LIMIT: Final = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}
_CURSOR_EXAMPLE: Final = encode_cursor(("hires", "month", "all", "all", "", date(2024, 1, 1)))
INDICATORS_DESCRIPTION: Final = (
    f"Rows in key order ({', '.join(KEY)}), at most `limit` per answer (default {DEFAULT_LIMIT}, at most "
    f"{MAX_LIMIT}); follow `next` (JSON) or the Link rel=next header (CSV) until it is null / absent: no answer is "
    "ever truncated without saying so. Unknown parameter names and unknown values of indicator, period_kind, "
    "dimension and format are a 400 naming the parameter and listing the accepted values. CSV text cells (the key "
    "columns) starting with = + - @ tab or CR are prefixed with ' (CSV injection); numeric columns stay numbers."
)

OPENAPI: Final[dict[str, Any]] = {
    "openapi": "3.1.0",
    "info": {
        "title": "workforce-metrics indicators",
        "version": "2",
        "description": "Every answer carries X-Content-Type-Options: nosniff.",
    },
    "paths": {
        "/indicators": {
            "get": {
                "summary": "Indicator cells (a suppressed cell has no value and no population, and says why), one page",
                "description": INDICATORS_DESCRIPTION,
                "parameters": [
                    _param("indicator", "indicator name(s)", "hires", _enum(ACCEPTED["indicator"]), many=True),
                    _param("period_kind", "period kind(s)", "month", _enum(ACCEPTED["period_kind"]), many=True),
                    _param("dimension", "slice dimension(s)", "all", _enum(ACCEPTED["dimension"]), many=True),
                    _param("slice", "slice value(s): an org unit id (see /org-units) or a code", "all", many=True),
                    _param("category", "category value(s); the empty category is the total", "", many=True),
                    _param("from", "first period (inclusive)", "2024-01-01", _DATE),
                    _param("to", "last period (inclusive)", "2024-12-01", _DATE),
                    _param("format", "answer format", "csv", _enum(FORMATS, default="json")),
                    _param("limit", f"rows per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})", "1000", _LIMIT),
                    _param("cursor", "opaque: where the previous page ended (from `next` or Link)", _CURSOR_EXAMPLE),
                ],
                "responses": {
                    "200": {
                        "description": "one page",
                        "headers": {
                            "Link": {"schema": _STRING, "description": '<next page URL>; rel="next" (if any)'},
                            "Content-Disposition": {"schema": _STRING, "description": "CSV: attachment"},
                        },
                        "content": {
                            "application/json": {"schema": {"$ref": _REF + "IndicatorPage"}},
                            "text/csv": {"schema": _STRING},
                        },
                    },
                    "400": _json_answer("a parameter is unknown or invalid", "BadRequest"),
                    **_STORE_ERRORS,
                },
            },
            "head": {
                "summary": "The headers GET would answer; the parameters are checked, the query is not run",
                "responses": {"200": {"description": "headers"}, "400": {"description": "as GET"}},
            },
        },
        "/indicators/catalog": {
            "get": {
                "summary": "Every indicator: names zh/en, unit, formula, standard, topic",
                "responses": {"200": _list_answer("catalog", "CatalogEntry")},
            }
        },
        "/indicators/labels": {
            "get": {
                "summary": "zh/en labels of topics, dimensions, period kinds, org levels, categories, slice values; "
                "the published facts",
                "responses": {"200": _json_answer("labels", "Labels")},
            }
        },
        "/indicators/status": {
            "get": {
                "summary": "The latest refresh (nulls before the first) and the suppression threshold k",
                "responses": {"200": _json_answer("status", "Status"), **_STORE_ERRORS},
            }
        },
        "/org-units": {
            "get": {
                "summary": "Every org unit as last registered; an empty string is no parent / district / street",
                "responses": {"200": _list_answer("org units", "OrgUnit"), **_STORE_ERRORS},
            }
        },
        "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        "/": _page("start page"),
        "/pages/{page}": {
            "get": {
                **_page("one page by name")["get"],
                "parameters": [{"name": "page", "in": "path", "required": True, "schema": _STRING}],
            }
        },
        "/static/{asset}": {
            "get": {
                "summary": "analyst pages: their scripts and styles",
                "responses": {"200": {"description": "JavaScript or CSS"}, "404": {"description": "no such file"}},
                "parameters": [{"name": "asset", "in": "path", "required": True, "schema": _STRING}],
            }
        },
        "/indicators/facets": {
            "get": {
                "summary": "For the analyst pages: per period kind, the dimensions, categories and period range an "
                "indicator has",
                "parameters": [
                    {"name": "indicator", "in": "query", "required": True, "schema": _enum(ACCEPTED["indicator"])}
                ],
                "responses": {
                    "200": {"description": '{"indicator", "period_kinds": {kind: {dimensions, categories, from, to}}}'},
                    "400": _json_answer("unknown indicator", "BadRequest"),
                    **_STORE_ERRORS,
                },
            }
        },
        "/health": {"get": {"summary": "liveness; never asks ClickHouse", "responses": {"200": {"description": "ok"}}}},
        "/ready": {
            "get": {
                "summary": "ClickHouse reachable and indicators published",
                "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}},
            }
        },
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text"}}}},
    },
    "components": {
        "schemas": {
            "IndicatorRow": _object(
                {
                    **{column: _STRING for column in KEY[:-1]},
                    "period": _DATE,
                    **{column: _NULLABLE_NUMBER for column in ("value", "numerator", "denominator")},
                    "workers": {"type": "integer", "description": "the cell's population; 0 when suppressed (hidden)"},
                    "suppressed": {"type": "boolean"},
                    "reason": {
                        "type": "string",
                        "enum": ["", *REASONS],
                        "description": "why a suppressed cell is hidden, '' when published (/indicators/labels)",
                    },
                }
            ),
            "IndicatorPage": _object(
                {
                    "rows": {"type": "array", "items": {"$ref": _REF + "IndicatorRow"}},
                    "count": {"type": "integer", "description": "rows in this page"},
                    "next": {"type": ["string", "null"], "description": "relative URL of the next page; null: last"},
                },
                "rows",
                "count",
                "next",
            ),
            "CatalogEntry": _object(
                {key: _STRING for key in ("indicator", "name_zh", "name_en", "unit", "formula", "standard", "topic")}
            ),
            "Labels": _object(
                {
                    **{key: {"type": "object", "description": "code → {zh, en}"} for key in LABEL_TABLES},
                    "published_facts": {
                        "type": "array",
                        "items": _object(
                            {
                                **{key: _STRING for key in ("indicator", "category", "zh", "en")},
                                **{key: {"type": "integer"} for key in ("value", "from_year", "to_year")},
                            }
                        ),
                    },
                }
            ),
            "Status": _object(
                {
                    "as_of": {"type": ["string", "null"], "format": "date"},
                    "refreshed_at": {"type": ["string", "null"], "format": "date-time"},
                    "events_seen_to": {"type": ["string", "null"], "format": "date-time"},
                    "k": {"type": "integer", "description": "cells with fewer workers than k are suppressed"},
                },
                "as_of",
                "refreshed_at",
                "events_seen_to",
                "k",
            ),
            "OrgUnit": _object({key: _STRING for key in UNIT_FIELDS}),
            "Error": _object({"error": _STRING}, "error"),
            "BadRequest": _object(
                {"error": _STRING, "parameter": _STRING, "accepted": {"type": "array", "items": _STRING}},
                "error",
                "parameter",
            ),
        }
    },
}
