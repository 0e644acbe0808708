"""Property-based fuzzing of the two parsers facing the outside: the event parser (`parse_event`, `validate_many`)
and the read API's query parser (`build_query`, `parse`). Whatever they are given, they either accept it or refuse
it with the project's error carrying a reason; nothing else escapes. Budgets: tests/fuzzing.py (`make fuzz` for
the long profile)."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from hypothesis import example, given
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from schemas import ERROR_CODES, MAX_PAYLOAD_BYTES, REGISTRY, EventError, parse_event, validate_many
from services.metrics.api import PARAMETERS, build_query
from services.metrics.catalog import BY_NAME, DIMENSIONS, PERIOD_KINDS
from services.metrics.openapi import BadRequestBody
from services.metrics.queries import BadRequest, FacetsQuery, decode_cursor, encode_cursor, parse
from tests.fuzzing import PROFILE

NOW = datetime(2026, 11, 1, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
VALID: list[dict[str, Any]] = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("valid/*/*.json"))]

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)  # no lone surrogates: not in UTF-8 bytes
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
    | st.sampled_from(["", "2026-03-02", "2026-03-02T09:30:00+08:00", "1969-12-31", "9999-12-31", "W-1", "\u2066"])
    | st.sampled_from([10**400, -(2**63), 2**64, 1e308, 0.1])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def mutated_events(draw: st.DrawFn) -> bytes:
    """A committed valid example with fields replaced, dropped, added or duplicated, then maybe cut or spliced."""
    payload = copy.deepcopy(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 3))):
        target = payload["data"] if isinstance(payload.get("data"), dict) and draw(st.booleans()) else payload
        keys = sorted(target)
        action = draw(st.sampled_from(["replace", "drop", "add", "event_type"]))
        if action == "replace" and keys:
            target[draw(st.sampled_from(keys))] = draw(JSON)
        elif action == "drop" and keys:
            del target[draw(st.sampled_from(keys))]
        elif action == "add":
            target[draw(TEXT)] = draw(JSON)
        else:
            payload["event_type"] = draw(st.sampled_from([*REGISTRY, "staffing.hired.v9", "hired", ""]) | TEXT)
    text = json.dumps(payload, ensure_ascii=draw(st.booleans()))
    edit = draw(st.sampled_from(["none", "cut", "splice", "duplicate"]))
    at = draw(st.integers(0, len(text)))
    if edit == "cut":
        text = text[:at]
    elif edit == "splice":
        text = text[:at] + draw(st.text(max_size=4)) + text[at:]
    elif edit == "duplicate":
        text = '{"event_type": ' + json.dumps(draw(TEXT)) + ", " + text[1:]
    return text.encode("utf-8", "surrogatepass")


EVENTS = (
    mutated_events()
    | st.binary(max_size=512)
    | JSON.map(lambda value: json.dumps(value).encode())
    | st.dictionaries(st.sampled_from(["event_type", "event_id", "data", "worker_id", "occurred_at"]), JSON).map(
        lambda value: json.dumps(value).encode()
    )
)


def _parsed_or_refused(raw: bytes | str) -> Any:
    """parse_event's event, or its EventError after checking that the refusal says which check and why."""
    try:
        return parse_event(raw, now=NOW)
    except EventError as exc:
        assert exc.code in ERROR_CODES, exc
        assert exc.message.strip(), exc
        return exc


@given(EVENTS)
@example(b"")
@example(b"\xff")
@example(b'{"event_type": "staffing.hired.v1", "event_type": "staffing.hired.v1"}')
@example(b"[" * 10_000)
def test_the_event_parser_accepts_or_refuses_with_a_reason_and_the_batch_path_agrees(raw: bytes) -> None:
    outcome = _parsed_or_refused(raw)
    (batch,) = validate_many([raw], now=NOW)
    if isinstance(outcome, EventError):
        assert isinstance(batch, EventError) and batch.code == outcome.code and batch.message.strip()
    else:
        assert batch == outcome


@given(TEXT | mutated_events().map(lambda raw: raw.decode("utf-8", "replace")))
def test_the_event_parser_takes_text_as_well_as_bytes(raw: str) -> None:
    _parsed_or_refused(raw)


@given(st.binary(min_size=1, max_size=64))
def test_a_message_above_the_size_limit_is_refused_before_parsing(tail: bytes) -> None:
    refusal = _parsed_or_refused(b" " * MAX_PAYLOAD_BYTES + tail)
    assert isinstance(refusal, EventError) and refusal.code == "too_large"


# --- the read API's query strings -------------------------------------------------------------------------------

KEY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
CURSORS = st.tuples(KEY_TEXT, KEY_TEXT, KEY_TEXT, KEY_TEXT, KEY_TEXT, st.dates()).map(encode_cursor)
VALUES = (
    st.sampled_from([*BY_NAME, *PERIOD_KINDS, *DIMENSIONS, "json", "csv", "", "all", "2024-01-01", "1", "100001"])
    | TEXT
    | st.integers().map(str)
    | st.dates().map(date.isoformat)
    | CURSORS
    | CURSORS.map(lambda token: token[:-2])
)
NAMES = st.sampled_from(PARAMETERS) | TEXT
PAIRS = st.lists(st.tuples(NAMES, VALUES), max_size=8)
QUERY_STRINGS = PAIRS.map(urlencode) | TEXT | st.binary(max_size=64).map(lambda raw: raw.decode("latin-1"))
SQL_ALPHABET = re.compile(r"[\w\s,()%>=<*]+")
"""Everything build_query writes itself: names, placeholders and operators; a quote would mean a value got in."""


def _refused_with_a_reason(exc: BadRequest) -> None:
    body = exc.body()
    assert str(exc).strip() and body["error"] == str(exc)
    if body["error"].startswith("unknown parameter(s): "):  # named visibly, even an empty or a control character
        assert repr(exc.parameter) in body["error"]
    else:
        assert body["error"].startswith(f"{exc.parameter}: ")
    BadRequestBody.model_validate(body)  # what /openapi.json documents for a 400
    json.dumps(body, allow_nan=False)


@given(QUERY_STRINGS)
@example("limit=0")
@example("cursor=e30")  # {}
@example("from=2024-02-30&from=2024-01-01")
@example("=x&&&indicator")
def test_the_query_parser_builds_bound_sql_or_refuses_with_a_reason(query_string: str) -> None:
    params = QueryParams(query_string)
    try:
        query = build_query(params)
    except BadRequest as exc:
        _refused_with_a_reason(exc)
        return
    assert SQL_ALPHABET.fullmatch(query.sql), query.sql
    assert set(re.findall(r"%\((\w+)\)s", query.sql)) == set(query.bound)
    assert 1 <= query.limit <= 100_000 and query.format in ("json", "csv")


@given(QUERY_STRINGS)
def test_the_facets_parser_names_one_indicator_or_refuses_with_a_reason(query_string: str) -> None:
    try:
        assert parse(FacetsQuery, QueryParams(query_string)).indicator in BY_NAME
    except BadRequest as exc:
        _refused_with_a_reason(exc)


@given(st.tuples(KEY_TEXT, KEY_TEXT, KEY_TEXT, KEY_TEXT, KEY_TEXT, st.dates()))
def test_a_cursor_survives_the_round_trip(key: tuple[Any, ...]) -> None:
    assert decode_cursor(encode_cursor(key)) == key


@given(TEXT)
def test_any_other_cursor_is_a_bad_request(token: str) -> None:
    try:
        decode_cursor(token)
    except BadRequest as exc:
        assert exc.parameter == "cursor" and str(exc).strip()


def test_the_profile_is_a_known_one() -> None:
    assert PROFILE in ("bounded", "long")
