"""Read API of the metrics service: `GET /indicators` (JSON or CSV, paged), `/indicators/catalog`,
`/indicators/labels`, `/indicators/status`, `/org-units`, `/openapi.json`.

Request values are always bound as query parameters, never formatted into SQL. Every ClickHouse call and every
rendering of its rows runs on the API's own sized pool of threads (never on the event loop, so `/health` is never
queued behind a query); ClickHouse itself writes the rows of a JSON page (JSONEachRow), so the worker threads hold
the GIL little. While the service holds a snapshot of the published table (`snapshot.py`, bounded in memory), pages
come from it instead, on one thread of their own: the same rows, cursors and bytes, without ClickHouse's per-query
cost. Answers of `/indicators` and `/org-units` are kept (`AnswerCache`) until the service next publishes.
`StoreUnavailable` becomes a 503 JSON answer with `Retry-After`, never a plain-text 500.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol, TypeVar, get_args
from urllib.parse import urlencode

import numpy as np
import numpy.typing as npt
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from schemas.org import UnitLevel
from services.common.errors import StoreRejected, StoreUnavailable

from .catalog import CATALOG, labels, topic_of
from .openapi import OPENAPI as OPENAPI
from .publish import COLUMNS, ORG_UNIT_FIELDS
from .queries import DEFAULT_LIMIT as DEFAULT_LIMIT
from .queries import KEY as KEY
from .queries import MAX_LIMIT as MAX_LIMIT
from .queries import UNIT_SCOPES, IndicatorsQuery, OrgUnitsQuery, parameter_names, parse
from .queries import BadRequest as BadRequest
from .queries import decode_cursor as decode_cursor
from .queries import encode_cursor as encode_cursor
from .snapshot import Snapshot, Snapshots

log = logging.getLogger("workforce.metrics.api")

FIELDS: Final = COLUMNS[:-1]
"""Every published column but `computed_at`."""
SELECTED: Final = tuple("toBool(suppressed) AS suppressed" if f == "suppressed" else f for f in FIELDS)
"""FIELDS as selected: `suppressed` as a Bool, so that ClickHouse writes it as JSON true/false."""
JSON_SETTINGS: Final = {"output_format_json_escape_forward_slashes": 0}
"""ClickHouse's JSONEachRow as json.dumps writes it: `/` not escaped (NaN and infinities are null)."""
CACHE_SECONDS: Final = 60.0
"""The longest a kept answer is served: bounds what a writer other than this service (a `rebuild`) leaves stale."""
TEXT_COLUMNS: Final = frozenset(KEY[:-1])
"""The columns whose CSV cells are neutralised; numbers, dates and flags are written as they are."""
MANY: Final = ("indicator", "period_kind", "dimension", "slice", "category")
"""Parameters that may be given several times (any of the values)."""
PARAMETERS: Final = parameter_names(IndicatorsQuery)
"""Every query parameter `GET /indicators` accepts; any other name is a 400."""
RETRY_AFTER_SECONDS: Final = 5
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet reads a cell starting with one of these as a formula (OWASP CSV injection)."""
UNIT_FIELDS: Final = ORG_UNIT_FIELDS


@dataclass(frozen=True, slots=True)
class Query:
    """One page's SQL and bound values; `bound["limit"]` is one more than the page so a next page shows."""

    sql: str
    bound: dict[str, Any]
    limit: int
    format: str
    request: IndicatorsQuery


def build_query(params: QueryParams) -> Query:
    """Query string → one page's SQL with placeholders and its bound values (a BadRequest if `IndicatorsQuery`
    refuses it). Pure: tested without a server."""
    query = parse(IndicatorsQuery, params)
    where: list[str] = []
    bound: dict[str, Any] = {}
    for key in MANY:
        values = getattr(query, key)
        if values:
            where.append(f"{key} IN %({key})s")
            bound[key] = values
    for key, op, day in (("from", ">=", query.from_), ("to", "<=", query.to)):
        if day is not None:
            bound[key] = day
            where.append(f"period {op} %({key})s")
    if (after := query.after()) is not None:
        where.append(_after(after, bound))
    bound["limit"] = query.limit + 1
    sql = (
        f"SELECT {', '.join(SELECTED)} FROM indicators"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY {', '.join(KEY)} LIMIT %(limit)s"
    )
    return Query(sql, bound, query.limit, query.format, query)


def _after(key: tuple[Any, ...], bound: dict[str, Any]) -> str:
    """Rows after `key` in KEY order, spelled as comparisons of single key columns so that ClickHouse prunes
    granules with the primary index: a > x OR (a = x AND b > y) OR ..."""
    terms = []
    for i, column in enumerate(KEY):
        bound[f"after_{column}"] = key[i]
        equal = [f"{c} = %(after_{c})s" for c in KEY[:i]]
        terms.append("(" + " AND ".join([*equal, f"{column} > %(after_{column})s"]) + ")")
    return "(" + " OR ".join(terms) + ")"


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


def csv_cell(column: str, value: str) -> str:
    """One text cell as `as_csv` writes it (neutralised where it does so, quoted where the csv module would)."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerow([neutralise(value) if column in TEXT_COLUMNS else value, ""])
    return buffer.getvalue()[: -len(",\r\n")]


def snapshot_csv(snapshot: Snapshot, rows: npt.NDArray[np.intp]) -> str:
    """The rows as `as_csv` writes their records, from cells written once per snapshot."""
    cells = snapshot.derived(
        "csv", lambda: {c: [csv_cell(c, v) for v in vs] for c, vs in snapshot.dictionaries.items()}
    )
    i, k, d, s, c, r = (
        cells[name] for name in ("indicator", "period_kind", "dimension", "slice", "category", "reason")
    )
    lines = [
        f"{i[a]},{k[b]},{e},{d[f]},{s[g]},{c[h]},{_cell(x)},{_cell(y)},{_cell(z)},{o},{bool(t)},{r[u]}\r\n"
        for a, b, e, f, g, h, x, y, z, o, t, u in snapshot.fields(rows)
    ]
    return as_csv([]) + "".join(lines)


def _cell(number: float | None) -> str:
    return "" if number is None else repr(number)


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
    return joined_answer(b",".join(rows), len(rows), url)


def joined_answer(rows: bytes, count: int, url: str | None) -> Answer:
    """`{rows, count, next}` around `count` JSON objects joined by commas, with `Link: <next>; rel="next"`."""
    body = b'{"rows":[%b],"count":%d,"next":%b}' % (rows, count, json_bytes(url))
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


def snapshot_page(snapshot: Snapshot, query: Query, path: str, params: QueryParams) -> Answer:
    """One page of `GET /indicators` from the snapshot of the published table, as `render_page` answers it."""
    rows = snapshot.select(query.request)
    shown = rows[: query.limit]
    token = encode_cursor(snapshot.key(int(shown[-1]))) if len(rows) > query.limit else None
    url = next_url(path, params, token) if token else None
    if query.format == "csv":
        disposition = ("Content-Disposition", 'attachment; filename="indicators.csv"')
        return Answer(snapshot_csv(snapshot, shown).encode(), "text/csv; charset=utf-8", (*_link(url), disposition))
    return joined_answer(snapshot.json_rows(shown).encode(), len(shown), url)


def unit_levels(scope: str, published: Collection[str]) -> tuple[str, ...]:
    """The org levels `/org-units?scope=` answers with, top level first: every level for `all`; for `published`,
    the levels that get org slices (`published`, METRICS_ORG_LEVELS) and every level above them (their units'
    parents), which is all a drill-down walks. With the default levels that leaves out the second-tier unions, most
    of the units. Raises BadRequest for any other scope."""
    order: tuple[str, ...] = get_args(UnitLevel)
    if scope not in UNIT_SCOPES:
        raise BadRequest("scope", f"unknown scope {scope!r}", UNIT_SCOPES)
    if scope == "all" or not published:
        return order
    return order[: max(order.index(level) for level in published) + 1]


def json_bytes(body: object) -> bytes:
    """A JSON body as the API writes it: UTF-8 (Chinese as is), compact, no NaN."""
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
            log.warning(
                "%s %s: %s",
                request.method,
                request.url.path,
                exc,
                extra={
                    "event": "store_unavailable",
                    "method": request.method,
                    "path": request.url.path,
                    "reason": str(exc),
                },
            )
            return JSONResponse(
                {"error": f"ClickHouse is unavailable; retry in {RETRY_AFTER_SECONDS} s"},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        except StoreRejected:
            log.exception(
                "%s %s: ClickHouse refused the query",
                request.method,
                request.url.path,
                extra={"event": "query_refused", "method": request.method, "path": request.url.path},
            )
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

    def kept(self, target: str) -> Answer | None:
        """The answer kept for `target` while it is fresh (a hit), else None."""
        entry = self._entries.get(target)
        if entry is None or entry[0] <= self.clock():
            return None
        self._entries.move_to_end(target)
        self.hits += 1
        return entry[1]

    async def answer(self, target: str, make: Callable[[], Awaitable[Answer]]) -> Answer:
        if (kept := self.kept(target)) is not None:
            return kept
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


def target_of(request: Request) -> str:
    """The request's path and query string as sent: what a kept answer is found by (no URL object built)."""
    return f"{request.scope['path']}?{request.scope['query_string'].decode('latin-1')}"


def routes(
    store: IndicatorStore,
    *,
    k: int,
    threads: ApiThreads | None = None,
    cache: AnswerCache | None = None,
    snapshots: Snapshots | None = None,
    snapshot_threads: ApiThreads | None = None,
    org_levels: Collection[str] = (),
) -> list[Route]:
    """The read API over `store`; `k` is the suppression threshold the service publishes with, `org_levels` the
    levels that get org slices (none given: every level; see `unit_levels`). ClickHouse calls
    and renderings run on `threads` (default: a pool of 4); with `cache`, answers are kept until it is
    invalidated; with `snapshots`, pages come from its current snapshot of the table while it has one, written on
    `snapshot_threads` (default: one thread; the writing is Python holding the GIL, and every other thread writing
    beside it would only make the event loop wait longer for the GIL)."""
    keep = cache or AnswerCache(0)  # a budget of 0 keeps nothing; concurrent identical misses still share a query
    held = snapshots or Snapshots(0)
    pool = threads or ApiThreads(4)
    off_loop = pool.run
    writer = (snapshot_threads or ApiThreads(1)).run

    @store_errors
    async def indicators(request: Request) -> Response:
        target = target_of(request)
        if request.method == "GET" and (kept := keep.kept(target)) is not None:
            return kept.response()  # asked before with these very bytes: valid, and nothing to parse again
        try:
            query = build_query(request.query_params)
        except BadRequest as exc:
            return JSONResponse(exc.body(), status_code=400)
        if request.method == "HEAD":
            return head_response(query)
        path, params = request.url.path, request.query_params

        async def make() -> Answer:
            if (snapshot := held.current) is not None:
                return await writer(lambda: snapshot_page(snapshot, query, path, params))
            return await off_loop(lambda: render_page(store, query, path, params))

        return (await keep.answer(target, make)).response()

    catalog_answer = Answer(json_bytes(catalog_entries()), "application/json")
    labels_answer = Answer(json_bytes(labels()), "application/json")
    openapi_answer = Answer(json_bytes(OPENAPI), "application/json")

    async def catalog(_: Request) -> Response:
        return catalog_answer.response()

    async def label_document(_: Request) -> Response:
        return labels_answer.response()

    def status_answer() -> Answer:
        sql = "SELECT as_of, refreshed_at, events_seen_to FROM refresh_log ORDER BY refreshed_at DESC LIMIT 1"
        return Answer(json_bytes(status_of(store.query_rows(sql), k)), "application/json")

    @store_errors
    async def status(request: Request) -> Response:
        # kept like a page: a refresh that logs a row publishes, and the service forgets its answers after each
        return (await keep.answer(target_of(request), lambda: off_loop(status_answer))).response()

    def units_answer(levels: tuple[str, ...]) -> Answer:
        sql = f"SELECT {', '.join(UNIT_FIELDS)} FROM org_units FINAL WHERE level IN %(levels)s ORDER BY unit_id"
        rows = store.query_rows(sql, {"levels": levels})
        return Answer(json_bytes([dict(zip(UNIT_FIELDS, row, strict=True)) for row in rows]), "application/json")

    @store_errors
    async def org_units(request: Request) -> Response:
        try:
            levels = unit_levels(parse(OrgUnitsQuery, request.query_params).scope, org_levels)
        except BadRequest as exc:
            return JSONResponse(exc.body(), status_code=400)
        return (
            await keep.answer(target_of(request), lambda: off_loop(functools.partial(units_answer, levels)))
        ).response()

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
