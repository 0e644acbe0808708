"""What ingest keeps of a refused message, its dead letter, and the consumer's dead-lettering. No server needed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from services.ingest.brokers.base import header_value, is_reference, letter, letter_size, reject_headers
from services.ingest.buffer import Buffer
from services.ingest.consumer import Backoff, Consumer
from services.ingest.deliveries import Delivery, Reject
from services.ingest.errors import BrokerUnavailable
from services.ingest.guard import RejectGuard, RejectLimit
from services.ingest.pipeline import Outcome, Pipeline, Prepared
from services.ingest.pseudonymise import Pseudonymiser
from services.ingest.rejects import KEPT_MAX_BYTES, keep, skeleton
from services.ingest.telemetry import IngestMetrics
from services.ingest.writer import RejectRecord, canonical_uuid

NOW = datetime(2026, 11, 1, tzinfo=UTC)
PSEUDONYMISE = Pseudonymiser(b"k" * 40)
CLEAR = "W-0042-CLEAR"
KEY = PSEUDONYMISE(CLEAR)


def message(**fields: Any) -> bytes:
    return json.dumps({"event_type": "staffing.hired.v1", "worker_id": CLEAR, **fields}, ensure_ascii=False).encode()


def test_worker_ids_are_keyed_wherever_the_message_holds_them() -> None:
    body = message(
        data={"worker_id": CLEAR, "note": f"moved from {CLEAR}", CLEAR: 1, "notes": [{"WorkerID": "W-7"}]},
        workerId={"nested": CLEAR},
    )
    kept = keep(body, PSEUDONYMISE)
    assert kept.form == "json" and kept.size == len(body) and kept.sha256 == hashlib.sha256(body).hexdigest()
    stored = json.loads(kept.payload)
    assert CLEAR not in kept.payload and "W-7" not in kept.payload
    assert stored["worker_id"] == KEY and stored["data"]["worker_id"] == KEY
    assert stored["data"]["note"] == f"moved from {KEY}" and stored["data"][KEY] == 1
    assert stored["data"]["notes"] == [{"WorkerID": PSEUDONYMISE("W-7")}]
    assert stored["workerId"] == PSEUDONYMISE(json.dumps({"nested": CLEAR}))
    assert stored["event_type"] == "staffing.hired.v1"
    assert kept.scrub(f"{CLEAR}: unknown field") == f"{KEY}: unknown field"
    assert CLEAR not in repr(kept)


def test_a_message_that_cannot_be_read_as_an_object_keeps_only_its_structure() -> None:
    truncated = f'{{"event_type": "staffing.hired.v1", "worker_id": "{CLEAR}", "data": {{"x": 12, "ok": true'
    assert skeleton(truncated.encode()) == '{"event_type": "…", "worker_id": "…", "data": {"x": …, "ok": true'
    for body in (
        truncated.encode(),
        f"{CLEAR} is not JSON".encode(),
        b"\xff\xfe" + CLEAR.encode(),
        json.dumps(CLEAR).encode(),
        json.dumps([{"worker_id": CLEAR}]).encode(),
        b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"n": ' + b"9" * 5_000 + b"}",
        message(data={"note": "x" * KEPT_MAX_BYTES}),
    ):
        kept = keep(body, PSEUDONYMISE)
        assert kept.form == "skeleton", body[:40]
        assert CLEAR not in kept.payload and len(kept.payload) <= 256 * 3
        assert kept.size == len(body) and kept.sha256 == hashlib.sha256(body).hexdigest()


def test_without_a_pseudonymiser_or_past_the_depth_walked_a_message_keeps_its_skeleton() -> None:
    assert keep(message(), None).form == "skeleton"
    deep = b'{"worker_id": "' + CLEAR.encode() + b'", "a": ' + b"[" * 900 + b"]" * 900 + b"}"
    assert CLEAR not in keep(deep, PSEUDONYMISE).payload


def test_keys_other_than_plain_lower_case_names_are_hidden_in_a_skeleton() -> None:
    assert skeleton(b'{"W0042": 1, "event_id": "x", "Event": null') == '{"…": …, "event_id": "…", "…": null'


def test_a_lone_surrogate_is_stored_as_its_escape() -> None:
    kept = keep(b'{"worker_id": "' + CLEAR.encode() + b'", "note": "\\ud800"}', PSEUDONYMISE)
    assert kept.form == "json" and json.loads(kept.payload)["note"] == "\ud800"
    kept.payload.encode("utf-8")
    assert kept.scrub("a \ud800 b") == "a ? b"


def test_only_canonical_uuids_reach_the_uuid_column() -> None:
    assert canonical_uuid("1C1D7B52-8F10-4F51-B7A6-3D0F3E9A0A02") == "1c1d7b52-8f10-4f51-b7a6-3d0f3e9a0a02"
    assert canonical_uuid("not-a-uuid") is None and canonical_uuid(None) is None and canonical_uuid("0" * 99) is None


def record(body: bytes, *, reason: str = "bad", event_type: str = "", dead_letter: str = "original") -> RejectRecord:
    delivery = Delivery(body, None, "workforce.events", NOW, "7")
    reject = Reject("too_large", reason, "", event_type)
    return RejectRecord(delivery, reject, "nats", keep(body, PSEUDONYMISE), dead_letter)


def test_a_reference_names_the_row_and_carries_no_value_of_the_message() -> None:
    body = message(data={"note": "y" * 500_000})
    ref = record(body, reason=f"about {CLEAR}").by_reference()
    letter_body, headers = letter(ref)
    parsed = json.loads(letter_body)
    assert is_reference(headers) and headers["x-dead-letter"] == "reference"
    assert parsed["sha256"] == hashlib.sha256(body).hexdigest() and parsed["bytes"] == len(body)
    assert parsed["reject_key"] == ref.key and ref.key in parsed["kept_in"]
    assert parsed["reason"] == f"about {KEY}" and CLEAR not in letter_body.decode()
    assert len(letter_body) < 2_000
    original_body, original_headers = letter(record(body))
    assert original_body == body and not is_reference(original_headers)


def test_headers_take_no_control_characters_and_count_as_nats_counts_them() -> None:
    assert header_value("a\r\nb\x00c" + "d" * 2_000) == "a  b c" + "d" * 994
    headers = reject_headers(record(b"x", event_type="type\x00\n"))
    assert headers["x-event-type"] == "type  "
    nats_block = b"NATS/1.0\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items()) + b"\r\n"
    assert letter_size(b"x" * 10, headers) == 10 + len(nats_block)


# --- the consumer's dead-lettering, against a fake broker and a fake store ------------------------------------------


class FakeAdapter:
    name = "fake"

    def __init__(self, limit: int, too_large_over: int, unavailable: int = 0) -> None:
        self.limit, self.too_large_over, self.unavailable = limit, too_large_over, unavailable
        self.sent: list[tuple[bytes, dict[str, str]]] = []
        self.acked: list[Delivery] = []
        self.nacked: list[Delivery] = []

    async def dead_letter_limit(self) -> int:
        return self.limit

    async def dead_letter(self, records: Sequence[RejectRecord]) -> list[RejectRecord]:
        if self.unavailable:
            self.unavailable -= 1
            raise BrokerUnavailable("connection lost")
        refused = [r for r in records if len(letter(r)[0]) > self.too_large_over]
        self.sent += [letter(r) for r in records if r not in refused]
        return refused

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        self.acked += deliveries

    async def nack(self, deliveries: Sequence[Delivery]) -> None:
        self.nacked += deliveries

    async def stop_consuming(self) -> None:
        return None


class FakePipeline:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def commit(self, deliveries: Sequence[Delivery], prepared: Prepared, *, write_rejects: bool = True) -> Outcome:
        return Outcome(rejected=prepared[1])

    def write_rejects(self, records: Sequence[RejectRecord]) -> None:
        self.rows += [(r.stored.sha256, r.dead_letter) for r in records]


def consumer(adapter: FakeAdapter, pipeline: FakePipeline) -> Consumer:
    guard = RejectGuard(RejectLimit(max_share=1.0, window=100, min_rejects=100))
    buffer = Buffer(max_size=10, max_wait=1.0, capacity=10)
    fast = Backoff(first=0.001, factor=1.0, ceiling=0.001)
    return Consumer(cast(Any, adapter), cast(Pipeline, pipeline), buffer, guard, IngestMetrics(), fast)


async def test_a_letter_over_the_limit_goes_by_reference_and_its_row_says_so() -> None:
    adapter, pipeline = FakeAdapter(limit=1_000, too_large_over=10**9), FakePipeline()
    small, big = record(b"small"), record(b"b" * 5_000)
    await consumer(adapter, pipeline)._flush([small.delivery, big.delivery], ([], [small, big]))
    assert adapter.sent[0][0] == b"small"
    assert is_reference(adapter.sent[1][1]) and json.loads(adapter.sent[1][0])["bytes"] == 5_000
    assert pipeline.rows == [(small.stored.sha256, "original"), (big.stored.sha256, "reference")]
    assert adapter.acked == [small.delivery, big.delivery] and adapter.nacked == []


async def test_a_letter_the_broker_refuses_as_too_large_is_sent_again_by_reference() -> None:
    adapter, pipeline = FakeAdapter(limit=10**9, too_large_over=3_000, unavailable=2), FakePipeline()
    big = record(b"b" * 5_000)
    await consumer(adapter, pipeline)._flush([big.delivery], ([], [big]))
    assert len(adapter.sent) == 1 and is_reference(adapter.sent[0][1])
    assert pipeline.rows == [(big.stored.sha256, "original"), (big.stored.sha256, "reference")]
    assert adapter.acked == [big.delivery]


async def test_a_reference_the_broker_refuses_is_recorded_as_not_dead_lettered() -> None:
    adapter, pipeline = FakeAdapter(limit=10**9, too_large_over=1), FakePipeline()
    big = record(b"b" * 5_000)
    await consumer(adapter, pipeline)._flush([big.delivery], ([], [big]))
    assert adapter.sent == [] and [letter for _, letter in pipeline.rows] == ["original", "reference", "none"]
    assert adapter.acked == [big.delivery]


@pytest.mark.parametrize("stopping", [False, True])
async def test_a_broker_that_takes_no_dead_letter_is_retried_never_acked_meanwhile(stopping: bool) -> None:
    adapter, pipeline = FakeAdapter(limit=10**9, too_large_over=10**9, unavailable=3), FakePipeline()
    bad = record(b"bad")
    loop = consumer(adapter, pipeline)
    if stopping:
        loop._stopping.set()
    await loop._flush([bad.delivery], ([], [bad]))
    if stopping:
        assert adapter.sent == [] and adapter.acked == [] and adapter.nacked == [bad.delivery]
    else:
        assert adapter.sent == [(b"bad", reject_headers(bad))] and adapter.acked == [bad.delivery]
