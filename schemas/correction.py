"""Correction events: ``correction.retracted.v1`` and ``correction.amended.v1``.

An amendment's ``changes`` are checked here, before its target is known (brokers reorder, upstream sends late):
every changed field must be a field of the type it names in ``target_event_type`` or, when it names none, of at
least one event type that has all the changed fields, and each value must be valid for that field. Ingest checks
the rest once the target is known: that it exists, is not a correction, is of the named type, and that its data
with ``changes`` applied still validates (the rules that tie two fields together: ``to_unit_id`` ≠
``from_unit_id``, ``end_date`` ≥ ``start_date``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import BaseModel, Field, JsonValue, TypeAdapter, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from schemas.envelope import EventId, Frozen, Identifier, Note, UnitEnvelope
from schemas.org import UnitData
from schemas.staffing import GradeChangedData, HiredData, PaySetData, TransferredData
from schemas.training import TrainingCompletedData
from schemas.turnover import SeparatedData

AmendableType = Literal[
    "org.unit_registered.v1",
    "org.unit_changed.v1",
    "staffing.hired.v1",
    "staffing.grade_changed.v1",
    "staffing.transferred.v1",
    "staffing.pay_set.v1",
    "turnover.separated.v1",
    "training.completed.v1",
]
"""The event types an amendment may target (every type but the corrections)."""

PAYLOADS: Final[dict[str, type[BaseModel]]] = dict(
    zip(
        get_args(AmendableType),
        (
            UnitData,
            UnitData,
            HiredData,
            GradeChangedData,
            TransferredData,
            PaySetData,
            SeparatedData,
            TrainingCompletedData,
        ),
        strict=True,
    )
)
"""Amendable event type → its ``data`` model."""

_FIELDS: Final[dict[str, dict[str, TypeAdapter[Any]]]] = {
    name: {field: TypeAdapter(info.rebuild_annotation()) for field, info in model.model_fields.items()}
    for name, model in PAYLOADS.items()
}


class RetractedData(Frozen):
    """Withdraw the event ``target_event_id`` entirely."""

    target_event_id: EventId
    reason: Note | None = None


class AmendedData(Frozen):
    """Replace some ``data`` fields of the event ``target_event_id`` (field → new value, ≥ 1 key).

    ``target_event_type`` (optional) names the target's type: the changes are then checked against it alone, and
    a target of another type refuses the amendment. Without it, some one type must accept every change.
    """

    target_event_id: EventId
    # Left out of the stored payload when absent: amendments stored before this field existed keep their hash.
    target_event_type: AmendableType | None = Field(default=None, exclude_if=lambda value: value is None)
    changes: Annotated[dict[Identifier, JsonValue], Field(min_length=1)]
    reason: Note | None = None

    @field_validator("changes")
    @classmethod
    def _changes_fit_a_target_type(cls, changes: dict[str, JsonValue], info: ValidationInfo) -> dict[str, JsonValue]:
        named = info.data.get("target_event_type")
        problem = changes_problem(changes, named, info.context)
        if problem is not None:
            raise PydanticCustomError("invalid_changes", "{problem}", {"problem": problem})
        return changes


def changes_problem(changes: Mapping[str, Any], target_type: str | None, context: Any = None) -> str | None:
    """Why ``changes`` fit no amendable type (``target_type`` alone when given), or None when one accepts them all.

    ``context`` is the validation context (the clock for the date bounds).
    """
    for key, value in changes.items():
        if not _finite(value):
            return f"{key}: numbers must be finite (NaN and ±Infinity, also as 1e400, are refused)"
    names = [target_type] if target_type else [n for n, fields in _FIELDS.items() if changes.keys() <= fields.keys()]
    if not names:
        if len(changes) == 1:
            return f"{next(iter(changes))}: no event type has this field"
        return f"no event type has all of the fields {', '.join(sorted(changes))}"
    first: str | None = None
    for name in names:
        problem = _field_problem(name, changes, context)
        if problem is None:
            return None
        first = first or problem
    return first


def _field_problem(event_type: str, changes: Mapping[str, Any], context: Any) -> str | None:
    fields = _FIELDS[event_type]
    for key, value in changes.items():
        adapter = fields.get(key)
        if adapter is None:
            return f"{key}: {event_type} has no such field"
        try:
            # JSON mode, as the target itself was read: dates are strict and come as strings.
            adapter.validate_json(json.dumps(value, ensure_ascii=False), context=context)
        except ValidationError as exc:
            return f"{key}: {exc.errors(include_url=False)[0]['msg']} (as a field of {event_type})"
    return None


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


class RetractedV1(UnitEnvelope):
    """``correction.retracted.v1``."""

    event_type: Literal["correction.retracted.v1"]
    data: RetractedData


class AmendedV1(UnitEnvelope):
    """``correction.amended.v1``."""

    event_type: Literal["correction.amended.v1"]
    data: AmendedData


def payload_problem(event_type: str, data: Mapping[str, Any], context: Any = None) -> str | None:
    """Why ``data`` is not a valid payload of the amendable ``event_type`` (None when it is): the check of a
    target's data with an amendment applied. ``context`` is the validation context (the clock)."""
    model = PAYLOADS.get(event_type)
    if model is None:
        return f"{event_type} cannot be amended"
    try:
        model.model_validate_json(json.dumps(data, ensure_ascii=False), context=context)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"data.{where}: {error['msg']}" if where else f"data: {error['msg']}"
    return None
