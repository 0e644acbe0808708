"""Correction events: ``correction.retracted.v1`` and ``correction.amended.v1``.

The schema checks shape only; ingest checks that the target exists, is not a correction, and that the
target's data with ``changes`` applied still validates.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, JsonValue

from schemas.envelope import EventId, Frozen, Identifier, Note, UnitEnvelope


class RetractedData(Frozen):
    """Withdraw the event ``target_event_id`` entirely."""

    target_event_id: EventId
    reason: Note | None = None


class AmendedData(Frozen):
    """Replace some ``data`` fields of the event ``target_event_id`` (field → new value, ≥ 1 key)."""

    target_event_id: EventId
    changes: Annotated[dict[Identifier, JsonValue], Field(min_length=1)]
    reason: Note | None = None


class RetractedV1(UnitEnvelope):
    """``correction.retracted.v1``."""

    event_type: Literal["correction.retracted.v1"]
    data: RetractedData


class AmendedV1(UnitEnvelope):
    """``correction.amended.v1``."""

    event_type: Literal["correction.amended.v1"]
    data: AmendedData
