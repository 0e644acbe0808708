"""The metrics service as a real process over a real ClickHouse: API answers, new events show within 10 s, paging
gives every row exactly once, ClickHouse away is a 503 JSON answer, every answer says nosniff."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from services.common.clickhouse import ConnectClickHouse
from services.sim import SimConfig, generate
from services.stack.ports import free_port

from .harness import http_status, store_events, utc_now_fixed, wait_for
from .servers import Servers

AS_OF = date(2024, 6, 30)
NOW = utc_now_fixed(AS_OF)


def _store_events(store: ConnectClickHouse, events: list[dict[str, Any]]) -> None:
    store_events(store, events, NOW)


def _get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        body = response.read()
        return json.loads(body) if response.headers.get_content_type() == "application/json" else body.decode()


def _answer(port: int, path: str, method: str = "GET", timeout: float = 10) -> tuple[int, Any, bytes]:
    """(status, headers, body) of any answer, errors included."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.headers, exc.read()


def _simulated(workers: int = 40) -> list[dict[str, Any]]:
    return list(generate(SimConfig(workers=workers, start_year=2023, end=AS_OF, seed=5, scenario=False)))


@contextlib.asynccontextmanager
async def _metrics_service(clickhouse_url: str, database: str) -> AsyncIterator[int]:
    """`workforce-metrics run` as a real process, ready (first refresh published); stopped with SIGTERM → exit 0."""
    port = free_port()
    env = {
        **os.environ,
        "CLICKHOUSE_URL": clickhouse_url,
        "CLICKHOUSE_DATABASE": database,
        "METRICS_HTTP_PORT": str(port),
        "METRICS_AS_OF": AS_OF.isoformat(),
        "METRICS_K": "1",
        "METRICS_REFRESH_SECONDS": "0.5",
    }
    proc = subprocess.Popen([sys.executable, "-m", "services.metrics.cli", "run"], env=env)  # noqa: ASYNC220 - started once, not awaited
    try:
        await wait_for(lambda: http_status(port, "/ready") == 200, timeout=120, what="metrics /ready")
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0


class _Relay:
    """A TCP relay to ClickHouse that can be cut (once closed, nothing listens on its port any more) or slowed:
    `hold(pattern, seconds)` keeps every request whose bytes hold `pattern` that long before passing it on."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 8123)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._sockets: list[socket.socket] = []
        self._open = True
        self._pattern: bytes | None = None
        self._seconds = 0.0
        self._released = threading.Event()
        self.holding = 0
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self, pattern: bytes | None, seconds: float = 0.0) -> None:
        """Hold matching requests `seconds` each from now on; None lets every held one go at once."""
        self._pattern, self._seconds = pattern, seconds
        if pattern is None:
            self._released.set()
        else:
            self._released.clear()

    def _held(self, data: bytes) -> None:
        if self._pattern is None or self._pattern not in data:
            return
        self.holding += 1
        self._released.wait(self._seconds)
        self.holding -= 1

    def _accept(self) -> None:
        while self._open:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            self._sockets += [client, upstream]
            for source, sink, hold in ((client, upstream, self._held), (upstream, client, None)):
                threading.Thread(target=self._pipe, args=(source, sink, hold), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, hold: Callable[[bytes], None] | None) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if hold is not None:
                    hold(data)
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._open = False
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def _separations(port: int, month: str) -> float | None:
    rows = _get(port, f"/indicators?indicator=separations&dimension=all&period_kind=month&from={month}&to={month}")
    return rows["rows"][0]["value"] if rows["rows"] else None


async def test_api_serves_indicators_and_reflects_a_new_event_within_10_seconds(
    servers: Servers, store: ConnectClickHouse, database: str
) -> None:
    events = _simulated()
    _store_events(store, events)
    async with _metrics_service(servers.clickhouse_url, database) as port:
        catalog = _get(port, "/indicators/catalog")
        assert {"indicator", "name_zh", "name_en", "formula", "standard", "unit"} <= set(catalog[0])
        assert _get(port, "/openapi.json")["paths"]["/indicators"]
        csv_text = _get(port, "/indicators?indicator=headcount_end&dimension=all&format=csv")
        assert csv_text.startswith("indicator,period_kind,period,dimension,slice,category,value")
        assert http_status(port, "/indicators?indicator=not_an_indicator") == 400
        assert http_status(port, "/metrics") == 200

        before = _separations(port, "2024-06-01") or 0.0
        hire = next(e for e in events if e["event_type"] == "staffing.hired.v1")
        separation = {
            "event_id": str(uuid.uuid4()),
            "event_type": "turnover.separated.v1",
            "occurred_at": "2024-06-20T10:00:00+08:00",
            "emitted_at": "2024-06-20T10:00:00+08:00",
            "source": "test",
            "worker_id": hire["worker_id"],
            "data": {"separation_date": "2024-06-20", "kind": "voluntary", "reason": "pay", "note": "薪资偏低"},
        }
        still_employed = _employed_on(events, hire["worker_id"], date(2024, 6, 20))
        _store_events(store, [separation])
        stored = time.monotonic()
        expected = before + (1 if still_employed else 0)
        await wait_for(
            lambda: (_separations(port, "2024-06-01") or 0.0) == expected,
            timeout=10,
            what="the new separation in the API",
        )
        print(f"freshness: {time.monotonic() - stored:.2f}s from storage to the API")


def _employed_on(events: list[dict[str, Any]], worker_id: str, day: date) -> bool:
    mine = sorted(
        (
            e
            for e in events
            if e.get("worker_id") == worker_id and e["event_type"] in ("staffing.hired.v1", "turnover.separated.v1")
        ),
        key=lambda e: e["data"].get("hire_date") or e["data"].get("separation_date"),
    )
    employed = False
    for e in mine:
        when = date.fromisoformat(e["data"].get("hire_date") or e["data"]["separation_date"])
        if when > day:
            break
        employed = e["event_type"] == "staffing.hired.v1"
    return employed


def _follow_json(port: int, path: str) -> tuple[list[dict[str, Any]], int]:
    """Every row of a query, following `next` from `path`; and how many pages that took."""
    rows: list[dict[str, Any]] = []
    pages = 0
    url: str | None = path
    while url is not None:
        page = _get(port, url)
        assert page["count"] == len(page["rows"])
        rows += page["rows"]
        pages += 1
        assert pages <= 1_000 and page["next"] != url, "paging does not advance"
        url = page["next"]
    return rows, pages


def _follow_csv(port: int, path: str) -> list[dict[str, str]]:
    """Every row of a CSV query, following the Link rel=next header."""
    rows: list[dict[str, str]] = []
    url: str | None = path
    while url is not None:
        status, headers, body = _answer(port, url)
        assert status == 200 and headers["Content-Disposition"] == 'attachment; filename="indicators.csv"'
        rows += csv.DictReader(io.StringIO(body.decode(), newline=""))
        link = headers.get("Link")
        following = link[1 : link.index(">")] if link else None
        assert following != url and len(rows) <= 1_000_000, "paging does not advance"
        url = following
    return rows


def _key(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(row[c]) for c in ("indicator", "period_kind", "dimension", "slice", "category", "period"))


async def test_paging_gives_every_row_exactly_once_as_one_unpaged_query_does(
    servers: Servers, store: ConnectClickHouse, database: str
) -> None:
    _store_events(store, _simulated())
    async with _metrics_service(servers.clickhouse_url, database) as port:
        total = int(store.query_rows("SELECT count() FROM indicators")[0][0])
        assert 10_000 < total <= 100_000, total  # more than a default page, within one maximal page

        first = _get(port, "/indicators")
        assert first["count"] == 10_000 and first["next"].startswith("/indicators?cursor=")
        unpaged = _get(port, "/indicators?limit=100000")
        assert (unpaged["count"], unpaged["next"]) == (total, None)

        paged, pages = _follow_json(port, "/indicators?limit=7000")
        assert pages == -(-total // 7000)
        assert paged == unpaged["rows"]  # same rows, same order: none twice, none missing
        assert len({_key(r) for r in paged}) == total

        as_csv = _follow_csv(port, "/indicators?format=csv&limit=30000")
        assert [_key(r) for r in as_csv] == [_key(r) for r in paged]

        narrow = "indicator=hires&indicator=pay_median&dimension=org&dimension=gender&period_kind=month"
        filtered, pages = _follow_json(port, f"/indicators?{narrow}&limit=50")
        whole = _get(port, f"/indicators?{narrow}&limit=100000")["rows"]
        assert pages > 2 and filtered == whole
        assert {(r["indicator"], r["dimension"], r["period_kind"]) for r in filtered} == {
            (i, d, "month") for i in ("hires", "pay_median") for d in ("org", "gender")
        }

        status, headers, body = _answer(port, "/indicators?indicator=hires&format=csv", method="HEAD")
        assert (status, body) == (200, b"")
        assert headers.get_content_type() == "text/csv" and "Link" not in headers


async def test_the_new_routes_and_every_answer_says_nosniff(
    servers: Servers, store: ConnectClickHouse, database: str
) -> None:
    _store_events(store, _simulated(workers=10))
    async with _metrics_service(servers.clickhouse_url, database) as port:
        status = _get(port, "/indicators/status")
        assert (status["as_of"], status["k"]) == (AS_OF.isoformat(), 1)
        assert status["refreshed_at"].endswith("Z") and status["events_seen_to"].endswith("Z")
        units = _get(port, "/org-units")
        assert units and set(units[0]) == {
            "unit_id", "parent_id", "level", "name_zh", "name_en", "service_model", "district_id", "street_id"
        }  # fmt: skip
        assert {u["level"] for u in units} >= {"district", "street"}
        published = _get(port, "/org-units?scope=published")  # the service publishes districts and streets
        assert published == [u for u in units if u["level"] in {"district", "street"}]
        assert {"topics", "dimensions", "period_kinds", "categories", "slices"} <= set(_get(port, "/indicators/labels"))
        assert all(entry["topic"] for entry in _get(port, "/indicators/catalog"))

        code, _, body = _answer(port, "/indicators?dimension=district")
        assert code == 400 and json.loads(body)["parameter"] == "dimension"
        code, _, body = _answer(port, "/indicators?cursor=garbage")
        assert code == 400 and json.loads(body)["parameter"] == "cursor"

        paths = ["/health", "/ready", "/metrics", "/openapi.json", "/nowhere", "/indicators?format=csv&limit=5"]
        paths += [p for p in _get(port, "/openapi.json")["paths"] if "{" not in p]
        for path in paths:
            code, headers, _ = _answer(port, path)
            assert headers["X-Content-Type-Options"] == "nosniff", (path, code)
        assert _answer(port, "/indicators", method="HEAD")[1]["X-Content-Type-Options"] == "nosniff"


async def test_clickhouse_away_is_a_503_json_answer_and_health_does_not_ask_it(
    servers: Servers, store: ConnectClickHouse, database: str
) -> None:
    _store_events(store, _simulated(workers=10))
    relay = _Relay(servers.clickhouse_url)
    try:
        async with _metrics_service(relay.url, database) as port:
            assert _answer(port, "/indicators?limit=1")[0] == 200
            relay.close()  # its port is closed now: connection refused
            for path in ("/indicators?indicator=hires", "/indicators/status", "/org-units"):
                code, headers, body = _answer(port, path)
                assert (code, headers.get_content_type(), headers["Retry-After"]) == (503, "application/json", "5")
                assert "unavailable" in json.loads(body)["error"]
                assert headers["X-Content-Type-Options"] == "nosniff"
            assert _answer(port, "/health")[0] == 200
            assert _answer(port, "/ready")[0] == 503
            assert _answer(port, "/indicators", method="HEAD")[0] == 200  # the query is not run
    finally:
        relay.close()


async def test_health_and_ready_answer_at_once_while_20_slow_queries_are_in_flight(
    servers: Servers, store: ConnectClickHouse, database: str
) -> None:
    """The API's queries have threads and connections of their own: 20 held indicator queries fill them, yet
    /health (no ClickHouse call) and /ready (a ping on the refresh's client and threads) answer within 1 s."""
    _store_events(store, _simulated(workers=10))
    relay = _Relay(servers.clickhouse_url)
    try:
        async with _metrics_service(relay.url, database) as port:
            relay.hold(b"FROM indicators", seconds=5.0)
            with ThreadPoolExecutor(20) as clients:
                targets = [f"/indicators?indicator=hires&limit={n + 1}" for n in range(20)]  # 20 distinct queries
                asked = [clients.submit(_answer, port, target, "GET", 60) for target in targets]
                await wait_for(lambda: relay.holding >= 6, timeout=30, what="six indicator queries held")
                for path in ("/health", "/ready"):
                    begin = time.perf_counter()
                    assert _answer(port, path, timeout=5)[0] == 200, path
                    assert time.perf_counter() - begin < 1.0, path
                assert not any(a.done() for a in asked)  # every indicator query was still in flight
                relay.hold(None)
                assert [a.result()[0] for a in asked] == [200] * 20
    finally:
        relay.close()


def test_one_store_answers_concurrent_queries_from_many_threads(servers: Servers, database: str) -> None:
    """The API shares one client among its threads: without a ClickHouse session, concurrent queries on it are
    neither refused by clickhouse-connect nor mixed up, even with more threads than pooled connections."""
    shared = ConnectClickHouse.connect(
        servers.clickhouse_url, database=database, user="default", password="", connections=4
    )
    try:

        def ask(n: int) -> list[tuple[Any, ...]]:
            return shared.query_rows("SELECT %(n)s + number FROM numbers(1000)", {"n": n})

        with ThreadPoolExecutor(16) as threads:
            answers = list(threads.map(ask, range(64)))
        assert all(rows == [(n + i,) for i in range(1000)] for n, rows in enumerate(answers))
        raw = shared.query_bytes(
            "SELECT 1 AS one, 'a/b' AS s", fmt="JSONEachRow", settings={"output_format_json_escape_forward_slashes": 0}
        )
        assert raw == b'{"one":1,"s":"a/b"}\n'
    finally:
        shared.close()
