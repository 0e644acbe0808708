"""Fault tests: each ends with every good event stored exactly once and nothing left unacknowledged."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from services.common.clickhouse import ConnectClickHouse
from services.stack.ports import free_port

from .events import mixed_stream
from .harness import (
    count,
    exact_once,
    http_status,
    ingest_settings,
    metric_value,
    nats_consumer_state,
    publish_nats,
    start_ingest_process,
    wait_for,
    wait_ready,
)
from .servers import Servers

pytestmark = pytest.mark.slow


async def _wait_exit(process: object, timeout: float) -> int:  # noqa: ASYNC109 - a deadline for polling
    import subprocess

    proc: subprocess.Popen[bytes] = process  # type: ignore[assignment]
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("ingest did not exit after SIGTERM")
        await asyncio.sleep(0.1)
    return int(proc.returncode)


async def test_sigterm_with_a_half_full_buffer_loses_nothing(
    servers: Servers, store: ConnectClickHouse, database: str
) -> None:
    stream = mixed_stream(3_000, duplicate_share=0.05, bad_share=0.0)
    settings = ingest_settings(
        servers.clickhouse_url,
        database,
        servers.nats_url,
        ingest_batch_size=100_000,
        ingest_batch_seconds=60,
        ingest_http_port=free_port(),
    )
    proc = start_ingest_process(settings)
    try:
        await wait_ready(settings.ingest_http_port, proc)
        await publish_nats(servers.nats_url, settings.ingest_subject.replace(">", "events"), stream.bodies)

        # the service's own gauge: every message handed to the buffer, none flushed (fetched-but-unbuffered
        # messages would be given back to the broker on SIGTERM, which is not what this test is about)
        port = settings.ingest_http_port
        await wait_for(
            lambda: metric_value(port, "ingest_buffer_messages") == len(stream.bodies),
            timeout=30,
            what="the whole stream held in ingest's buffer",
        )
        assert count(store, "SELECT count() FROM events") == 0, "the batch must still be buffered, not flushed"
        proc.send_signal(signal.SIGTERM)
        assert await _wait_exit(proc, 30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert exact_once(store) == (len(stream.good_ids), len(stream.good_ids))
    assert await nats_consumer_state(servers.nats_url, settings.ingest_stream, settings.ingest_consumer) == (0, 0)


async def test_sigkill_mid_stream_then_restart_stores_each_event_once(
    servers: Servers, store: ConnectClickHouse, database: str
) -> None:
    stream = mixed_stream(30_000, duplicate_share=0.05, bad_share=0.01)
    settings = ingest_settings(
        servers.clickhouse_url,
        database,
        servers.nats_url,
        ingest_batch_size=1_000,
        ingest_batch_seconds=0.1,
        ingest_http_port=free_port(),
    )
    first = start_ingest_process(settings)
    try:
        await wait_ready(settings.ingest_http_port, first)
        await publish_nats(servers.nats_url, settings.ingest_subject.replace(">", "events"), stream.bodies)
        await wait_for(lambda: count(store, "SELECT count() FROM events") > 0, timeout=30, what="a first batch")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    stored_at_kill = count(store, "SELECT uniqExact(event_id) FROM events")
    second = start_ingest_process(settings.model_copy(update={"ingest_http_port": free_port()}))
    try:
        await wait_for(
            lambda: count(store, "SELECT uniqExact(event_id) FROM events") == len(stream.good_ids),
            timeout=120,
            what="every good event after the restart",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        await _wait_exit(second, 30)
    assert exact_once(store) == (len(stream.good_ids), len(stream.good_ids))
    assert count(store, "SELECT count() FROM ingest_rejects FINAL") == stream.bad
    assert stored_at_kill < len(stream.good_ids), "the kill must land mid-stream for this test to mean anything"


async def test_clickhouse_down_for_20_seconds_mid_stream(
    servers: Servers, store: ConnectClickHouse, database: str
) -> None:
    from services.stack import api

    if servers.stack is None:
        pytest.skip(f"stopping ClickHouse needs the project's local stack; servers came from {servers.how}")
    stack = servers.stack
    if any(s.name == "nats" and s.origin == api.Origin.STARTED for s in api.status(stack)):
        pytest.skip("the local stack started NATS too; stopping the stack would stop the broker as well")
    stream = mixed_stream(20_000, duplicate_share=0.05, bad_share=0.01)
    settings = ingest_settings(
        servers.clickhouse_url,
        database,
        servers.nats_url,
        ingest_batch_size=1_000,
        ingest_batch_seconds=0.1,
        ingest_http_port=free_port(),
    )
    proc = start_ingest_process(settings)
    try:
        await wait_ready(settings.ingest_http_port, proc)
        subject = settings.ingest_subject.replace(">", "events")
        half = len(stream.bodies) // 2
        await publish_nats(servers.nats_url, subject, stream.bodies[:half])
        await wait_for(lambda: count(store, "SELECT count() FROM events") > 0, timeout=30, what="a first batch")
        await asyncio.to_thread(api.down, stack)
        await publish_nats(servers.nats_url, subject, stream.bodies[half:])
        port = settings.ingest_http_port
        await wait_for(lambda: http_status(port, "/ready") == 503, timeout=15, what="/ready saying not ready")
        await asyncio.sleep(20)  # the outage itself is the subject: ClickHouse stays away for 20 s
        assert proc.poll() is None, "ingest must keep running (and retrying) while ClickHouse is away"
        assert http_status(port, "/health") == 200, "an unreachable store is not a reason to be restarted"
        await asyncio.to_thread(api.ensure_up, stack)
        await wait_for(lambda: http_status(port, "/ready") == 200, timeout=60, what="/ready again")
        await wait_for(
            lambda: count(store, "SELECT uniqExact(event_id) FROM events") == len(stream.good_ids),
            timeout=120,
            what="every good event after ClickHouse came back",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        await _wait_exit(proc, 30)
    assert exact_once(store) == (len(stream.good_ids), len(stream.good_ids))
    assert await nats_consumer_state(servers.nats_url, settings.ingest_stream, settings.ingest_consumer) == (0, 0)
