"""Ingest over a real NATS JetStream into a real ClickHouse: exact-once storage, nothing lost."""

from __future__ import annotations

import nats
import pytest
from nats.js.api import RawStreamMsg

from services.common.clickhouse import ConnectClickHouse

from .events import mixed_stream
from .harness import count, exact_once, ingest_settings, nats_consumer_state, publish_nats, running, wait_for
from .servers import Servers


async def _dead_letters(url: str, stream: str) -> list[RawStreamMsg]:
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        info = await js.stream_info(stream)
        messages = []
        for seq in range(1, info.state.last_seq + 1):
            messages.append(await js.get_msg(stream, seq))
        return messages
    finally:
        await client.close()


@pytest.mark.parametrize("total", [5_000, pytest.param(100_000, marks=pytest.mark.slow)])
async def test_good_events_stored_once_bad_ones_dead_lettered(
    servers: Servers, store: ConnectClickHouse, database: str, total: int
) -> None:
    stream = mixed_stream(total, duplicate_share=0.05, bad_share=0.01)
    settings = ingest_settings(servers.clickhouse_url, database, servers.nats_url)
    async with running(settings, store):
        await publish_nats(servers.nats_url, settings.ingest_subject.replace(">", "events"), stream.bodies)
        await wait_for(
            lambda: (
                count(store, "SELECT uniqExact(event_id) FROM events") >= len(stream.good_ids)
                and count(store, "SELECT count() FROM ingest_rejects FINAL") >= stream.bad
            ),
            timeout=60 + total / 500,
            what="every good event stored and every bad one recorded",
        )
    final, distinct = exact_once(store)
    assert final == distinct == len(stream.good_ids)
    stored_ids = {row[0] for row in store.query_rows("SELECT toString(event_id) FROM events")}
    assert stored_ids == stream.good_ids
    assert count(store, "SELECT count() FROM ingest_rejects") == stream.bad
    reasons = dict(store.query_rows("SELECT reason_code, count() FROM ingest_rejects GROUP BY reason_code"))
    assert set(reasons) >= {"invalid_utf8", "malformed_json", "unknown_type", "unknown_version", "invalid"}
    letters = await _dead_letters(servers.nats_url, f"{settings.ingest_stream}_DLQ")
    assert len(letters) == stream.bad
    assert all(m.headers and m.headers["x-reject-code"] and m.headers["x-reject-reason"] for m in letters)
    sql_text = [m for m in letters if b"DROP TABLE" in (m.data or b"")]
    assert sql_text, "SQL-looking text must arrive in the dead letters as text"
    assert count(store, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'events'") == 1


async def test_a_bad_deploy_upstream_stops_consumption_instead_of_dead_lettering_the_stream(
    servers: Servers, store: ConnectClickHouse, database: str
) -> None:
    bad = [b'{"event_type": "staffing.hired.v1", "broken": true}'] * 2_000
    settings = ingest_settings(
        servers.clickhouse_url,
        database,
        servers.nats_url,
        ingest_batch_size=200,
        ingest_reject_window=400,
        ingest_reject_min=50,
        ingest_reject_max_share=0.5,
    )
    async with running(settings, store) as ingest:
        await publish_nats(servers.nats_url, settings.ingest_subject.replace(">", "events"), bad)
        await wait_for(lambda: ingest.consumer.stopped_because is not None, timeout=30, what="the reject limit")
        reason = ingest.consumer.stopped_because or ""
    assert "rejected" in reason and "consumption stopped" in reason
    dead = count(store, "SELECT count() FROM ingest_rejects FINAL")
    assert dead < len(bad) // 2, f"{dead} of {len(bad)} were dead-lettered; the cap must stop well before that"
    pending, ack_pending = await nats_consumer_state(servers.nats_url, settings.ingest_stream, settings.ingest_consumer)
    assert pending + ack_pending > 0, "the refused messages must stay in the broker for after the fix"
