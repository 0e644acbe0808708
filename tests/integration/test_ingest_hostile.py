"""Hostile input against a real NATS and a real ClickHouse: no message stops ingest, none is lost, and
ClickHouse never holds a clear worker id (issue 15)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import subprocess
import time
import uuid

import nats
import pytest
from nats.js.api import RawStreamMsg

from services.common.clickhouse import ConnectClickHouse, identifier
from services.ingest.app import channels_for, utc_now
from services.ingest.brokers import make_adapter
from services.ingest.deliveries import Delivery, Reject
from services.ingest.pseudonymise import Pseudonymiser
from services.ingest.rejects import keep
from services.ingest.writer import EventWriter, RejectRecord
from services.stack.ports import free_port

from .events import hire, mixed_stream
from .harness import (
    TEST_KEY,
    count,
    exact_once,
    ingest_settings,
    nats_consumer_state,
    publish_nats,
    running,
    start_ingest_process,
    wait_for,
    wait_ready,
)
from .servers import Servers

NATS_MAX_PAYLOAD = 1_048_576  # the server's default max_payload; the largest message it accepts
PLANTED = "PLANTED-CLEAR-ID-123"


def padded_json(size: int, n: int) -> bytes:
    """A hire whose note pads the JSON to exactly `size` bytes."""
    payload = json.loads(hire(n, namespace=uuid.UUID(int=n)))
    payload["data"]["note"] = ""
    empty = json.dumps(payload).encode()
    payload["data"]["note"] = "x" * (size - len(empty))
    body = json.dumps(payload).encode()
    assert len(body) == size
    return body


def oversized() -> list[bytes]:
    """JSON and non-JSON messages from 1 MiB − 16 bytes to the largest the server accepts, and one that fits
    a dead letter with its headers (100 kB: too large for an event, small for the broker)."""
    sizes = (NATS_MAX_PAYLOAD - 16, NATS_MAX_PAYLOAD - 1, NATS_MAX_PAYLOAD)
    big = [padded_json(size, n) for n, size in enumerate(sizes, 1)]
    big += [bytes([0x80 + n]) * size for n, size in enumerate(sizes)]  # neither UTF-8 nor JSON
    return [*big, padded_json(100_000, 9)]


async def dead_letters(url: str, stream: str) -> list[RawStreamMsg]:
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        info = await js.stream_info(stream)
        return [await js.get_msg(stream, seq) for seq in range(info.state.first_seq, info.state.last_seq + 1)]
    finally:
        await client.close()


def alive(proc: subprocess.Popen[bytes]) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"ingest exited with {proc.returncode} on a hostile message (its output is above)")
    return True


async def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("ingest did not exit after SIGTERM")
        await asyncio.sleep(0.1)
    return int(proc.returncode)


@pytest.mark.slow
async def test_messages_up_to_the_brokers_limit_never_stop_ingest(
    servers: Servers, store: ConnectClickHouse, database: str
) -> None:
    good = mixed_stream(600, duplicate_share=0.05, bad_share=0.0)
    bad = [*oversized(), b'{"event_id": "not-a-uuid", "event_type": "staffing.hired.v1"}']
    half = len(good.bodies) // 2
    settings = ingest_settings(
        servers.clickhouse_url, database, servers.nats_url, ingest_batch_size=200, ingest_http_port=free_port()
    )
    subject = settings.ingest_subject.replace(">", "events")
    proc = start_ingest_process(settings)
    try:
        await wait_ready(settings.ingest_http_port, proc)
        await publish_nats(servers.nats_url, subject, good.bodies[:half])
        await publish_nats(servers.nats_url, subject, bad, window=1)
        await publish_nats(servers.nats_url, subject, good.bodies[half:])

        def settled() -> bool:
            alive(proc)
            return count(store, "SELECT uniqExact(event_id) FROM events") >= len(good.good_ids) and count(
                store, "SELECT count() FROM ingest_rejects"
            ) >= len(bad)

        await wait_for(settled, timeout=120, what="every good event stored and every bad one recorded")

        async def drained() -> bool:
            alive(proc)
            return await nats_consumer_state(servers.nats_url, settings.ingest_stream, settings.ingest_consumer) == (
                0,
                0,
            )

        deadline = time.monotonic() + 30
        while not await drained():
            assert time.monotonic() < deadline, "messages left unacknowledged"
            await asyncio.sleep(0.2)
        alive(proc)

        assert exact_once(store) == (len(good.good_ids), len(good.good_ids))
        assert count(store, "SELECT count() FROM ingest_rejects") == len(bad), "one reject row per bad message"
        assert count(store, "SELECT uniqExact(reject_key) FROM ingest_rejects") == len(bad)
        rows = {
            sha: (size, form, letter)
            for sha, size, form, letter in store.query_rows(
                "SELECT payload_sha256, payload_bytes, payload_form, dead_letter FROM ingest_rejects"
            )
        }
        assert {sha: rows[sha][0] for sha in rows} == {hashlib.sha256(b).hexdigest(): len(b) for b in bad}

        letters = await dead_letters(servers.nats_url, f"{settings.ingest_stream}_DLQ")
        assert len(letters) == len(bad), "exactly one dead letter per bad message"
        originals = [m for m in letters if (m.headers or {}).get("x-dead-letter") == "original"]
        references = [m for m in letters if (m.headers or {}).get("x-dead-letter") == "reference"]
        assert sorted(m.data or b"" for m in originals) == sorted(b for b in bad if len(b) < 200_000)
        assert len(references) == 6, "the six messages of about 1 MiB go by reference"
        for message in references:
            body = json.loads(message.data or b"")
            assert len(message.data or b"") < 8_192
            assert rows[body["sha256"]][0] == body["bytes"] >= NATS_MAX_PAYLOAD - 16
            assert rows[body["sha256"]][2] == "reference"
            assert body["reject_key"] and "ingest_rejects" in body["kept_in"]
        json_forms = {sha for sha, (_, form, _) in rows.items() if form == "json"}
        assert {hashlib.sha256(b).hexdigest() for b in bad if b.startswith(b"{")} <= json_forms

        # replay moves the originals back (and refuses them again); references stay where they are
        replayer = make_adapter(servers.nats_url, channels_for(settings), clock=utc_now)
        try:
            assert await replayer.replay_dead_letters() == len(originals)
        finally:
            await replayer.close()
        await wait_for(
            lambda: alive(proc) and count(store, "SELECT count() FROM ingest_rejects") == len(bad) + len(originals),
            timeout=60,
            what="the replayed originals refused again",
        )
        alive(proc)
        assert await stop(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def planted_messages(event_id: str) -> list[bytes]:
    """Bad messages that all carry the planted clear worker id, each in another place or shape."""
    valid = json.loads(hire(1, namespace=uuid.UUID(int=1)))
    valid["worker_id"] = PLANTED

    def variant(**changes: object) -> bytes:
        return json.dumps({**valid, "event_id": str(uuid.uuid4()), **changes}, ensure_ascii=False).encode()

    return [
        json.dumps({**valid, "event_id": event_id, "source": "other"}).encode(),  # conflict: same id, other content
        variant(data={**valid["data"], "hire_date": "not a date", "note": f"about {PLANTED}"}),  # invalid
        variant(data={**valid["data"], "worker_id": PLANTED}, workerId=PLANTED),  # nested and misspelt keys
        variant(event_type=PLANTED),  # unknown type named after the worker
        variant(**{PLANTED: 1}),  # a key named after the worker (extra field)
        variant(event_id="not-a-uuid", worker_id={"value": PLANTED}),  # not a UUID, not a string
        variant(data={**valid["data"], "note": "x" * 70_000}),  # too large for an event
        f'{{"event_type": "staffing.hired.v1", "worker_id": "{PLANTED}", "data": {{'.encode(),  # truncated
        f"{PLANTED} is not JSON".encode(),
        b"\xff\xfe not UTF-8 " + PLANTED.encode(),
        json.dumps(PLANTED).encode(),  # JSON, but not an object
        json.dumps([{"worker_id": PLANTED}]).encode(),
    ]


def tables_holding(store: ConnectClickHouse, needle: str) -> dict[str, int]:
    """Every table of the database whose rows, in any column, contain `needle` (case-insensitive)."""
    found = {}
    for (table,) in store.query_rows("SELECT name FROM system.tables WHERE database = currentDatabase()"):
        sql = (
            f"SELECT count() FROM {identifier(table)} WHERE positionCaseInsensitive(formatRow('TSVRaw', *), %(n)s) > 0"
        )
        rows = int(store.query_rows(sql, {"n": needle})[0][0])
        if rows:
            found[table] = rows
    return found


async def test_no_clear_worker_id_reaches_clickhouse(servers: Servers, store: ConnectClickHouse, database: str) -> None:
    valid = json.loads(hire(1, namespace=uuid.UUID(int=1)))
    valid["worker_id"] = PLANTED
    bad = planted_messages(valid["event_id"])
    settings = ingest_settings(servers.clickhouse_url, database, servers.nats_url)
    subject = settings.ingest_subject.replace(">", "events")
    async with running(settings, store):
        await publish_nats(servers.nats_url, subject, [json.dumps(valid).encode()])
        await wait_for(lambda: count(store, "SELECT count() FROM events") == 1, timeout=30, what="the valid hire")
        await publish_nats(servers.nats_url, subject, bad)
        await wait_for(
            lambda: count(store, "SELECT count() FROM ingest_rejects") == len(bad), timeout=30, what="every reject"
        )
    pseudonym = Pseudonymiser(TEST_KEY.encode())(PLANTED)
    assert store.query_rows("SELECT worker_key FROM events") == [(pseudonym,)]
    assert tables_holding(store, PLANTED) == {}, "a clear worker id reached ClickHouse"
    assert tables_holding(store, pseudonym) == {"events": 1, "ingest_rejects": 6}
    forms = dict(store.query_rows("SELECT payload_form, count() FROM ingest_rejects GROUP BY payload_form"))
    assert forms == {"json": 7, "skeleton": 5}

    # the dead letters keep the bytes as sent, so a replay re-submits them unchanged
    letters = await dead_letters(servers.nats_url, f"{settings.ingest_stream}_DLQ")
    assert sorted(m.data or b"" for m in letters) == sorted(bad)
    replayer = make_adapter(servers.nats_url, channels_for(settings), clock=utc_now)
    try:
        assert await replayer.replay_dead_letters() == len(bad)
    finally:
        await replayer.close()


def test_a_reject_row_rewritten_by_reference_replaces_the_first(store: ConnectClickHouse) -> None:
    body = b"x" * 2_000
    delivery = Delivery(body, None, "workforce.events", utc_now(), "1")
    first = RejectRecord(delivery, Reject("too_large", "big"), "nats", keep(body, Pseudonymiser(TEST_KEY.encode())))
    writer = EventWriter(store)
    writer.write_rejects([first])
    writer.write_rejects([first])  # a retry of the same insert is absorbed
    writer.write_rejects([first.by_reference()])
    assert store.query_rows("SELECT dead_letter FROM ingest_rejects FINAL") == [("reference",)]
    assert count(store, "SELECT count() FROM ingest_rejects") == 2
