"""Run ingest in-process or as a subprocess against real servers, and wait on ClickHouse without sleeps."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import nats
from nats.js.api import RawStreamMsg

from services.common.clickhouse import ConnectClickHouse
from services.ingest.app import Ingest, build
from services.ingest.deliveries import Delivery
from services.ingest.pipeline import Pipeline
from services.ingest.pseudonymise import Pseudonymiser
from services.ingest.settings import IngestSettings
from services.ingest.writer import EventWriter

TEST_KEY = "test-key-0123456789abcdef0123456789abcdef"


def ingest_settings(servers_clickhouse: str, database: str, broker_url: str, **overrides: Any) -> IngestSettings:
    """Settings with names no other test uses (subject, stream, consumer, dead letters)."""
    tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "pseudonym_key": TEST_KEY,
        "clickhouse_url": servers_clickhouse,
        "clickhouse_database": database,
        "broker_url": broker_url,
        "ingest_subject": f"t{tag}.>",
        "ingest_topic": f"t{tag}.events",
        "ingest_stream": f"T{tag}",
        "ingest_consumer": f"c{tag}",
        "ingest_dead_letter": f"t{tag}_dlq",
        "ingest_batch_size": 2_000,
        "ingest_batch_seconds": 0.2,
        "ingest_http_port": 0,
    }
    values.update(overrides)
    return IngestSettings(**values)


def settings_env(settings: IngestSettings) -> dict[str, str]:
    """The same settings as environment variables, for a subprocess."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        env[name.upper()] = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return env


@contextlib.asynccontextmanager
async def running(
    settings: IngestSettings, store: ConnectClickHouse, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[Ingest]:
    ingest = build(settings, store, clock) if clock else build(settings, store)
    await ingest.adapter.start()
    task = asyncio.create_task(ingest.consumer.run())
    try:
        yield ingest
    finally:
        await ingest.consumer.stop()
        await task
        await ingest.adapter.close()


async def publish_nats(url: str, subject: str, bodies: Sequence[bytes], *, window: int = 2_000) -> None:
    client = await nats.connect(url)
    js = client.jetstream()
    try:
        for start in range(0, len(bodies), window):
            acks = [await js.publish_async(subject, body) for body in bodies[start : start + window]]
            await asyncio.gather(*acks)
    finally:
        await client.close()


async def wait_for(check: Callable[[], bool], *, timeout: float, what: str) -> None:  # noqa: ASYNC109 - a deadline for polling, not a cancellation scope
    """Poll `check` (run in a thread) until true or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.2)


def count(store: ConnectClickHouse, sql: str) -> int:
    return int(store.query_rows(sql)[0][0])


def exact_once(store: ConnectClickHouse) -> tuple[int, int]:
    """(rows with FINAL, distinct event ids): equal when every event is stored exactly once."""
    final = count(store, "SELECT count() FROM events FINAL")
    distinct = count(store, "SELECT uniqExact(event_id) FROM events")
    return final, distinct


def start_ingest_process(settings: IngestSettings) -> subprocess.Popen[bytes]:
    """`workforce-ingest run` as a real process with these settings in its environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "services.ingest.cli", "run"],
        env=settings_env(settings),
    )  # output is inherited: pytest captures it and shows it when a test fails


async def nats_consumer_state(url: str, stream: str, consumer: str) -> tuple[int, int]:
    """(pending, ack pending) of a durable consumer; (−1, −1) before it exists."""
    client = await nats.connect(url)
    try:
        info = await client.jetstream().consumer_info(stream, consumer)
        return int(info.num_pending or 0), int(info.num_ack_pending or 0)
    except nats.js.errors.NotFoundError:
        return -1, -1
    finally:
        await client.close()


def http_status(port: int, path: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


async def wait_ready(port: int, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait for `/ready` to answer 200 (the process has declared its stream and reached ClickHouse)."""

    def ready() -> bool:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"ingest exited with {process.returncode} (its output is above)")
        return http_status(port, "/ready") == 200

    await wait_for(ready, timeout=60, what=f"/ready on port {port}")


def store_events(store: ConnectClickHouse, events: Sequence[dict[str, Any]], now: datetime) -> None:
    """Validate, pseudonymise and store `events` through ingest's pipeline (no broker); none may be refused."""
    pipeline = Pipeline(
        EventWriter(store),
        Pseudonymiser(TEST_KEY.encode()),
        zone=ZoneInfo("Asia/Shanghai"),
        broker="test",
        clock=lambda: now,
    )
    deliveries = [
        Delivery(json.dumps(e, ensure_ascii=False).encode(), None, "test", now, str(i)) for i, e in enumerate(events)
    ]
    outcome = pipeline.store(deliveries)
    assert not outcome.rejected, outcome.rejected[:3]


def utc_now_fixed(day: date) -> datetime:
    """Noon UTC the day after `day`: a fixed clock for events dated up to `day`."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC).replace(hour=12)


def metric_value(port: int, name: str) -> float | None:
    """One unlabelled sample from a service's /metrics, or None if absent or unreachable."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return None


async def nats_stream_messages(url: str, stream: str) -> list[RawStreamMsg]:
    """Every message a JetStream stream holds, oldest first (e.g. the dead letters of `<stream>_DLQ`)."""
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        info = await js.stream_info(stream)
        if not info.state.messages:
            return []
        return [await js.get_msg(stream, seq) for seq in range(info.state.first_seq, info.state.last_seq + 1)]
    finally:
        await client.close()


async def nats_max_payload(url: str) -> int:
    """The largest message the NATS server accepts (its max_payload)."""
    client = await nats.connect(url)
    try:
        return int(client.max_payload)
    finally:
        await client.close()


def start_metrics_process(clickhouse_url: str, database: str, port: int, **env: str) -> subprocess.Popen[bytes]:
    """`workforce-metrics run` as a real process on `port` over `database`; `env` adds METRICS_* variables."""
    variables = {
        **os.environ,
        "CLICKHOUSE_URL": clickhouse_url,
        "CLICKHOUSE_DATABASE": database,
        "METRICS_HTTP_PORT": str(port),
        **env,
    }
    return subprocess.Popen([sys.executable, "-m", "services.metrics.cli", "run"], env=variables)


async def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30) -> int:  # noqa: ASYNC109 - a deadline for polling
    """SIGTERM, then wait for the exit code (SIGKILL and fail after `timeout` seconds)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait(10)
            raise AssertionError(f"process {proc.pid} did not exit within {timeout}s of SIGTERM")
        await asyncio.sleep(0.1)
    return int(proc.returncode)


async def wait_nats_drained(
    url: str,
    stream: str,
    consumer: str,
    *,
    timeout: float,  # noqa: ASYNC109 - a deadline for polling, not a cancellation scope
    alive: Callable[[], None] = lambda: None,
) -> None:
    """Wait until the durable consumer has nothing pending and nothing unacknowledged: ingest acknowledges only
    after storing, so every message published before the call is stored or refused by then. `alive` raises when
    a process the caller watches has died."""
    deadline = time.monotonic() + timeout
    while (state := await nats_consumer_state(url, stream, consumer)) != (0, 0):
        alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {stream}/{consumer} (pending, ack pending) = {state}")
        await asyncio.sleep(0.2)
