"""Key rotation without a server: key ids, PSEUDONYM_KEYS_PREVIOUS, redeliveries after a rotation, the re-key plan."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr, ValidationError

from services.ingest.deliveries import Delivery
from services.ingest.pipeline import Pipeline, check_amendment
from services.ingest.pseudonymise import Pseudonymiser, key_id
from services.ingest.rekey import chunks, plan, read_worker_ids
from services.ingest.resolve import Known, resolve
from services.ingest.rows import EventRow
from services.ingest.settings import IngestSettings

KEY_A = "9c41d2b7e85f6a1c3d9e0b4f7a2c8d5e1b6f3f0a"
KEY_B = "e0b4f7a2c8d5e1b6f3f0a9c41d2b7e85f6a1c3d9"
NOW = datetime(2026, 11, 1, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Shanghai")
EXAMPLES = Path(__file__).parents[2] / "schemas" / "examples" / "valid"


def example(event_type: str, **data: Any) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(min((EXAMPLES / event_type).glob("*.json")).read_text("utf-8"))
    return {**payload, "data": {**payload["data"], **data}}


class MemoryWriter:
    """The writer's three calls over a dict: what the pipeline reads back is what it wrote."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[EventRow, str | None]] = {}

    def known(self, event_ids: set[str]) -> dict[str, Known]:
        found = {i: self.rows[i][0] for i in event_ids if i in self.rows}
        return {i: Known(row.content_hash, row.event_type, row.data) for i, row in found.items()}

    def write_events(self, rows: Sequence[EventRow], *, key_id: str | None = None) -> None:
        self.rows.update((row.event_id, (row, key_id if row.worker_key else "")) for row in rows)

    def write_rejects(self, records: Sequence[object]) -> None:
        pass


def pipeline(writer: MemoryWriter, key: str, *previous: str) -> Pipeline:
    return Pipeline(
        writer,  # type: ignore[arg-type]  # the writer's interface, in memory
        Pseudonymiser(key.encode()),
        zone=ZONE,
        broker="test",
        clock=lambda: NOW,
        previous=[Pseudonymiser(p.encode()) for p in previous],
    )


def deliveries(*payloads: Mapping[str, Any]) -> list[Delivery]:
    return [Delivery(json.dumps(p).encode(), i, "s", NOW, str(i)) for i, p in enumerate(payloads)]


def test_a_key_id_names_a_key_without_revealing_it() -> None:
    assert key_id(KEY_A.encode()) == key_id(KEY_A.encode()) == Pseudonymiser(KEY_A.encode()).key_id
    assert key_id(KEY_A.encode()) != key_id(KEY_B.encode())
    assert len(key_id(KEY_A.encode())) == 8 and int(key_id(KEY_A.encode()), 16) >= 0
    assert KEY_A not in repr(Pseudonymiser(KEY_A.encode()))


def test_previous_keys_are_read_and_kept_secret() -> None:
    settings = IngestSettings(pseudonym_key=SecretStr(KEY_B), pseudonym_keys_previous=SecretStr(f" {KEY_A} ,"))
    assert settings.previous_keys == (KEY_A,)
    assert KEY_A not in repr(settings) and KEY_A not in str(settings.model_dump())
    assert IngestSettings(pseudonym_key=SecretStr(KEY_B)).previous_keys == ()


@pytest.mark.parametrize(
    ("previous", "message"),
    [
        ("a" * 32, "key 1 of 1 is too predictable"),
        (f"{KEY_A},{'password' * 4}", "key 2 of 2 is too predictable"),
        ("short", "key 1 of 1 must be at least 32"),
        (f"{KEY_A},{KEY_A}", "names one key twice"),
        (KEY_B, "holds the current PSEUDONYM_KEY"),
    ],
)
def test_previous_keys_pass_the_same_rules_and_are_never_echoed(previous: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as error:
        IngestSettings(pseudonym_key=SecretStr(KEY_B), pseudonym_keys_previous=SecretStr(previous))
    for key in previous.split(","):
        assert key not in str(error.value)


def test_a_redelivery_after_rotation_is_a_duplicate_and_a_changed_event_still_a_conflict() -> None:
    hired, moved = example("staffing.hired.v1"), example("staffing.transferred.v1")
    org = example("org.unit_registered.v1")
    writer = MemoryWriter()
    first = pipeline(writer, KEY_A).store(deliveries(hired, moved, org))
    assert len(first.stored) == 3 and not first.rejected

    without_previous = pipeline(writer, KEY_B).store(deliveries(hired, moved))  # issue 15's rotation
    assert [r.reject.code for r in without_previous.rejected] == ["conflict"] * 2

    changed = {**hired, "data": {**hired["data"], "gender": "male"}}
    again = pipeline(writer, KEY_B, KEY_A).store(deliveries(hired, moved, org, changed))
    assert len(again.duplicates) == 3 and not again.stored
    assert [r.reject.code for r in again.rejected] == ["conflict"]


def test_new_rows_carry_the_current_key_id_and_rows_without_a_worker_none() -> None:
    writer = MemoryWriter()
    hired = example("staffing.hired.v1")
    org = example("org.unit_registered.v1")
    pipeline(writer, KEY_B, KEY_A).store(deliveries(hired, org))
    assert writer.rows[hired["event_id"]] == (writer.rows[hired["event_id"]][0], key_id(KEY_B.encode()))
    worker_id = unicodedata.normalize("NFC", hired["worker_id"])  # this example's id arrives decomposed
    assert writer.rows[hired["event_id"]][0].worker_key == Pseudonymiser(KEY_B.encode())(worker_id)
    assert writer.rows[org["event_id"]][1] == ""


def test_resolve_asks_for_earlier_hashes_only_when_the_stored_hash_differs() -> None:
    hired = example("staffing.hired.v1")
    row = pipeline(MemoryWriter(), KEY_B).validate(deliveries(hired))[0]
    asked: list[int] = []

    def earlier(index: int) -> list[str]:
        asked.append(index)
        return ["hash-under-a"]

    same = {row[0][1].event_id: Known(row[0][1].content_hash, "staffing.hired.v1", "{}")}
    assert resolve(row, same, check_amendment, earlier).duplicates == [0] and asked == []
    under_a = {row[0][1].event_id: Known("hash-under-a", "staffing.hired.v1", "{}")}
    assert resolve(row, under_a, check_amendment, earlier).duplicates == [0] and asked == [0]


def test_the_rekey_plan_maps_each_previous_pseudonym_to_the_current_one() -> None:
    a, b, c = (Pseudonymiser(k.encode()) for k in (KEY_A, KEY_B, "f6a1c3d9e0b4f7a2c8d5e1b6f3f0a9c41d2b7e85"))
    decomposed = unicodedata.normalize("NFD", "W-é")
    ids = read_worker_ids(["W-1\n", "  W-2 ", "", "\n", f"{decomposed}\n", "W-1"])
    assert ids == {"W-1", "W-2", "W-é"}
    mapping = plan(ids, b, [a, c])
    assert mapping == {p(i): b(i) for p in (a, c) for i in ids} and len(mapping) == 6
    pieces = list(chunks(mapping, size=4))
    assert [len(old) for old, _ in pieces] == [4, 2]
    assert {o: n for old, new in pieces for o, n in zip(old, new, strict=True)} == mapping
    with pytest.raises(ValueError, match="64 lower-case hex"):
        list(chunks({"x') OR 1=1 --": b("W-1")}))
