"""The hostile corpus (issue 15): every kind of hostile message, named, mixed into simulator events, through a real
ingest process (NATS) and a real metrics service over a real ClickHouse.

Each kind states what must become of it:

    rejected            one `ingest_rejects` row (FINAL) with the reason code named, one dead letter (the bytes as
                        sent, or a reference to the row when they do not fit the broker), nothing in `events`
    stored              kept as text, harmless: one row in `events`, no reject, no dead letter
    absorbed            a redelivery of an event already stored: nothing new anywhere
    refused_by_broker   the broker refuses the publish itself (over its max_payload): ingest never sees it

A kind whose outcome the parser gets wrong today is marked xfail(strict) naming the gap, so it turns red when fixed.
Both services must stay up throughout: ingest's /health 200 and still consuming, the metrics service's /ready 200,
`GET /indicators` 200 JSON, and its CSV with no text cell a spreadsheet would run as a formula.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import json
import time
import unicodedata
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import nats
import nats.errors
import pytest

from schemas import MAX_PAYLOAD_BYTES
from services.common.clickhouse import ConnectClickHouse
from services.common.migrations import migrate
from services.ingest.pseudonymise import Pseudonymiser
from services.sim import SimConfig, generate
from services.stack.ports import free_port

from .harness import (
    TEST_KEY,
    http_status,
    ingest_settings,
    metric_value,
    nats_consumer_state,
    nats_max_payload,
    nats_stream_messages,
    publish_nats,
    start_ingest_process,
    start_metrics_process,
    stop_process,
    wait_for,
    wait_nats_drained,
    wait_ready,
)
from .servers import Servers

pytestmark = pytest.mark.slow

AS_OF = date(2024, 6, 30)
NS = uuid.UUID("3b0f6c8e-4d1a-4f3e-9a55-6a1f2e0c7d11")
SQL = "'; DROP TABLE events; --"
FORMULAS = ('=HYPERLINK("http://evil.example/x","click")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)")
SCRIPT = "<script>alert(document.cookie)</script>"

REJECTED, STORED, ABSORBED, REFUSED_BY_BROKER = "rejected", "stored", "absorbed", "refused_by_broker"


@dataclass(frozen=True)
class Hostile:
    """One kind of hostile message and what must become of it."""

    kind: str
    body: bytes
    expect: str
    code: str = ""
    """The reason code of its reject row (expect == rejected)."""
    event_id: str = ""
    """Where it is stored (expect == stored / absorbed)."""
    check: Callable[[dict[str, Any], str], bool] | None = None
    """For a stored kind: (stored data, worker_key) → whether the hostile text came through as text."""
    gap: str = ""
    """A parser gap that makes the outcome differ today: the kind is xfail(strict) with this reason."""


@dataclass
class Corpus:
    """The hostile kinds, and the good messages some need before (a target, an original) or after them."""

    kinds: list[Hostile] = field(default_factory=list)
    before: list[bytes] = field(default_factory=list)
    after: list[bytes] = field(default_factory=list)

    def add(self, kind: str, body: bytes | dict[str, Any], expect: str, code: str = "", **extra: Any) -> None:
        raw = body if isinstance(body, bytes) else dumps(body)
        self.kinds.append(Hostile(kind, raw, expect, code, **extra))


def eid(name: str) -> str:
    return str(uuid.uuid5(NS, name))


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def envelope(name: str, event_type: str, data: dict[str, Any], worker_id: str | None = "HC-0001") -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": eid(name),
        "event_type": event_type,
        "occurred_at": "2024-03-01T09:00:00+08:00",
        "emitted_at": "2024-03-01T09:00:05+08:00",
        "source": "hostile-hr",
    }
    if worker_id is not None:
        event["worker_id"] = worker_id
    event["data"] = data
    return event


def hire(name: str, worker_id: str = "HC-0001", **changes: Any) -> dict[str, Any]:
    data = {
        "org_unit_id": "HC-UNIT-1",
        "hire_date": "2024-03-01",
        "source_channel": "graduate",
        "contract_type": "fixed_term",
        "gender": "female",
        "birth_year": 1995,
    }
    return envelope(name, "staffing.hired.v1", {**data, **changes}, worker_id)


def pay(name: str, **changes: Any) -> dict[str, Any]:
    data = {
        "effective_date": "2024-03-01",
        "monthly_base": 6500,
        "allowances": 800,
        "currency": "CNY",
        "weekly_hours": 40,
    }
    return envelope(name, "staffing.pay_set.v1", {**data, **changes})


def separation(name: str, note: str | None) -> dict[str, Any]:
    data = {"separation_date": "2024-05-31", "kind": "voluntary", "reason": "other", "note": note}
    return envelope(name, "turnover.separated.v1", data, f"HC-SEP-{name}")


def training(name: str, **changes: Any) -> dict[str, Any]:
    data = {
        "course_id": "C-1",
        "class_id": "K-1",
        "kind": "rotation",
        "start_date": "2024-04-01",
        "end_date": "2024-04-03",
        "hours": 16,
        "passed": True,
    }
    return envelope(name, "training.completed.v1", {**data, **changes})


def correction(name: str, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return envelope(name, event_type, data, worker_id=None)


def unit(name: str, unit_id: str, name_zh: str) -> dict[str, Any]:
    data = {
        "unit_id": unit_id,
        "parent_id": None,
        "level": "district",
        "name_zh": name_zh,
        "effective_date": "2024-01-01",
    }
    return envelope(name, "org.unit_registered.v1", data, worker_id=None)


def with_(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**event, **changes}


def without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != key}


def replace_text(event: dict[str, Any], old: str, new: str) -> bytes:
    """The event's JSON with one literal piece of text replaced (for what json.dumps cannot write)."""
    raw = json.dumps(event, ensure_ascii=False)
    assert old in raw, old
    return raw.replace(old, new, 1).encode()


def padded(event: dict[str, Any], size: int) -> bytes:
    """The event's JSON padded with trailing whitespace (still the same valid JSON) to exactly `size` bytes."""
    raw = dumps(event)
    return raw + b" " * (size - len(raw))


def note_of(size: int, name: str) -> bytes:
    """A separation whose note makes the JSON exactly `size` bytes (far over every length limit)."""
    event = separation(name, "")
    empty = len(dumps(event))
    body = dumps(separation(name, "x" * (size - empty)))
    assert len(body) == size
    return body


def nested(depth: int) -> bytes:
    return b'{"event_type": "staffing.hired.v1", "data": ' + b"[" * depth + b"]" * depth + b"}"


def stored_field(name: str, expected: str) -> Callable[[dict[str, Any], str], bool]:
    return lambda data, _: data.get(name) == expected


def stored_worker(worker_id: str) -> Callable[[dict[str, Any], str], bool]:
    key = Pseudonymiser(TEST_KEY.encode())(worker_id)
    return lambda _, worker_key: worker_key == key


def build_corpus(max_payload: int, now: datetime) -> Corpus:
    """Every kind, named. `max_payload` is the NATS server's; `now` the real clock ingest validates with."""
    c = Corpus()
    good = dumps(hire("template"))

    # bytes and framing
    c.add("empty_body", b"", REJECTED, "malformed_json")
    c.add("whitespace_only", b" \r\n\t ", REJECTED, "malformed_json")
    c.add("not_utf8", b'{"event_id": "\xff\xfe\xfd", "event_type": "staffing.hired.v1"}', REJECTED, "invalid_utf8")
    c.add("overlong_utf8_slash", b'{"event_type": "staffing.hired.v1\xc0\xaf"}', REJECTED, "invalid_utf8")
    c.add("utf16_with_bom", "\ufeff".encode("utf-16-le") + good.decode().encode("utf-16-le"), REJECTED, "invalid_utf8")
    c.add("utf8_bom_then_valid_event", b"\xef\xbb\xbf" + dumps(hire("bom")), REJECTED, "malformed_json")
    c.add(
        "raw_nul_inside_string", replace_text(hire("nul-raw"), "HC-UNIT-1", "HC-\x00UNIT"), REJECTED, "malformed_json"
    )
    c.add("truncated_json", good[:-25], REJECTED, "malformed_json")
    c.add("trailing_garbage", good + b" x", REJECTED, "malformed_json")
    c.add("two_objects_in_one_message", good + dumps(hire("second")), REJECTED, "malformed_json")
    c.add("json_array_of_event", b"[" + dumps(hire("in-array")) + b"]", REJECTED, "invalid")
    c.add("json_number", b"42", REJECTED, "invalid")
    c.add("json_string", b'"staffing.hired.v1"', REJECTED, "invalid")
    c.add("json_null", b"null", REJECTED, "invalid")
    c.add("nested_arrays_10000_levels", nested(10_000), REJECTED, "malformed_json")
    c.add("nested_objects_10000_levels", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, REJECTED, "malformed_json")
    c.add(
        "integer_of_5000_digits",
        replace_text(hire("digits"), '"birth_year": 1995', '"birth_year": 1' + "0" * 5_000),
        REJECTED,
        "malformed_json",
    )
    wide = hire("wide") | {f"k{n}": n for n in range(3_000)}
    c.add("three_thousand_unknown_keys", wide, REJECTED, "invalid")
    c.add("huge_note_100kB", note_of(100_000, "huge"), REJECTED, "too_large")
    c.add("valid_event_exactly_64KiB", padded(hire("64k"), MAX_PAYLOAD_BYTES), STORED, event_id=eid("64k"))
    c.add("valid_event_64KiB_plus_1", padded(hire("64k+1"), MAX_PAYLOAD_BYTES + 1), REJECTED, "too_large")
    c.add("just_under_broker_limit", note_of(max_payload - 64, "under-limit"), REJECTED, "too_large")
    c.add("over_broker_limit", note_of(max_payload + 1, "over-limit"), REFUSED_BY_BROKER)

    # envelope
    c.add("wrong_event_type", hire("fired") | {"event_type": "staffing.fired.v1"}, REJECTED, "unknown_type")
    c.add("event_type_not_a_string", hire("type-int") | {"event_type": 17}, REJECTED, "invalid")
    c.add("event_type_missing", without(hire("no-type"), "event_type"), REJECTED, "invalid")
    c.add("unknown_version", hire("v9") | {"event_type": "staffing.hired.v9"}, REJECTED, "unknown_version")
    c.add("missing_event_id", without(hire("no-id"), "event_id"), REJECTED, "invalid")
    c.add("non_uuid_event_id", hire("not-uuid") | {"event_id": "not-a-uuid"}, REJECTED, "invalid")
    c.add("upper_case_uuid", hire("upper") | {"event_id": eid("upper").upper()}, REJECTED, "invalid")
    c.add("uuid_without_hyphens", hire("hex") | {"event_id": eid("hex").replace("-", "")}, REJECTED, "invalid")
    c.add("braced_uuid", hire("braced") | {"event_id": "{" + eid("braced") + "}"}, REJECTED, "invalid")
    c.add(
        "duplicate_key_event_id",
        replace_text(hire("dup"), '"event_type"', f'"event_id": "{eid("dup2")}", "event_type"'),
        REJECTED,
        "duplicate_key",
    )
    c.add(
        "duplicate_key_in_data",
        replace_text(hire("dup-data"), '"hire_date"', '"org_unit_id": "OTHER", "hire_date"'),
        REJECTED,
        "duplicate_key",
    )
    c.add("unknown_extra_field", hire("extra") | {"is_admin": True}, REJECTED, "invalid")
    c.add("worker_id_missing", without(hire("no-worker"), "worker_id"), REJECTED, "invalid")
    c.add("worker_id_an_object", hire("worker-obj") | {"worker_id": {"id": "HC-0001"}}, REJECTED, "invalid")
    c.add(
        "worker_id_on_a_correction",
        correction("corr-worker", "correction.retracted.v1", {"target_event_id": eid("template")})
        | {"worker_id": "HC-0001"},
        REJECTED,
        "invalid",
    )
    c.add("epoch_number_timestamp", hire("epoch-n") | {"occurred_at": 1709254800}, REJECTED, "invalid")
    c.add("epoch_string_timestamp", hire("epoch-s") | {"occurred_at": "1709254800"}, REJECTED, "invalid")
    c.add("naive_timestamp", hire("naive") | {"occurred_at": "2024-03-01T09:00:00"}, REJECTED, "invalid")
    c.add("timestamp_without_seconds", hire("no-sec") | {"occurred_at": "2024-03-01T09:00+08:00"}, REJECTED, "invalid")
    future = (now + timedelta(days=30)).isoformat(timespec="seconds")
    c.add("future_occurred_at", hire("future") | {"occurred_at": future, "emitted_at": future}, REJECTED, "invalid")
    c.add("occurred_at_1969", hire("1969-t") | {"occurred_at": "1969-12-31T23:59:59Z"}, REJECTED, "invalid")
    # the contract orders neither way: an upstream may emit a record of what is scheduled to happen
    c.add(
        "emitted_at_before_occurred_at",
        hire("emit-early", "HC-EARLY") | {"emitted_at": "2024-02-01T09:00:00+08:00"},
        STORED,
        event_id=eid("emit-early"),
    )
    c.add("empty_source", hire("no-source") | {"source": ""}, REJECTED, "invalid")

    # numbers
    c.add(
        "nan_number", replace_text(pay("nan"), '"weekly_hours": 40', '"weekly_hours": NaN'), REJECTED, "malformed_json"
    )
    c.add(
        "infinity_number",
        replace_text(pay("inf"), '"monthly_base": 6500', '"monthly_base": Infinity'),
        REJECTED,
        "malformed_json",
    )
    c.add(
        "negative_infinity",
        replace_text(pay("-inf"), '"allowances": 800', '"allowances": -Infinity'),
        REJECTED,
        "malformed_json",
    )
    c.add(
        "number_1e400", replace_text(pay("1e400"), '"monthly_base": 6500', '"monthly_base": 1e400'), REJECTED, "invalid"
    )
    c.add("number_1e400_as_string", pay("1e400-s", monthly_base="1e400"), REJECTED, "invalid")
    c.add("negative_pay", pay("neg", monthly_base=-6500), REJECTED, "invalid")
    c.add("pay_over_the_cap", pay("cap", monthly_base=1_000_001), REJECTED, "invalid")
    c.add("pay_in_usd", pay("usd", currency="USD"), REJECTED, "invalid")
    c.add("pay_nan_as_a_string", pay("nan-s", monthly_base="NaN"), REJECTED, "invalid")
    c.add("passed_as_the_string_yes", training("yes", passed="yes"), REJECTED, "invalid")
    c.add("gender_upper_case", hire("gender", gender="FEMALE"), REJECTED, "invalid")
    c.add("data_null", hire("data-null") | {"data": None}, REJECTED, "invalid")
    c.add(
        "event_type_trailing_space", hire("type-space") | {"event_type": "staffing.hired.v1 "}, REJECTED, "unknown_type"
    )
    c.add("worker_id_a_number", hire("worker-n") | {"worker_id": 12345}, REJECTED, "invalid")
    c.add("offset_of_25_hours", hire("off25") | {"occurred_at": "2024-03-01T09:00:00+25:00"}, REJECTED, "invalid")
    c.add("hire_date_fullwidth_digits", hire("fullwidth", hire_date="２０２４-03-01"), REJECTED, "invalid")
    c.add("birth_year_a_string", hire("by-str", birth_year="1995"), REJECTED, "invalid")
    c.add("birth_year_fractional", hire("by-frac", birth_year=1995.5), REJECTED, "invalid")
    c.add("birth_year_1900", hire("by-1900", birth_year=1900), REJECTED, "invalid")
    c.add("weekly_hours_zero", pay("hours-0", weekly_hours=0), REJECTED, "invalid")

    # dates
    c.add("hire_date_1969", hire("hire-1969", hire_date="1969-07-20"), REJECTED, "invalid")
    c.add("hire_date_30_february", hire("feb-30", hire_date="2024-02-30"), REJECTED, "invalid")
    c.add("hire_date_as_datetime", hire("date-dt", hire_date="2024-03-01T00:00:00Z"), REJECTED, "invalid")
    c.add("training_ends_before_it_starts", training("backwards", end_date="2024-03-01"), REJECTED, "invalid")

    # text
    c.add("bidi_override_in_worker_id", hire("bidi", "HC-\u202e1000"), REJECTED, "invalid")
    c.add("zero_width_space_in_unit_id", hire("zwsp", org_unit_id="HC-\u200bUNIT-1"), REJECTED, "invalid")
    c.add("control_character_in_worker_id", hire("ctl", "HC-\u00010001"), REJECTED, "invalid")
    c.add("escaped_nul_in_note", separation("nul", "a\u0000b"), REJECTED, "invalid")
    c.add("bell_in_note", separation("bell", "ding\u0007"), REJECTED, "invalid")
    c.add(
        "lone_surrogate_in_note",
        replace_text(separation("surrogate", "SURROGATE"), "SURROGATE", "\\ud800"),
        REJECTED,
        "malformed_json",
    )
    c.add("worker_id_65_characters", hire("long-id", "W" * 65), REJECTED, "invalid")
    c.add("note_501_characters", separation("long-note", "n" * 501), REJECTED, "invalid")
    c.add(
        "escaped_bidi_in_worker_id",
        replace_text(hire("esc-bidi", "HC-ESC"), '"HC-ESC"', '"HC-\\u202e1"'),
        REJECTED,
        "invalid",
    )
    c.add(
        "escaped_duplicate_key",
        replace_text(hire("esc-dup"), '"event_type"', '"event\\u005fid": "x", "event_type"'),
        REJECTED,
        "duplicate_key",
    )
    c.add("line_separator_in_unit_id", hire("line-sep", org_unit_id="HC-\u2028UNIT"), REJECTED, "invalid")

    # stored as text, harmless
    c.add("sql_in_worker_id", hire("sql-worker", SQL), STORED, event_id=eid("sql-worker"), check=stored_worker(SQL))
    c.add(
        "sql_in_unit_id",
        hire("sql-unit", "HC-SQL", org_unit_id=SQL),
        STORED,
        event_id=eid("sql-unit"),
        check=stored_field("org_unit_id", SQL),
    )
    for n, formula in enumerate(FORMULAS):
        kind = (
            "csv_formula_equals_unit_id",
            "csv_formula_plus_unit_id",
            "csv_formula_minus_unit_id",
            "csv_formula_at_unit_id",
        )[n]
        c.add(
            kind,
            hire(kind, f"HC-F{n}", org_unit_id=formula),
            STORED,
            event_id=eid(kind),
            check=stored_field("org_unit_id", formula),
        )
    c.add(
        "script_tag_in_note",
        separation("script", SCRIPT),
        STORED,
        event_id=eid("script"),
        check=stored_field("note", SCRIPT),
    )
    html = '<img src=x onerror="alert(1)">工会'
    c.add(
        "html_in_unit_name",
        unit("html-unit", "HC-HTML-UNIT", html),
        STORED,
        event_id=eid("html-unit"),
        check=stored_field("name_zh", html),
    )
    quotes = "x\\' OR '1'='1"
    c.add(
        "quotes_and_backslash_in_unit_id",
        hire("quotes", "HC-Q", org_unit_id=quotes),
        STORED,
        event_id=eid("quotes"),
        check=stored_field("org_unit_id", quotes),
    )
    c.add(
        "cjk_and_emoji_worker_id", hire("emoji", "张三😀"), STORED, event_id=eid("emoji"), check=stored_worker("张三😀")
    )
    decomposed = unicodedata.normalize("NFD", "José Zoë")
    nfc = unicodedata.normalize("NFC", decomposed)
    c.add("nfd_worker_id_keyed_as_nfc", hire("nfd", decomposed), STORED, event_id=eid("nfd"), check=stored_worker(nfc))
    long_pay = replace_text(pay("fraction"), '"monthly_base": 6500', '"monthly_base": 6500.' + "1" * 5_000)
    c.add("pay_with_5000_fraction_digits", long_pay, STORED, event_id=eid("fraction"))

    # corrections and identity
    c.add(
        "amendment_monthly_base_abc_before_target",
        correction(
            "am-abc",
            "correction.amended.v1",
            {"target_event_id": eid("pay-target-1"), "changes": {"monthly_base": "abc"}},
        ),
        REJECTED,
        "invalid",
    )
    c.add(
        "amendment_birth_year_x_before_target",
        correction(
            "am-x", "correction.amended.v1", {"target_event_id": eid("hire-target-1"), "changes": {"birth_year": "x"}}
        ),
        REJECTED,
        "invalid",
    )
    c.add(
        "amendment_monthly_base_1e400_before_target",
        replace_text(
            correction(
                "am-1e400",
                "correction.amended.v1",
                {"target_event_id": eid("pay-target-2"), "changes": {"monthly_base": 1}},
            ),
            '"monthly_base": 1',
            '"monthly_base": 1e400',
        ),
        REJECTED,
        "invalid",
    )
    c.add(
        "amendment_unknown_field",
        correction(
            "am-field", "correction.amended.v1", {"target_event_id": eid("pay-target-1"), "changes": {"salary": 1}}
        ),
        REJECTED,
        "invalid",
    )
    c.add(
        "amendment_no_changes",
        correction("am-empty", "correction.amended.v1", {"target_event_id": eid("pay-target-1"), "changes": {}}),
        REJECTED,
        "invalid",
    )
    c.after += [dumps(pay("pay-target-1")), dumps(pay("pay-target-2")), dumps(hire("hire-target-1", "HC-TARGET"))]
    c.add(
        "retraction_of_unknown_event",
        correction("retract-unknown", "correction.retracted.v1", {"target_event_id": eid("never-sent")}),
        STORED,
        event_id=eid("retract-unknown"),
    )
    c.before.append(dumps(hire("retract-target", "HC-RT")))
    c.before.append(
        dumps(correction("first-retraction", "correction.retracted.v1", {"target_event_id": eid("retract-target")}))
    )
    c.add(
        "correction_of_a_correction",
        correction("retract-retraction", "correction.retracted.v1", {"target_event_id": eid("first-retraction")}),
        REJECTED,
        "invalid_correction",
    )
    c.before.append(dumps(training("amend-target")))
    c.add(
        "amendment_making_its_target_invalid",
        correction(
            "am-backwards",
            "correction.amended.v1",
            {"target_event_id": eid("amend-target"), "changes": {"end_date": "2024-03-01"}},
        ),
        REJECTED,
        "invalid_correction",
    )
    original = hire("conflict", "HC-CONFLICT")
    c.before.append(dumps(original))
    c.add("same_event_id_other_content", original | {"source": "other-hr"}, REJECTED, "conflict")
    c.add("exact_redelivery", dumps(original), ABSORBED, event_id=eid("conflict"))
    reordered = dict(reversed(list(original.items())))
    c.add("same_event_other_key_order", reordered, ABSORBED, event_id=eid("conflict"))
    c.add(
        "retraction_of_itself",
        correction("self", "correction.retracted.v1", {"target_event_id": eid("self")}),
        STORED,
        event_id=eid("self"),
    )
    nested_changes = correction("nest", "correction.amended.v1", {"target_event_id": eid("x"), "changes": {"note": 0}})
    c.add(
        "amendment_changes_nested_300_levels",
        replace_text(nested_changes, '"note": 0', '"note": ' + "[" * 300 + "]" * 300),
        REJECTED,
        "malformed_json",
    )
    nan_changes = correction(
        "nan-ch", "correction.amended.v1", {"target_event_id": eid("x"), "changes": {"allowances": 0}}
    )
    c.add(
        "amendment_nan_in_changes",
        replace_text(nan_changes, '"allowances": 0', '"allowances": NaN'),
        REJECTED,
        "malformed_json",
    )
    transfer = envelope(
        "transfer-target",
        "staffing.transferred.v1",
        {"from_unit_id": "HC-UNIT-1", "to_unit_id": "HC-UNIT-2", "effective_date": "2024-04-01"},
    )
    c.before.append(dumps(transfer))
    c.add(
        "amendment_naming_another_type_than_its_target",
        correction(
            "am-other-type",
            "correction.amended.v1",
            {
                "target_event_id": eid("transfer-target"),
                "target_event_type": "staffing.pay_set.v1",
                "changes": {"effective_date": "2024-04-02"},
            },
        ),
        REJECTED,
        "invalid_correction",
    )
    return c


def corpus_for_collection() -> Corpus:
    """The corpus with a fixed limit and clock: only its kinds and expectations are read at collection."""
    return build_corpus(1_048_576, datetime(2026, 1, 1, tzinfo=UTC))


KINDS = corpus_for_collection().kinds
GAPS: dict[str, str] = {k.kind: k.gap for k in KINDS if k.gap}
TEXT_COLUMNS = ("indicator", "period_kind", "dimension", "slice", "category")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Outcome:
    """What the run left behind, read once for every kind's test."""

    corpus: Corpus
    max_payload: int
    good_ids: set[str]
    rows_per_id: dict[str, int]
    stored: dict[str, tuple[dict[str, Any], str]]
    rejects: dict[str, list[tuple[str, str, str]]]
    """payload_sha256 → [(reason_code, reason, dead_letter)] of `ingest_rejects FINAL`."""
    letters: dict[str, list[str]]
    """sha256 of the message → ["original" | "reference"] of its dead letters."""
    broker_refused: dict[str, str]
    ingest_checks: dict[str, object] = field(default_factory=dict)
    metrics_checks: dict[str, object] = field(default_factory=dict)
    indicators_csv: list[dict[str, str]] = field(default_factory=list)


def simulated(workers: int = 60) -> list[bytes]:
    events = generate(SimConfig(workers=workers, start_year=2022, end=AS_OF, seed=11, scenario=False))
    return [dumps(e) for e in events]


def event_id_of(body: bytes) -> str:
    return str(json.loads(body)["event_id"])


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def interleave(good: list[bytes], hostile: list[bytes]) -> list[bytes]:
    """The hostile messages spread evenly through the good ones."""
    out: list[bytes] = []
    step = max(len(good) // (len(hostile) + 1), 1)
    for n, body in enumerate(hostile):
        out += good[n * step : (n + 1) * step]
        out.append(body)
    return out + good[len(hostile) * step :]


def http_get(port: int, path: str) -> tuple[int, str, bytes]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
            return int(response.status), response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.headers.get_content_type(), exc.read()


async def publish_refused(url: str, subject: str, body: bytes) -> str:
    """Publish one message the broker must refuse; the refusal's name ("" if it was taken)."""
    client = await nats.connect(url)
    try:
        await client.jetstream().publish(subject, body)
    except nats.errors.MaxPayloadError as exc:
        return type(exc).__name__
    finally:
        await client.close()
    return ""


@contextlib.contextmanager
def scratch_database(servers: Servers) -> Iterator[tuple[str, ConnectClickHouse]]:
    """A database of this module's own (the metrics service writes its tables there too); dropped at the end."""
    name = f"test_corpus_{uuid.uuid4().hex[:10]}"
    client = ConnectClickHouse.connect(servers.clickhouse_url, database=name, user="default", password="")
    migrate(client, "ingest", database=name)
    try:
        yield name, client
    finally:
        client.command(f"DROP DATABASE IF EXISTS {name}")
        client.close()


@pytest.fixture(scope="module")
async def outcome(servers: Servers) -> AsyncIterator[Outcome]:
    """Run the whole corpus once: ingest (NATS) then the metrics service; every test below reads the result."""
    with scratch_database(servers) as (database, store):
        yield await run_corpus(servers, database, store)


async def run_corpus(servers: Servers, database: str, store: ConnectClickHouse) -> Outcome:
    started = time.monotonic()
    max_payload = await nats_max_payload(servers.nats_url)
    corpus = build_corpus(max_payload, datetime.now(UTC))
    assert len({k.kind for k in corpus.kinds}) == len(corpus.kinds), "kind names must be unique"
    refused = {k.kind for k in corpus.kinds if k.expect == REFUSED_BY_BROKER}
    sent = [k for k in corpus.kinds if k.kind not in refused]
    rejected = [k for k in sent if k.expect == REJECTED]
    assert len({sha(k.body) for k in rejected}) == len(rejected), "every rejected kind must have its own bytes"
    sim = simulated()
    tail = [dumps(hire(f"tail-{n}", f"HC-TAIL-{n}")) for n in range(20)]
    good = [*sim, *corpus.before, *corpus.after, *tail]
    good_ids = {event_id_of(b) for b in good} | {k.event_id for k in sent if k.expect in (STORED, ABSORBED)}

    settings = ingest_settings(
        servers.clickhouse_url, database, servers.nats_url, ingest_batch_size=500, ingest_http_port=free_port()
    )
    subject = settings.ingest_subject.replace(">", "events")
    port = settings.ingest_http_port
    proc = start_ingest_process(settings)
    checks: dict[str, object] = {}
    broker_refused: dict[str, str] = {}

    def alive() -> None:
        assert proc.poll() is None, f"ingest exited with {proc.returncode} amid the hostile corpus (output above)"

    async def settled(what: str) -> None:
        await wait_nats_drained(
            servers.nats_url, settings.ingest_stream, settings.ingest_consumer, timeout=90, alive=alive
        )
        checks[f"settled_{what}_at_seconds"] = round(time.monotonic() - started, 1)

    try:
        await wait_ready(port, proc)
        half = len(sim) // 2
        await publish_nats(servers.nats_url, subject, [*sim[:half], *corpus.before])
        await settled("before")
        await publish_nats(servers.nats_url, subject, interleave(sim[half:], [k.body for k in sent]), window=50)
        for kind in refused:
            body = next(k.body for k in corpus.kinds if k.kind == kind)
            broker_refused[kind] = await publish_refused(servers.nats_url, subject, body)
        await settled("corpus")
        checks["health_after_corpus"] = http_status(port, "/health")
        checks["consuming_after_corpus"] = metric_value(port, "ingest_consuming")
        await publish_nats(servers.nats_url, subject, [*corpus.after, *tail])
        await settled("after")
        checks["consumer_pending_ack_pending"] = await nats_consumer_state(
            servers.nats_url, settings.ingest_stream, settings.ingest_consumer
        )
        checks["ready_at_end"] = http_status(port, "/ready")
        checks["health_at_end"] = http_status(port, "/health")
        checks["ingest_exit_code"] = await stop_process(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    checks["ingest_seconds"] = round(time.monotonic() - started, 1)

    letters: dict[str, list[str]] = {}
    for message in await nats_stream_messages(servers.nats_url, f"{settings.ingest_stream}_DLQ"):
        form = (message.headers or {}).get("x-dead-letter", "")
        data = message.data or b""
        key = json.loads(data)["sha256"] if form == "reference" else sha(data)
        letters.setdefault(key, []).append(form)
    rejects: dict[str, list[tuple[str, str, str]]] = {}
    for digest, code, reason, letter in store.query_rows(
        "SELECT payload_sha256, reason_code, reason, dead_letter FROM ingest_rejects FINAL"
    ):
        rejects.setdefault(digest, []).append((code, reason, letter))
    rows_per_id = {i: int(n) for i, n in store.query_rows("SELECT toString(event_id), count() FROM events GROUP BY 1")}
    stored = {
        i: (json.loads(data), key)
        for i, data, key in store.query_rows("SELECT toString(event_id), data, worker_key FROM events FINAL")
    }
    result = Outcome(corpus, max_payload, good_ids, rows_per_id, stored, rejects, letters, broker_refused, checks)
    await run_metrics(servers, database, result)
    result.metrics_checks["total_seconds"] = round(time.monotonic() - started, 1)
    print(f"hostile corpus: {len(corpus.kinds)} kinds; ingest {checks}; metrics {result.metrics_checks}")
    return result


async def run_metrics(servers: Servers, database: str, result: Outcome) -> None:
    """The metrics service over what ingest stored: ready, answering JSON, and CSV a spreadsheet cannot run."""
    started = time.monotonic()
    port = free_port()
    env = {"METRICS_AS_OF": AS_OF.isoformat(), "METRICS_K": "1", "METRICS_REFRESH_SECONDS": "0.5"}
    proc = start_metrics_process(servers.clickhouse_url, database, port, **env)
    checks = result.metrics_checks
    try:

        def ready() -> bool:
            assert proc.poll() is None, f"the metrics service exited with {proc.returncode} (its output is above)"
            return http_status(port, "/ready") == 200

        await wait_for(ready, timeout=180, what="metrics /ready")
        checks["ready_seconds"] = round(time.monotonic() - started, 1)
        status, kind, body = await asyncio.to_thread(http_get, port, "/indicators")
        checks["indicators_status"] = status
        checks["indicators_type"] = kind
        checks["indicators_rows"] = len(json.loads(body)["rows"]) if kind == "application/json" else None
        status, kind, body = await asyncio.to_thread(
            http_get, port, "/indicators?dimension=org&format=csv&limit=100000"
        )
        checks["csv_status"] = status
        checks["csv_type"] = kind
        result.indicators_csv = list(csv.DictReader(io.StringIO(body.decode())))
        checks["health_at_end"] = http_status(port, "/health")
        checks["ready_at_end"] = http_status(port, "/ready")
        checks["metrics_exit_code"] = await stop_process(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def kind_params() -> list[Any]:
    return [
        pytest.param(k.kind, id=k.kind, marks=[pytest.mark.xfail(strict=True, reason=k.gap)] if k.gap else [])
        for k in KINDS
    ]


@pytest.mark.parametrize("kind", kind_params())
def test_each_hostile_kind_has_its_stated_outcome(outcome: Outcome, kind: str) -> None:
    hostile = next(k for k in outcome.corpus.kinds if k.kind == kind)
    digest = sha(hostile.body)
    rows, letters = outcome.rejects.get(digest, []), outcome.letters.get(digest, [])
    if hostile.expect == REJECTED:
        assert [code for code, _, _ in rows] == [hostile.code], f"{kind}: reject rows {rows}"
        assert rows[0][1], f"{kind}: the reject row gives no reason"
        assert letters == [rows[0][2]], f"{kind}: dead letters {letters}, reject row says {rows[0][2]}"
        assert letters[0] in ("original", "reference")
        if len(hostile.body) + 1_024 > outcome.max_payload:
            assert letters == ["reference"], f"{kind}: a message near the broker's limit goes by reference"
        conflicting = hostile.code == "conflict"
        stored_id = _event_id_or_none(hostile.body)
        if stored_id and not conflicting:
            assert stored_id not in outcome.rows_per_id, f"{kind}: refused, yet {stored_id} is in events"
    elif hostile.expect in (STORED, ABSORBED):
        assert rows == [] and letters == [], f"{kind}: reject rows {rows}, dead letters {letters}"
        assert outcome.rows_per_id.get(hostile.event_id) == 1, f"{kind}: {hostile.event_id} not stored exactly once"
        if hostile.check is not None:
            data, worker_key = outcome.stored[hostile.event_id]
            assert hostile.check(data, worker_key), f"{kind}: stored as {data} / {worker_key}"
    else:
        assert outcome.broker_refused.get(kind) == "MaxPayloadError", f"{kind}: the broker took it"
        assert rows == [] and letters == []


def _event_id_or_none(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("event_id")
        return str(uuid.UUID(value)) if isinstance(value, str) and len(value) == 36 else None
    except (ValueError, AttributeError, RecursionError):
        return None


def test_the_corpus_names_at_least_30_kinds_of_each_outcome_stated() -> None:
    assert len(KINDS) >= 30
    assert {k.expect for k in KINDS} == {REJECTED, STORED, ABSORBED, REFUSED_BY_BROKER}
    table = "\n".join(f"{k.kind:48s} {k.expect:18s} {k.code}{'  (gap: ' + k.gap + ')' if k.gap else ''}" for k in KINDS)
    print(table)


def test_good_events_are_stored_exactly_once(outcome: Outcome) -> None:
    missing = outcome.good_ids - outcome.rows_per_id.keys()
    twice = {i: n for i, n in outcome.rows_per_id.items() if n != 1}
    assert not missing, f"{len(missing)} good events missing, e.g. {sorted(missing)[:3]}"
    assert not twice, f"events stored more than once: {dict(list(twice.items())[:5])}"
    gaps = {_event_id_or_none(k.body) for k in outcome.corpus.kinds if k.gap}  # stored, wrongly: xfail above
    extra = set(outcome.rows_per_id) - outcome.good_ids - gaps
    assert not extra, f"events stored that no good message or stored kind carried: {sorted(extra)[:5]}"


def test_ingest_stayed_up_and_kept_consuming(outcome: Outcome) -> None:
    checks = outcome.ingest_checks
    assert checks["health_after_corpus"] == 200
    assert checks["consuming_after_corpus"] == 1.0
    assert checks["consumer_pending_ack_pending"] == (0, 0), "messages left unacknowledged"
    assert checks["health_at_end"] == 200 and checks["ready_at_end"] == 200
    assert checks["ingest_exit_code"] == 0


def test_metrics_service_stayed_up_and_answers(outcome: Outcome) -> None:
    checks = outcome.metrics_checks
    assert checks["indicators_status"] == 200 and checks["indicators_type"] == "application/json"
    assert checks["indicators_rows"], "GET /indicators answered no rows"
    assert checks["csv_status"] == 200 and checks["csv_type"] == "text/csv"
    assert checks["health_at_end"] == 200 and checks["ready_at_end"] == 200
    assert checks["metrics_exit_code"] == 0


def test_indicator_csv_cells_cannot_run_as_formulas(outcome: Outcome) -> None:
    rows = outcome.indicators_csv
    assert rows, "the CSV held no org rows"
    runnable = [(c, r[c]) for r in rows for c in TEXT_COLUMNS if r[c].startswith(FORMULA_START)]
    assert not runnable, f"CSV text cells a spreadsheet would run: {runnable[:5]}"
    slices = {r["slice"] for r in rows if r["dimension"] == "org"}
    assert {"'" + f for f in FORMULAS} <= slices, "each formula unit id is a slice of its own, shown as text"
    assert SQL in slices, "the SQL-ish unit id is a slice, as plain text"
    for r in rows:
        if r["value"]:
            float(r["value"])  # numbers stay numbers (a negative one too)
