"""Every committed example through every entry point; refusals carry the expected code and field path."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas import (
    MAX_PAYLOAD_BYTES,
    REGISTRY,
    AmendedData,
    EventError,
    GradeChangedV1,
    HiredV1,
    SeparatedV1,
    parse_event,
    validate_many,
)
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


HIRED: dict[str, Any] = {
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
    """An example holds the message as a JSON ``payload``, or as ``raw`` text when JSON cannot hold it (a key
    named twice, NaN)."""
    case = json.loads(path.read_text(encoding="utf-8"))
    raw = case["raw"].encode("utf-8") if "raw" in case else _encode(case["payload"])
    error = _refusal(raw)
    assert (error.code, error.field_path) == (case["expect_code"], case["expect_path"]), error.message
    if case["expect_path"]:
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
    data = {**HIRED["data"], "hire_date": "1989-01-01", "gender": "x"}
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


# Issue 15: hostile amendments are refused when they arrive, before their target (item 2); the parser is as strict
# as the contract (item 5).

AMENDMENT: dict[str, Any] = {
    "event_id": "7f2d8c99-a0b1-4c23-9e45-f6a7b8c9da01",
    "event_type": "correction.amended.v1",
    "occurred_at": "2026-03-02T09:30:00+08:00",
    "emitted_at": "2026-03-02T09:31:05Z",
    "source": "hr-system",
    "data": {"target_event_id": "3b8f4e55-6c7d-4e8f-9a01-b2c3d4e5f601", "changes": {"monthly_base": "7050.50"}},
}


def _amendment(changes: dict[str, Any], **data: Any) -> dict[str, Any]:
    return {**AMENDMENT, "data": {**AMENDMENT["data"], "changes": changes, **data}}


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"monthly_base": "abc"}, "monthly_base: Input should be a valid decimal"),
        ({"birth_year": "x"}, "birth_year: Input should be a valid integer"),
        ({"hire_date": "1969-12-01"}, "hire_date: must be on or after 1990-01-01"),
        ({"monthly_base": 1e400}, "monthly_base: numbers must be finite"),
        ({"parent_id": {"nested": [1.0, 1e400]}}, "parent_id: numbers must be finite"),
        ({"colour": "red"}, "colour: no event type has this field"),
        ({"monthly_base": "7000", "hire_date": "2025-09-01"}, "no event type has all of the fields"),
        ({"new_level": "x"}, "new_level: Input should be a valid integer"),
        ({"new_level": 0}, "new_level: Input should be greater than or equal to 1"),
        ({"title": "主管\u0007社工"}, "title: control character U+0007"),
        ({"grade_level": True}, "grade_level: Input should be a valid integer"),
        ({"grade_level": 3, "new_level": 4}, "no event type has all of the fields"),
    ],
    ids=[
        "base_abc",
        "birth_year_x",
        "hire_date_1969",
        "base_1e400",
        "nested_1e400",
        "unknown_field",
        "two_types",
        "new_level_x",
        "new_level_0",
        "title_control_char",
        "grade_level_true",
        "hire_and_grade_change",
    ],
)
def test_a_hostile_amendment_is_refused_before_its_target_arrives(changes: dict[str, Any], needle: str) -> None:
    raw = _encode(_amendment(changes)).replace(b"Infinity", b"1e400")  # json.dumps writes inf as Infinity
    error = _refusal(raw)
    assert (error.code, error.field_path) == ("invalid", "data.changes")
    assert needle in error.message
    assert validate_many([raw], NOW) == [error]


def test_an_amendment_naming_its_target_type_is_checked_against_that_type_alone() -> None:
    named = _amendment({"kind": "initial"}, target_event_type="training.completed.v1")
    parsed = parse_event(_encode(named), now=NOW)
    assert isinstance(parsed.data, AmendedData) and parsed.data.target_event_type == "training.completed.v1"
    wrong = _amendment({"kind": "initial"}, target_event_type="turnover.separated.v1")
    assert "as a field of turnover.separated.v1" in _refusal(_encode(wrong)).message
    # without a name, one type that has the field and takes the value is enough (kind: training or separation)
    assert parse_event(_encode(_amendment({"kind": "initial"})), now=NOW)


def test_an_amendment_without_a_target_type_is_stored_as_before() -> None:
    """The optional field is left out of the stored payload when absent: content hashes of amendments stored
    before it existed do not change, so their redelivery is still absorbed, not refused as a conflict."""
    event = parse_event(_encode(AMENDMENT), now=NOW)
    assert "target_event_type" not in event.data.model_dump(mode="json")
    named = parse_event(_encode(_amendment({"allowances": 1}, target_event_type="staffing.pay_set.v1")), now=NOW)
    assert named.data.model_dump(mode="json")["target_event_type"] == "staffing.pay_set.v1"


# Issue 16: career progression. A grade is a JSON integer 1..20, on a grade change and (optional) on a hire.

GRADE_CHANGE: dict[str, Any] = {
    **HIRED,
    "event_type": "staffing.grade_changed.v1",
    "data": {"effective_date": "2026-03-01", "new_level": 4, "title": "主管社工"},
}


@pytest.mark.parametrize(
    ("level", "accepted"),
    [(1, True), (20, True), (0, False), (21, False), (-1, False), ("3", False), (2.5, False), (3.0, False),
     (True, False), (None, False), (1e400, False)],
)  # fmt: skip
def test_a_grade_is_a_json_integer_from_1_to_20(level: object, accepted: bool) -> None:
    change = {**GRADE_CHANGE, "data": {**GRADE_CHANGE["data"], "new_level": level}}
    hire = {**HIRED, "data": {**HIRED["data"], "grade_level": level}}
    for payload, path in ((change, "data.new_level"), (hire, "data.grade_level")):
        raw = _encode(payload).replace(b"Infinity", b"1e400")
        [result] = validate_many([raw], NOW)
        if accepted or (level is None and path == "data.grade_level"):
            assert not isinstance(result, EventError), result
        else:
            assert isinstance(result, EventError) and (result.code, result.field_path) == ("invalid", path)


def test_a_grade_change_title_is_optional_free_text_up_to_200_characters() -> None:
    for title in (None, "", "主管社工\n（督导）", "長" * 200):
        event = parse_event(_encode({**GRADE_CHANGE, "data": {**GRADE_CHANGE["data"], "title": title}}), now=NOW)
        assert isinstance(event, GradeChangedV1) and event.data.title == title
    untitled = {k: v for k, v in GRADE_CHANGE["data"].items() if k != "title"}
    assert parse_event(_encode({**GRADE_CHANGE, "data": untitled}), now=NOW).data.model_dump(mode="json") == {
        **untitled,
        "title": None,
    }
    for title, needle in (("長" * 201, "at most 200 characters"), ("主管\r社工", "control character U+000D")):
        error = _refusal(_encode({**GRADE_CHANGE, "data": {**GRADE_CHANGE["data"], "title": title}}))
        assert error.field_path == "data.title" and needle in error.message


def test_a_grade_change_is_a_worker_event_with_a_date_in_bounds() -> None:
    assert _refusal(_encode({**GRADE_CHANGE, "worker_id": None})).field_path == "worker_id"
    late = _refusal(_encode({**GRADE_CHANGE, "data": {**GRADE_CHANGE["data"], "effective_date": "2026-11-03"}}))
    assert late.field_path == "data.effective_date" and "today + 1 day" in late.message


def test_a_hire_without_a_grade_is_stored_as_before() -> None:
    """``grade_level`` is optional (issue 16) and left out of the stored payload when absent or null: hires stored
    before it existed keep their content hash, so their redelivery is still absorbed, not refused as a conflict."""
    stored = parse_event(_encode(HIRED), now=NOW).data.model_dump(mode="json")
    assert stored == HIRED["data"]
    null = parse_event(_encode({**HIRED, "data": {**HIRED["data"], "grade_level": None}}), now=NOW)
    assert null.data.model_dump(mode="json") == stored
    graded = parse_event(_encode({**HIRED, "data": {**HIRED["data"], "grade_level": 3}}), now=NOW)
    assert graded.data.model_dump(mode="json") == {**HIRED["data"], "grade_level": 3}


def test_grade_amendments_are_checked_like_any_other() -> None:
    for changes, named in (
        ({"grade_level": 3}, None),
        ({"grade_level": 3}, "staffing.hired.v1"),
        ({"grade_level": None}, "staffing.hired.v1"),
        ({"new_level": 5, "title": None}, None),
        ({"effective_date": "2026-02-01"}, "staffing.grade_changed.v1"),
    ):
        extra = {"target_event_type": named} if named else {}
        assert parse_event(_encode(_amendment(changes, **extra)), now=NOW)
    for changes in ({"new_level": "x"}, {"new_level": 0}, {"new_level": 21}, {"title": "長" * 201}):
        error = _refusal(_encode(_amendment(changes, target_event_type="staffing.grade_changed.v1")))
        assert (error.code, error.field_path) == ("invalid", "data.changes")
        assert "(as a field of staffing.grade_changed.v1)" in error.message
    wrong = _refusal(_encode(_amendment({"grade_level": 3}, target_event_type="staffing.grade_changed.v1")))
    assert "grade_level: staffing.grade_changed.v1 has no such field" in wrong.message


OTHER_ID = "9d4c2f7e-0000-4000-8000-000000000001"


def _hired_text(
    *, indent: int | None = None, separators: tuple[str, str] | None = None, ascii_only: bool = False
) -> str:
    return json.dumps(HIRED, ensure_ascii=ascii_only, indent=indent, separators=separators)


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (_hired_text().replace('"event_type"', f'"event_id": "{OTHER_ID}", "event_type"'),
         "event_id"),
        (_hired_text(separators=(",", ":")).replace('"worker_id":"W-1"', '"worker_id":"W-1","worker_id":"W-2"'),
         "worker_id"),
        (_hired_text().replace('"hire_date"', '"org_unit_id": "OTHER", "hire_date"'), "data.org_unit_id"),
        (_hired_text().replace('"birth_year": 2001', '"birth_year": 2001, "birth_year": 2001'), "data.birth_year"),
        (_hired_text().replace('"source": "hr-system"', '"source": "hr-system", "source" : "hr-system"'), "source"),
        (_hired_text(indent=2).replace('"gender": "female"', '"gender": "female",\n "gender"\n:\t"male"'),
         "data.gender"),
        (_hired_text().replace('"event_type"', f'"event\\u005fid": "{OTHER_ID}", "event_type"'), "event_id"),
        (json.dumps(_amendment({"parent_id": None})).replace('"parent_id": null', '"parent_id": {"a": 1, "a": 2}'),
         "data.changes.parent_id.a"),
        (_hired_text().replace('"birth_year": 2001', '"birth_year": 2001, "grade_level": null, "grade_level": 3'),
         "data.grade_level"),
    ],
    ids=["event_id", "compact", "in_data", "same_value_twice", "space_before_colon", "pretty", "escaped_key", "deep",
         "optional_field"],
)  # fmt: skip
def test_a_key_named_twice_is_refused_at_any_depth(raw: str, path: str) -> None:
    error = _refusal(raw.encode())
    assert (error.code, error.field_path) == ("duplicate_key", path), error.message
    assert "key appears more than once" in error.message
    assert validate_many([raw.encode()], NOW) == [error]


@pytest.mark.parametrize(
    "raw",
    [
        _hired_text(),
        _hired_text(separators=(",", ":")),
        _hired_text(indent=2),
        _hired_text().replace('": ', '" :\t'),  # whitespace before every colon
        _hired_text(ascii_only=True).replace('"W-1"', '"\\u5f20\\u4e09"'),  # escapes: the full check runs
        _hired_text().replace('"BS-ZGH"', '":BS\\":"'),  # a value that starts with a colon, and an escaped quote
        _hired_text().replace('"hr-system"', '"\\"event_id\\":"'),
    ],
    ids=["default", "compact", "pretty", "space_before_colon", "escaped", "colon_value", "key_lookalike_value"],
)
def test_unique_keys_pass_however_the_json_is_spelled(raw: str) -> None:
    [event] = validate_many([raw.encode()], NOW)
    assert isinstance(event, HiredV1), event
    assert parse_event(raw, now=NOW) == event


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(literal: str) -> None:
    raw = _encode(HIRED).replace(b'"birth_year": 2001', b'"birth_year": ' + literal.encode())
    error = _refusal(raw)
    assert error.code == "malformed_json" and "not a JSON value" in error.message
    assert validate_many([raw], NOW) == [error]
    in_changes = _encode(_amendment({"monthly_base": 1})).replace(b": 1}", b": " + literal.encode() + b"}")
    assert _refusal(in_changes).code == "malformed_json"


@pytest.mark.parametrize(
    ("occurred_at", "accepted"),
    [
        ("2026-03-02T09:30:00+08:00", True),
        ("2026-03-02T01:30:00Z", True),
        ("2026-03-02t01:30:00.123456z", True),  # RFC 3339 5.6: "t" and "z" may be lower case
        ("2026-03-02T01:30:00-00:00", True),
        ("1772415000", False),  # epoch seconds as a string
        (1772415000, False),
        ("2026-03-02 09:30:00+08:00", False),
        ("2026-03-02T09:30+08:00", False),
        ("2026-03-02T09:30:00+0800", False),
        ("2026-03-02T09:30:00", False),
        ("2026-03-02T09:30:00,5Z", False),
        ("20260302T013000Z", False),
        ("2026-03-02T01:30:00Z\n", False),
        ("２０２６-03-02T01:30:00Z", False),
    ],
)
def test_instants_are_rfc_3339_with_an_offset_only(occurred_at: object, accepted: bool) -> None:
    raw = _encode({**HIRED, "occurred_at": occurred_at})
    [result] = validate_many([raw], NOW)
    assert isinstance(result, HiredV1) is accepted, result
    if not accepted:
        assert isinstance(result, EventError) and result.field_path == "occurred_at"


@pytest.mark.parametrize("hire_date", ["1756684800", "2025-09-01T00:00:00Z", "2025-9-1", "20250901", "2025-W36-1"])
def test_dates_are_yyyy_mm_dd_only(hire_date: str) -> None:
    error = _refusal(_encode({**HIRED, "data": {**HIRED["data"], "hire_date": hire_date}}))
    assert error.field_path == "data.hire_date"
    assert "must be a calendar date string YYYY-MM-DD" in error.message


@pytest.mark.parametrize(
    "event_id",
    [
        "1C1D7B52-8F10-4F51-B7A6-3D0F3E9A0A01",
        "1c1d7b52-8f10-4f51-b7a6-3D0F3E9A0A01",
        "{1c1d7b52-8f10-4f51-b7a6-3d0f3e9a0a01}",
        "1c1d7b528f104f51b7a63d0f3e9a0a01",
        "urn:uuid:1c1d7b52-8f10-4f51-b7a6-3d0f3e9a0a01",
    ],
)
def test_uuids_are_lower_case_hyphenated_only(event_id: str) -> None:
    error = _refusal(_encode({**HIRED, "event_id": event_id}))
    assert error.field_path == "event_id"
    assert "lower-case hyphenated" in error.message
    target = _refusal(_encode(_amendment({"allowances": 1}, target_event_id=event_id)))
    assert target.field_path == "data.target_event_id"


@pytest.mark.parametrize(
    ("char", "kind"),
    [
        ("\u202a", "bidirectional"),
        ("\u202e", "bidirectional"),
        ("\u2066", "bidirectional"),
        ("\u2069", "bidirectional"),
        ("\u200e", "bidirectional"),
        ("\u200f", "bidirectional"),
        ("\u061c", "bidirectional"),
        ("\u200b", "zero-width"),
        ("\u200c", "zero-width"),
        ("\u200d", "zero-width"),
        ("\u2060", "zero-width"),
        ("\ufeff", "zero-width"),
        ("\u00ad", "zero-width"),
        ("\u2028", "line or paragraph separator"),
        ("\u2029", "line or paragraph separator"),
        ("\u0007", "control"),
        ("\u0085", "control"),
    ],
)
def test_identifiers_refuse_invisible_and_direction_characters(char: str, kind: str) -> None:
    for field, event in (
        ("worker_id", {**HIRED, "worker_id": f"W{char}1"}),
        ("source", {**HIRED, "source": f"hr{char}"}),
        ("data.org_unit_id", {**HIRED, "data": {**HIRED["data"], "org_unit_id": f"{char}BS"}}),
    ):
        error = _refusal(_encode(event))
        assert (error.code, error.field_path) == ("invalid", field)
        assert f"U+{ord(char):04X}" in error.message and kind in error.message


def test_identifiers_are_stored_nfc_normalised() -> None:
    """Two spellings of one id (e + combining acute, é) are one worker, one unit."""
    decomposed = {**HIRED, "worker_id": "Jose\u0301", "data": {**HIRED["data"], "org_unit_id": "Cafe\u0301"}}
    event = parse_event(_encode(decomposed), now=NOW)
    assert isinstance(event, HiredV1)
    assert (event.worker_id, event.data.org_unit_id) == ("Jos\u00e9", "Caf\u00e9")
    assert parse_event(_encode({**HIRED, "worker_id": "Jos\u00e9"}), now=NOW).worker_id == event.worker_id
    # the length limit counts the stored (composed) form: 64 characters decomposed are 32
    assert parse_event(_encode({**HIRED, "worker_id": "e\u0301" * 32}), now=NOW).worker_id == "\u00e9" * 32
