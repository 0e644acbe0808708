"""Every committed example through every entry point; refusals carry the expected code and field path."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas import MAX_PAYLOAD_BYTES, REGISTRY, EventError, HiredV1, SeparatedV1, parse_event, validate_many
from schemas.export import JSON_DIR, generate

NOW = datetime(2026, 11, 1, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
VALID = sorted(EXAMPLES.glob("valid/*/*.json"))
INVALID = sorted(EXAMPLES.glob("invalid/*/*.json"))


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _refusal(raw: bytes | str) -> EventError:
    with pytest.raises(EventError) as caught:
        parse_event(raw, now=NOW)
    return caught.value


HIRED = {
    "event_id": "1c1d7b52-8f10-4f51-b7a6-3d0f3e9a0a01",
    "event_type": "staffing.hired.v1",
    "occurred_at": "2026-03-02T09:30:00+08:00",
    "emitted_at": "2026-03-02T09:31:05Z",
    "source": "hr-system",
    "worker_id": "W-1",
    "data": {
        "org_unit_id": "BS-ZGH",
        "hire_date": "2026-03-02",
        "source_channel": "graduate",
        "contract_type": "fixed_term",
        "gender": "female",
        "birth_year": 2001,
    },
}


@pytest.mark.parametrize("path", VALID, ids=_id)
def test_valid_example_parses_identically_and_round_trips(path: Path) -> None:
    raw = path.read_bytes()
    first = parse_event(raw, now=NOW)
    assert first.event_type == path.parent.name
    assert parse_event(raw, now=NOW) == first
    assert parse_event(first.model_dump_json(), now=NOW) == first
    assert validate_many([raw], NOW) == [first]


@pytest.mark.parametrize("path", INVALID, ids=_id)
def test_invalid_example_is_refused_for_the_stated_reason(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    raw = _encode(case["payload"])
    error = _refusal(raw)
    assert (error.code, error.field_path) == (case["expect_code"], case["expect_path"]), error.message
    assert error.message.startswith(f"{case['expect_path']}: ")
    assert error.event_type == path.parent.name
    assert validate_many([raw], NOW) == [error]


@pytest.mark.parametrize("event_type", sorted(REGISTRY))
def test_every_type_has_examples(event_type: str) -> None:
    assert len(list(EXAMPLES.glob(f"valid/{event_type}/*.json"))) >= 1
    assert len(list(EXAMPLES.glob(f"invalid/{event_type}/*.json"))) >= 3


def test_example_folders_name_registered_types() -> None:
    assert {p.parent.name for p in VALID + INVALID} <= set(REGISTRY)


@pytest.mark.parametrize(
    ("raw", "code", "needle"),
    [
        (
            b'{"event_type": "staffing.hired.v1", "data": {"x": "\xff\xfe"}}',
            "invalid_utf8",
            "not valid UTF-8",
        ),
        (b'{"event_type": "staffing.hired.v1", "data": {', "malformed_json", "not JSON"),
        (b"", "malformed_json", "not JSON"),
        (b'{"event_type": "staffing.hired.v1", "x": "\\ud800"}', "malformed_json", "not JSON"),
        (b"[1, 2]", "invalid", "JSON object"),
        (b'{"event_type": "staffing.fired.v1"}', "unknown_type", "unknown event type 'staffing.fired.v1'"),
        (b'{"event_type": "payroll.run.v1"}', "unknown_type", "unknown event type"),
        (b'{"event_type": "hired"}', "unknown_type", "expected family.name.vN"),
        (b'{"event_type": "staffing.hired.v2"}', "unknown_version", "unknown version v2 of staffing.hired"),
        (b'{"event_type": 7}', "invalid", "event_type: must be a string"),
        (b'{"event_id": "x"}', "invalid", "event_type: required field is missing"),
        (b"{" + b" " * MAX_PAYLOAD_BYTES + b"}", "too_large", "the limit is 65536 bytes"),
    ],
    ids=[
        "invalid_utf8",
        "truncated",
        "empty",
        "lone_surrogate",
        "not_object",
        "unknown_name",
        "unknown_family",
        "not_a_type_name",
        "unknown_version",
        "type_not_string",
        "type_missing",
        "oversized",
    ],
)
def test_raw_refusals(raw: bytes, code: str, needle: str) -> None:
    error = _refusal(raw)
    assert error.code == code
    assert needle in error.message
    assert validate_many([raw], NOW) == [error]


def test_unknown_version_names_the_known_ones() -> None:
    error = _refusal(_encode({**HIRED, "event_type": "staffing.hired.v2"}))
    assert error.message == "unknown version v2 of staffing.hired (known: v1)"
    assert (error.field_path, error.event_type, error.event_id) == (
        "event_type",
        "staffing.hired.v2",
        HIRED["event_id"],
    )


def test_unknown_type_lists_the_registry() -> None:
    error = _refusal(_encode({**HIRED, "event_type": "staffing.promoted.v1"}))
    assert error.code == "unknown_type"
    assert "staffing.hired.v1" in error.message


def test_size_cap_applies_to_str_in_utf8_bytes() -> None:
    note = "离" * (MAX_PAYLOAD_BYTES // 3)  # few characters, but over the cap once encoded
    assert len(note) < MAX_PAYLOAD_BYTES
    assert _refusal(json.dumps({"note": note}, ensure_ascii=False)).code == "too_large"


def test_str_input_is_accepted() -> None:
    assert isinstance(parse_event(json.dumps(HIRED, ensure_ascii=False), now=NOW), HiredV1)


def test_sql_looking_text_is_plain_text() -> None:
    note = "'); DROP TABLE events; -- \" OR 1=1 /* 薪酬 */"
    raw = _encode(
        {**HIRED, "event_type": "turnover.separated.v1", "data": _separation(note)},
    )
    event = parse_event(raw, now=NOW)
    assert isinstance(event, SeparatedV1)
    assert event.data.note == note


def _separation(note: str) -> dict[str, Any]:
    return {"separation_date": "2026-06-30", "kind": "voluntary", "reason": "pay", "note": note}


def test_all_errors_are_listed_first_path_reported() -> None:
    data = {**HIRED["data"], "hire_date": "1989-01-01", "gender": "x"}  # type: ignore[dict-item]
    error = _refusal(_encode({**HIRED, "data": data}))
    assert error.field_path == "data.hire_date"
    assert "data.hire_date: must be on or after 1990-01-01 (got 1989-01-01)" in error.message
    assert "data.gender: Input should be 'male', 'female' or 'undisclosed'" in error.message


def test_future_bound_follows_the_injected_clock() -> None:
    raw = _encode({**HIRED, "occurred_at": "2026-11-02T00:00:00Z"})
    assert parse_event(raw, now=NOW).occurred_at == datetime(2026, 11, 2, tzinfo=UTC)
    assert _refusal(_encode({**HIRED, "occurred_at": "2026-11-02T00:00:01Z"})).field_path == "occurred_at"
    later = datetime(2026, 11, 5, tzinfo=UTC)
    assert parse_event(_encode({**HIRED, "occurred_at": "2026-11-04T00:00:00Z"}), now=later)


@pytest.mark.parametrize(
    ("occurred_at", "accepted"),
    [
        ("1990-01-01T08:00:00+08:00", True),  # 1990-01-01T00:00:00Z exactly
        ("1990-01-01T07:59:59.999999+08:00", False),
        ("1989-12-31T19:00:00-05:00", True),
        ("2026-11-02T05:30:00.000001+05:30", True),  # now + 1 day - ...: NOW is 2026-11-01T00:00:00.000001Z here
        ("2026-11-02T05:30:00.000002+05:30", False),
        ("2026-11-01T14:00:00.000002-10:00", False),
    ],
)
def test_instant_bounds_hold_to_the_microsecond_in_any_offset(occurred_at: str, accepted: bool) -> None:
    now = NOW.replace(microsecond=1)
    body = _encode({**HIRED, "occurred_at": occurred_at})
    [result] = validate_many([body], now)
    assert isinstance(result, HiredV1) is accepted, result
    if not accepted:
        assert isinstance(result, EventError) and result.field_path == "occurred_at"


def test_naive_clock_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_event(_encode(HIRED), now=datetime(2026, 11, 1))  # noqa: DTZ001 - the naive clock is the point


def test_models_are_frozen() -> None:
    event = parse_event(_encode(HIRED), now=NOW)
    with pytest.raises(ValueError, match="frozen"):
        event.source = "other"  # type: ignore[misc]


def test_batch_keeps_order_and_mixes_results() -> None:
    good = _encode(HIRED)
    results = validate_many([good, b"{", good], NOW)
    assert [type(r).__name__ for r in results] == ["HiredV1", "EventError", "HiredV1"]


def test_committed_json_schemas_match_the_models() -> None:
    committed = {p.name: p.read_text(encoding="utf-8") for p in sorted(JSON_DIR.glob("*.schema.json"))}
    assert committed == generate(), "schemas/json is stale: run `python -m schemas.export`"
