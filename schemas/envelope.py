"""The envelope every event shares, and the field types payloads reuse (docs/contract.md §1-2).

Time bounds depend on "now", which is injected through pydantic's validation context::

    Model.model_validate_json(raw, context={"now": datetime(2026, 11, 1, tzinfo=UTC)})

Without it the validators fall back to ``datetime.now(UTC)``. Calendar dates are compared with "today"
in the program time zone (``context["tz"]``, default ``PROGRAM_TZ``). A batch passes
``validation_context(now)``, which also carries the derived ``Bounds`` so no field recomputes them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Annotated, Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetPydanticSchema,
    StringConstraints,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError, core_schema

MAX_PAYLOAD_BYTES: Final = 64 * 1024
MIN_DATE: Final = date(1990, 1, 1)
MIN_DATETIME: Final = datetime(1990, 1, 1, tzinfo=UTC)
_MIN_TIMESTAMP: Final = MIN_DATETIME.timestamp()
PROGRAM_TZ: Final = ZoneInfo("Asia/Shanghai")
FUTURE_SLACK: Final = timedelta(days=1)
MONEY_MAX: Final = Decimal(1_000_000)

# Unicode category Cc minus \t (U+0009) and \n (U+000A); written for JSON Schema (ECMA) and Python alike.
_FREE_TEXT_PATTERN: Final = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
_FREE_TEXT_BAD: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# Identifiers refuse every control character and the characters that make two ids look alike or break lines in
# logs and pages: bidirectional controls, zero-width and other invisible format characters (soft hyphen, invisible
# operators), the line and paragraph separators.
_CONTROLS: Final = r"\u0000-\u001f\u007f-\u009f"
_BIDI: Final = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVISIBLE: Final = r"\u00ad\u200b-\u200d\u2060-\u2064\ufeff"
_SEPARATORS: Final = r"\u2028\u2029"
_IDENTIFIER_PATTERN: Final = f"^[^{_CONTROLS}{_BIDI}{_INVISIBLE}{_SEPARATORS}]*$"
_IDENTIFIER_BAD: Final = re.compile(f"[{_CONTROLS}{_BIDI}{_INVISIBLE}{_SEPARATORS}]")
_KINDS: Final = (
    (re.compile(f"[{_CONTROLS}]"), "control_character", "a control character"),
    (re.compile(f"[{_BIDI}]"), "bidi_character", "a bidirectional control"),
    (re.compile(f"[{_INVISIBLE}]"), "invisible_character", "a zero-width or invisible character"),
    (re.compile(f"[{_SEPARATORS}]"), "line_separator", "a line or paragraph separator"),
)
IDENTIFIER_MAX: Final = 64

# RFC 3339 date-time (section 5.6): full-date "T" full-time, seconds required, offset required ("Z" or ±hh:mm);
# "T" and "Z" may be lower case (section 5.6, note). Digits are ASCII only (pydantic-core's regex: `$` is the end).
_RFC3339: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
_DATE: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_UUID: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
STRING_FORMS: Final = {
    _RFC3339: "must be an RFC 3339 date-time string with seconds and an offset, e.g. 2026-03-02T09:30:00+08:00",
    _DATE: "must be a calendar date string YYYY-MM-DD",
    _UUID: "must be a UUID string in lower-case hyphenated form (8-4-4-4-12 hex digits)",
}
"""Pattern of a string form → what a refusal says (in place of pydantic's "String should match pattern ...")."""


@dataclass(frozen=True, slots=True)
class Bounds:
    """One reading of the clock and the latest instant, date and "today" it allows."""

    now: datetime
    today: date
    latest_instant: datetime
    latest_date: date
    latest_timestamp: float
    """`latest_instant` as a POSIX timestamp: comparing two aware datetimes costs twice one `timestamp()`."""

    @classmethod
    def at(cls, now: datetime, zone: tzinfo = PROGRAM_TZ) -> Bounds:
        today = now.astimezone(zone).date()
        latest = now + FUTURE_SLACK
        return cls(now, today, latest, today + FUTURE_SLACK, latest.timestamp())


def validation_context(now: datetime, zone: tzinfo = PROGRAM_TZ) -> dict[str, Any]:
    """The context of one validation call (a whole batch): the clock is read and its bounds derived once."""
    return {"now": now, "tz": zone, "bounds": Bounds.at(now, zone)}


def _context(info: ValidationInfo) -> dict[str, Any]:
    return info.context if isinstance(info.context, dict) else {}


def clock_now(info: ValidationInfo) -> datetime:
    """The injected ``context["now"]`` (must be aware), else the real UTC clock."""
    now = _context(info).get("now")
    if isinstance(now, datetime) and now.tzinfo is not None:
        return now
    return datetime.now(UTC)


def bounds(info: ValidationInfo) -> Bounds:
    """The bounds of ``validation_context``, else derived from ``context["now"]`` and ``context["tz"]``."""
    context = _context(info)
    found = context.get("bounds")
    if isinstance(found, Bounds):
        return found
    zone = context.get("tz")
    return Bounds.at(clock_now(info), zone if isinstance(zone, tzinfo) else PROGRAM_TZ)


def program_today(info: ValidationInfo) -> date:
    """Today's calendar date in the program time zone, by the injected clock."""
    return bounds(info).today


def _reject_controls(value: str, bad: re.Pattern[str], allowed: str) -> str:
    found = bad.search(value)
    if found is None:
        return value
    raise PydanticCustomError(
        "control_character",
        "control character U+{code} at position {position} is not allowed ({allowed})",
        {"code": f"{ord(found.group()):04X}", "position": found.start(), "allowed": allowed},
    )


def _free_text(value: str) -> str:
    return _reject_controls(value, _FREE_TEXT_BAD, "only \\n and \\t are")


def _identifier(value: str) -> str:
    if not value.isascii():
        value = _nfc(value)
    found = _IDENTIFIER_BAD.search(value)
    if found is None:
        return value
    char = found.group()
    kind, what = next((kind, what) for pattern, kind, what in _KINDS if pattern.match(char))
    raise PydanticCustomError(
        kind,
        "U+{code} at position {position} is {what}; identifiers take none",
        {"code": f"{ord(char):04X}", "position": found.start(), "what": what},
    )


def _nfc(value: str) -> str:
    """The NFC form of an identifier (one spelling per id), still within the length limit."""
    if unicodedata.is_normalized("NFC", value):
        return value
    value = unicodedata.normalize("NFC", value)
    if len(value) > IDENTIFIER_MAX:
        raise PydanticCustomError(
            "string_too_long", "must have at most {max} characters once NFC-normalised", {"max": IDENTIFIER_MAX}
        )
    return value


def _string_form(pattern: str) -> GetPydanticSchema:
    """Read a JSON value of the annotated type only from a string matching ``pattern`` (anchored).

    Pydantic alone also reads epoch seconds ("1700000000") as a datetime or date, a space for "T", no seconds,
    "+0800", and upper-case, braced or dash-less UUIDs. The pattern is checked in pydantic-core before the type's
    own parser runs (no Python call per field); values built in Python code skip it.
    """

    def build(source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        inner = handler(source)
        return core_schema.json_or_python_schema(
            json_schema=core_schema.chain_schema([core_schema.str_schema(pattern=pattern), inner]),
            python_schema=inner,
            serialization=inner.get("serialization"),
        )

    return GetPydanticSchema(build)


def _check_instant(value: datetime, info: ValidationInfo) -> datetime:
    # Timestamps order exactly as the instants do (a float keeps microseconds at these magnitudes) and cost half
    # of two aware-datetime comparisons, which this check makes for every event twice.
    stamp = value.timestamp()
    if stamp < _MIN_TIMESTAMP:
        raise PydanticCustomError(
            "datetime_too_early",
            "must be on or after 1990-01-01T00:00:00Z (got {value})",
            {"value": value.isoformat()},
        )
    limits = bounds(info)
    if stamp > limits.latest_timestamp:
        limit = limits.latest_instant
        raise PydanticCustomError(
            "datetime_in_future",
            "must not be later than now + 1 day ({limit}) (got {value})",
            {"limit": limit.isoformat(), "value": value.isoformat()},
        )
    return value


def _check_date(value: date, info: ValidationInfo) -> date:
    if value < MIN_DATE:
        raise PydanticCustomError(
            "date_too_early", "must be on or after 1990-01-01 (got {value})", {"value": value.isoformat()}
        )
    limit = bounds(info).latest_date
    if value > limit:
        raise PydanticCustomError(
            "date_in_future",
            "must not be later than today + 1 day ({limit}) (got {value})",
            {"limit": limit.isoformat(), "value": value.isoformat()},
        )
    return value


def _text(min_length: int, max_length: int, pattern: str, check: Any) -> tuple[Any, ...]:
    # The pattern only documents the rule in JSON Schema; ``check`` enforces it with a clearer message.
    return (
        StringConstraints(min_length=min_length, max_length=max_length),
        Field(json_schema_extra={"pattern": pattern}),
        AfterValidator(check),
    )


Identifier = Annotated[str, *_text(1, IDENTIFIER_MAX, _IDENTIFIER_PATTERN, _identifier)]
"""An id or system name: 1..64 characters, any script, NFC-normalised; no control, bidi or invisible characters."""

Name = Annotated[str, *_text(1, 200, _FREE_TEXT_PATTERN, _free_text)]
OptionalName = Annotated[str, *_text(0, 200, _FREE_TEXT_PATTERN, _free_text)]
Note = Annotated[str, *_text(0, 500, _FREE_TEXT_PATTERN, _free_text)]

EventTime = Annotated[
    AwareDatetime,
    _string_form(_RFC3339),
    AfterValidator(_check_instant),
    Field(json_schema_extra={"format": "date-time"}),
]
"""RFC 3339 string with seconds and an offset; 1990-01-01 ≤ t ≤ now + 1 day."""

EventDate = Annotated[
    date, _string_form(_DATE), AfterValidator(_check_date), Field(json_schema_extra={"format": "date"})
]
"""``YYYY-MM-DD`` string; 1990-01-01 ≤ d ≤ today + 1 day (program time zone)."""

EventId = Annotated[UUID, _string_form(_UUID), Field(json_schema_extra={"format": "uuid"})]
"""A UUID written lower-case and hyphenated (``1c1d7b52-8f10-4f51-b7a6-3d0f3e9a0a01``); other spellings refused."""

Money = Annotated[Decimal, Field(ge=0, le=MONEY_MAX, allow_inf_nan=False)]
"""Decimal ≥ 0 and ≤ 1,000,000 (JSON number or string)."""


class Frozen(BaseModel):
    """Base of every schema model: immutable, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Envelope(Frozen):
    """Fields every event carries; concrete events narrow ``event_type``, add ``worker_id`` and ``data``."""

    event_id: EventId
    event_type: str
    occurred_at: EventTime
    emitted_at: EventTime
    source: Identifier


class WorkerEnvelope(Envelope):
    """Envelope of staffing, turnover and training events: ``worker_id`` required."""

    worker_id: Identifier


class UnitEnvelope(Envelope):
    """Envelope of org and correction events: ``worker_id`` null or absent."""

    worker_id: None = None
