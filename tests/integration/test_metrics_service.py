"""The metrics service as a real process over a real ClickHouse: API answers, and new events show within 10 s."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import date
from typing import Any

from services.common.clickhouse import ConnectClickHouse
from services.ingest.deliveries import Delivery
from services.ingest.pipeline import Pipeline
from services.ingest.pseudonymise import Pseudonymiser
from services.ingest.writer import EventWriter
from services.sim import SimConfig, generate

from .harness import TEST_KEY, free_port, http_status, utc_now_fixed, wait_for
from .servers import Servers

AS_OF = date(2024, 6, 30)
NOW = utc_now_fixed(AS_OF)


def _store_events(store: ConnectClickHouse, events: list[dict[str, Any]]) -> None:
    pipeline = Pipeline(
        EventWriter(store),
        Pseudonymiser(TEST_KEY.encode()),
        zone=__import__("zoneinfo").ZoneInfo("Asia/Shanghai"),
        broker="test",
        clock=lambda: NOW,
    )
    deliveries = [
        Delivery(json.dumps(e, ensure_ascii=False).encode(), None, "test", NOW, str(i)) for i, e in enumerate(events)
    ]
    outcome = pipeline.store(deliveries)
    assert not outcome.rejected, outcome.rejected[:3]


def _get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        body = response.read()
        return json.loads(body) if response.headers.get_content_type() == "application/json" else body.decode()


def _separations(port: int, month: str) -> float | None:
    rows = _get(port, f"/indicators?indicator=separations&dimension=all&period_kind=month&from={month}&to={month}")
    return rows["rows"][0]["value"] if rows["rows"] else None


async def test_api_serves_indicators_and_reflects_a_new_event_within_10_seconds(
    servers: Servers, store: ConnectClickHouse, database: str
) -> None:
    events = list(generate(SimConfig(workers=40, start_year=2023, end=AS_OF, seed=5, scenario=False)))
    _store_events(store, events)
    port = free_port()
    env = {
        **__import__("os").environ,
        "CLICKHOUSE_URL": servers.clickhouse_url,
        "CLICKHOUSE_DATABASE": database,
        "METRICS_HTTP_PORT": str(port),
        "METRICS_AS_OF": AS_OF.isoformat(),
        "METRICS_K": "1",
        "METRICS_REFRESH_SECONDS": "0.5",
    }
    proc = subprocess.Popen([sys.executable, "-m", "services.metrics.cli", "run"], env=env)  # noqa: ASYNC220 - started once, not awaited
    try:
        await wait_for(lambda: http_status(port, "/ready") == 200, timeout=120, what="metrics /ready")
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
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0


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
