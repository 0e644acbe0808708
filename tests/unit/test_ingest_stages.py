"""Ingest's pure stages: rows, resolve, guard, buffer, pseudonymise, settings. No server needed."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from schemas import parse_event
from services.ingest.deliveries import Delivery
from services.ingest.guard import RejectGuard, RejectLimit
from services.ingest.pipeline import check_amendment
from services.ingest.pseudonymise import Pseudonymiser
from services.ingest.resolve import Known, lookup_ids, resolve
from services.ingest.rows import EventRow, canonical_json, to_row
from services.ingest.settings import IngestSettings
from services.ingest.writer import id_list

NOW = datetime(2026, 11, 1, tzinfo=UTC)
RECEIVED = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Shanghai")
KEY = b"k" * 40
EXAMPLES = Path(__file__).parents[2] / "schemas" / "examples" / "valid"
VALID = sorted(EXAMPLES.glob("*/*.json"))


def example(event_type: str, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(min((EXAMPLES / event_type).glob("*.json")).read_text("utf-8"))
    data = {**payload["data"], **changes.pop("data", {})}
    return {**payload, **changes, "data": data}


def row_of(payload: dict[str, Any]) -> EventRow:
    event = parse_event(json.dumps(payload, ensure_ascii=False), now=NOW)
    return to_row(event, received_at=RECEIVED, pseudonymise=Pseudonymiser(KEY), zone=ZONE)


@pytest.mark.parametrize("path", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_valid_example_becomes_the_same_row_twice(path: Path) -> None:
    payload = json.loads(path.read_text("utf-8"))
    first, second = row_of(payload), row_of(payload)
    assert first == second
    assert first.event_id == payload["event_id"]
    assert json.loads(first.data) == json.loads(second.data)
    if payload.get("worker_id"):
        assert first.worker_key != payload["worker_id"] and len(first.worker_key) == 64
        assert payload["worker_id"] not in first.data
    else:
        assert first.worker_key == ""


def _hashed_fields(row: EventRow) -> dict[str, Any]:
    """The fields the content hash covers, rebuilt from a row independently of `rows.hashed_document`."""
    return {
        "event_id": row.event_id,
        "event_type": row.event_type,
        "occurred_at": row.occurred_at.isoformat(),
        "emitted_at": row.emitted_at.isoformat(),
        "source": row.source,
        "worker_key": row.worker_key,
        "data": json.loads(row.data),
    }


@pytest.mark.parametrize("path", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_content_hash_is_the_sha256_of_the_canonical_document(path: Path) -> None:
    """The hash stored rows carry: rows stored by earlier versions must still match their redeliveries."""
    row = row_of(json.loads(path.read_text("utf-8")))
    document = _hashed_fields(row)
    assert row.data == canonical_json(json.loads(row.data))
    assert row.content_hash == hashlib.sha256(canonical_json(document).encode()).hexdigest()


def test_content_hash_document_escapes_text_like_json() -> None:
    payload = example("org.unit_registered.v1", source='sys"\\tem', data={"name_zh": '工会 "\n\u2028'})
    row = row_of(payload)
    document = _hashed_fields(row)
    assert row.content_hash == hashlib.sha256(canonical_json(document).encode()).hexdigest()


def test_event_date_is_the_payload_date_not_occurred_at() -> None:
    row = row_of(example("staffing.hired.v1", data={"hire_date": "2024-02-29"}))
    assert row.event_date == date(2024, 2, 29)


def test_grade_change_is_dated_by_its_effective_date() -> None:
    row = row_of(example("staffing.grade_changed.v1", data={"effective_date": "2024-02-29"}))
    assert row.event_date == date(2024, 2, 29)


def test_a_hire_without_a_grade_is_stored_byte_for_byte_as_before_issue_16() -> None:
    """The stored data of a hire sent without ``grade_level`` is the message's data, so the content hash of a hire
    stored before the field existed still matches its redelivery; a null grade is the same unknown grade."""
    old = json.loads((EXAMPLES / "staffing.hired.v1" / "graduate.json").read_text("utf-8"))
    assert "grade_level" not in old["data"]
    row = row_of(old)
    assert row.data == canonical_json(old["data"])
    document = {**_hashed_fields(row), "data": old["data"]}
    assert row.content_hash == hashlib.sha256(canonical_json(document).encode()).hexdigest()
    assert row_of({**old, "data": {**old["data"], "grade_level": None}}) == row
    graded = row_of({**old, "data": {**old["data"], "grade_level": 3}})
    assert json.loads(graded.data)["grade_level"] == 3 and graded.content_hash != row.content_hash
    out = resolve(_rows({**old, "data": {**old["data"], "grade_level": None}}), _known(row), check_amendment)
    assert out.duplicates == [0]


def test_correction_is_dated_by_occurred_at_in_the_program_zone() -> None:
    row = row_of(example("correction.retracted.v1", occurred_at="2026-03-01T17:30:00Z"))
    assert row.event_date == date(2026, 3, 2)  # 17:30 UTC is 01:30 the next day in Shanghai


def test_content_hash_changes_with_content_only() -> None:
    base = example("turnover.separated.v1")
    assert row_of(base).content_hash == row_of(dict(base)).content_hash
    assert row_of(base).content_hash != row_of(example("turnover.separated.v1", data={"reason": "family"})).content_hash


def _rows(*payloads: dict[str, Any]) -> list[tuple[int, EventRow]]:
    return [(i, row_of(p)) for i, p in enumerate(payloads)]


def test_resolve_absorbs_duplicates_and_rejects_conflicts() -> None:
    hired = example("staffing.hired.v1")
    changed = example("staffing.hired.v1", data={"gender": "male"})
    out = resolve(_rows(hired, hired, changed), {}, check_amendment)
    assert [i for i, _ in out.new] == [0]
    assert out.duplicates == [1]
    assert [(i, r.code) for i, r in out.rejects] == [(2, "conflict")]


def test_resolve_compares_with_what_the_store_holds() -> None:
    hired = example("staffing.hired.v1")
    row = row_of(hired)
    stored = {row.event_id: Known(row.content_hash, row.event_type, row.data)}
    assert resolve(_rows(hired), stored, check_amendment).duplicates == [0]
    stored = {row.event_id: Known("other", row.event_type, row.data)}
    assert resolve(_rows(hired), stored, check_amendment).rejects[0][1].code == "conflict"


def _correction(kind: str, target: str, **data: Any) -> dict[str, Any]:
    """A correction of ``target`` (an amendment names no target type unless given one)."""
    named = {"target_event_type": None} if kind == "amended" else {}
    return example(
        f"correction.{kind}.v1", event_id=str(uuid.uuid4()), data={"target_event_id": target, **named, **data}
    )


def test_corrections_of_known_corrections_are_refused_and_early_ones_kept() -> None:
    pay = example("staffing.pay_set.v1")
    retract_not_yet_seen = _correction("retracted", str(uuid.uuid4()))  # out of order: its target comes later
    retract_pay = _correction("retracted", pay["event_id"])
    retract_retraction = _correction("retracted", retract_pay["event_id"])
    out = resolve(_rows(pay, retract_not_yet_seen, retract_pay, retract_retraction), {}, check_amendment)
    assert [i for i, _ in out.new] == [0, 1, 2]
    reasons = {i: r.reason for i, r in out.rejects}
    assert list(reasons) == [3] and "correction of a correction" in reasons[3]


def test_amendment_is_checked_against_the_target_type() -> None:
    """Each change alone is checked by the schema (tests/unit/test_schemas.py); resolve checks the target's whole
    data with the changes applied, and the type the amendment names."""
    transfer = example("staffing.transferred.v1")
    good = _correction("amended", transfer["event_id"], changes={"to_unit_id": "U-9"})
    back_to_origin = _correction("amended", transfer["event_id"], changes={"to_unit_id": "BS-YY-PARK-01"})
    other_type = _correction(
        "amended", transfer["event_id"], target_event_type="staffing.hired.v1", changes={"org_unit_id": "U-9"}
    )
    out = resolve(_rows(transfer, good, back_to_origin, other_type), {}, check_amendment)
    assert [i for i, _ in out.new] == [0, 1]
    reasons = {i: r.reason for i, r in out.rejects}
    assert "data.to_unit_id" in reasons[2]
    assert "names target type staffing.hired.v1" in reasons[3]


def _known(*rows: EventRow) -> dict[str, Known]:
    return {row.event_id: Known(row.content_hash, row.event_type, row.data) for row in rows}


def test_grade_amendments_are_checked_against_the_stored_target() -> None:
    change = example("staffing.grade_changed.v1")
    hire = json.loads((EXAMPLES / "staffing.hired.v1" / "graduate.json").read_text("utf-8"))
    stored = _known(row_of(change), row_of(hire))
    unnamed = {"target_event_type": None}  # whatever the example amendment names
    promoted = _correction("amended", change["event_id"], changes={"new_level": 6, "title": None}, **unnamed)
    graded_hire = _correction("amended", hire["event_id"], changes={"grade_level": 3}, **unnamed)
    named_hire = _correction(
        "amended", hire["event_id"], target_event_type="staffing.hired.v1", changes={"grade_level": 20}
    )
    wrong_type = _correction(
        "amended", hire["event_id"], target_event_type="staffing.grade_changed.v1", changes={"new_level": 2}
    )
    out = resolve(_rows(promoted, graded_hire, named_hire, wrong_type), stored, check_amendment)
    assert [i for i, _ in out.new] == [0, 1, 2]
    reasons = {i: r.reason for i, r in out.rejects}
    assert list(reasons) == [3] and "names target type staffing.grade_changed.v1" in reasons[3]


def test_lookup_ids_include_correction_targets() -> None:
    target = str(uuid.uuid4())
    rows = [row for _, row in _rows(_correction("retracted", target))]
    assert target in lookup_ids(rows)


def test_guard_trips_only_past_share_and_minimum() -> None:
    guard = RejectGuard(RejectLimit(max_share=0.5, window=1000, min_rejects=10))
    assert not guard.would_exceed(messages=10, rejects=9)  # 90 % but fewer than 10 rejects
    assert guard.would_exceed(messages=15, rejects=10)  # 10 of 15 = 67 % > 50 %
    guard.record(messages=1000, rejects=0)
    assert not guard.would_exceed(messages=100, rejects=100)  # 100 of 1100 = 9 %


def test_guard_window_forgets_old_batches() -> None:
    guard = RejectGuard(RejectLimit(max_share=0.5, window=100, min_rejects=1))
    guard.record(messages=100, rejects=0)
    guard.record(messages=100, rejects=0)
    assert guard.would_exceed(messages=150, rejects=150)  # the window keeps only ~100 good messages


def test_pseudonymiser_is_stable_keyed_and_hides_its_key() -> None:
    one, other = Pseudonymiser(KEY), Pseudonymiser(b"x" * 40)
    assert one("W-1") == one("W-1") == Pseudonymiser(KEY)("W-1")
    assert one("W-1") != one("W-2") and one("W-1") != other("W-1")
    assert "k" * 10 not in repr(one)
    with pytest.raises(ValueError, match="32 bytes"):
        Pseudonymiser(b"short")


def test_settings_require_a_real_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PSEUDONYM_KEY", raising=False)
    with pytest.raises(ValidationError, match="pseudonym_key"):
        IngestSettings()
    monkeypatch.setenv("PSEUDONYM_KEY", "changeme-changeme-changeme-changeme")
    with pytest.raises(ValidationError, match="placeholder"):
        IngestSettings()
    monkeypatch.setenv("PSEUDONYM_KEY", "3f0a9c41d2b7e85f6a1c3d9e0b4f7a2c8d5e1b6f")
    assert IngestSettings().ingest_batch_size == 10_000


def _delivery(n: int) -> Delivery:
    return Delivery(str(n).encode(), n, "s", RECEIVED)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_buffer_releases_a_batch_by_size() -> None:
    from services.ingest.buffer import Buffer

    buffer = Buffer(max_size=3, max_wait=60, capacity=10)
    await buffer.put([_delivery(i) for i in range(4)])
    assert [d.handle for d in await buffer.take()] == [0, 1, 2]
    assert len(buffer) == 1


async def test_buffer_releases_a_partial_batch_by_age() -> None:
    from services.ingest.buffer import Buffer

    clock = FakeClock()
    buffer = Buffer(max_size=100, max_wait=1.0, capacity=200, clock=clock)
    await buffer.put([_delivery(1)])
    taker = asyncio.create_task(buffer.take())
    await asyncio.sleep(0)
    assert not taker.done()
    clock.now = 1.5
    async with buffer._changed:  # wake the waiter so it re-reads the clock
        buffer._changed.notify_all()
    assert [d.handle for d in await asyncio.wait_for(taker, 2)] == [1]


async def test_buffer_applies_backpressure_and_drains_on_close() -> None:
    from services.ingest.buffer import Buffer

    buffer = Buffer(max_size=2, max_wait=60, capacity=2)
    await buffer.put([_delivery(1), _delivery(2)])
    blocked = asyncio.create_task(buffer.put([_delivery(3)]))
    await asyncio.sleep(0)
    assert not blocked.done()
    assert len(await buffer.take()) == 2
    await asyncio.wait_for(blocked, 1)
    await buffer.close()
    assert [d.handle for d in await buffer.take()] == [3]
    assert await buffer.take() == []


def test_id_list_binds_only_canonical_uuids() -> None:
    first, second = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
    assert id_list([first, second]) == f"{first},{second}".encode()
    for bad in ("$ids$", str(uuid.UUID(int=2**128 - 1)).upper(), f"{first},", "x"):
        with pytest.raises(ValueError, match="canonical"):
            id_list([first, bad])


class _Incoming:
    """Just what the RabbitMQ adapter reads of an aio-pika message, recording how it was settled."""

    def __init__(self, tag: int, channel: object, settled: list[tuple[str, int, bool]]) -> None:
        self.delivery_tag, self.channel, self.body, self.message_id = tag, channel, b"{}", f"m{tag}"
        self._settled = settled

    async def ack(self, multiple: bool = False) -> None:
        self._settled.append(("ack", self.delivery_tag, multiple))

    async def nack(self, requeue: bool = True) -> None:
        self._settled.append(("nack", self.delivery_tag, False))


async def test_rabbit_acks_a_batch_with_one_multiple_ack_only_when_nothing_earlier_is_outstanding() -> None:
    from services.ingest.brokers.base import Channels
    from services.ingest.brokers.rabbit import RabbitAdapter

    adapter = RabbitAdapter(
        "amqp://guest:guest@127.0.0.1:5672/", Channels("q", "dlq", "s", "c", 10), clock=lambda: datetime.now(UTC)
    )
    settled: list[tuple[str, int, bool]] = []
    channel = object()
    for tag in range(1, 7):
        adapter._received(_Incoming(tag, channel, settled))  # type: ignore[arg-type]
    first, second, third = adapter._arrived[:2], adapter._arrived[2:4], adapter._arrived[4:]
    await adapter.ack(second)  # 1 and 2 still outstanding: one ack each, never a multiple one
    assert settled == [("ack", 3, False), ("ack", 4, False)]
    settled.clear()
    await adapter.ack(first)  # nothing earlier outstanding: one frame covers 1 and 2
    assert settled == [("ack", 2, True)]
    settled.clear()
    await adapter.nack(third[:1])
    await adapter.ack(third[1:])  # 5 was nacked (settled), so 6 alone may go as a multiple ack
    assert settled == [("nack", 5, False), ("ack", 6, True)]
