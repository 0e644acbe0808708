"""The envelope every event shares, and the field types payloads reuse (docs/contract.md §1-2).

Time bounds depend on "now", which is injected through pydantic's validation context::

    Model.model_validate_json(raw, context={"now": datetime(2026, 11, 1, tzinfo=UTC)})

Without it the validators fall back to ``datetime.now(UTC)``. Calendar dates are compared with "today"
in the program time zone (``context["tz"]``, default ``PROGRAM_TZ``). A batch passes
``validation_context(now)``, which also carries the derived ``Bounds`` so no field recomputes them.
"""

from __future__ import annotations

import re
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
    Strict,
    StringConstraints,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

MAX_PAYLOAD_BYTES: Final = 64 * 1024
MIN_DATE: Final = date(1990, 1, 1)
MIN_DATETIME: Final = datetime(1990, 1, 1, tzinfo=UTC)
_MIN_TIMESTAMP: Final = MIN_DATETIME.timestamp()
PROGRAM_TZ: Final = ZoneInfo("Asia/Shanghai")
FUTURE_SLACK: Final = timedelta(days=1)
MONEY_MAX: Final = Decimal(1_000_000)

# Unicode category Cc minus \t (U+0009) and \n (U+000A); written for JSON Schema (ECMA) and Python alike.
_FREE_TEXT_PATTERN: Final = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
_IDENTIFIER_PATTERN: Final = r"^[^\u0000-\u001f\u007f-\u009f]*$"
_FREE_TEXT_BAD: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_IDENTIFIER_BAD: Final = re.compile("[\x00-\x1f\x7f-\x9f]")


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
    return _reject_controls(value, _IDENTIFIER_BAD, "identifiers take none")


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


Identifier = Annotated[str, *_text(1, 64, _IDENTIFIER_PATTERN, _identifier)]
"""An id or system name: 1..64 characters, any script, no control characters at all."""

Name = Annotated[str, *_text(1, 200, _FREE_TEXT_PATTERN, _free_text)]
OptionalName = Annotated[str, *_text(0, 200, _FREE_TEXT_PATTERN, _free_text)]
Note = Annotated[str, *_text(0, 500, _FREE_TEXT_PATTERN, _free_text)]

EventTime = Annotated[AwareDatetime, Strict(), AfterValidator(_check_instant)]
"""RFC 3339 string with an offset; 1990-01-01 ≤ t ≤ now + 1 day."""

EventDate = Annotated[date, Strict(), AfterValidator(_check_date)]
"""``YYYY-MM-DD`` string; 1990-01-01 ≤ d ≤ today + 1 day (program time zone)."""

Money = Annotated[Decimal, Field(ge=0, le=MONEY_MAX, allow_inf_nan=False)]
"""Decimal ≥ 0 and ≤ 1,000,000 (JSON number or string)."""


class Frozen(BaseModel):
    """Base of every schema model: immutable, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Envelope(Frozen):
    """Fields every event carries; concrete events narrow ``event_type``, add ``worker_id`` and ``data``."""

    event_id: UUID
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
