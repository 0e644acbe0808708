"""Training events: ``training.completed.v1``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, Strict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from schemas.envelope import EventDate, Frozen, Identifier, WorkerEnvelope

TrainingKind = Literal["initial", "rotation", "site_visit", "skills_competition", "other"]
TrainingHours = Annotated[Decimal, Field(ge=0, le=2000, allow_inf_nan=False)]


class TrainingCompletedData(Frozen):
    """One completed participation (one 人次) in a class of a course."""

    course_id: Identifier
    class_id: Identifier
    kind: TrainingKind
    start_date: EventDate
    end_date: EventDate
    hours: TrainingHours
    passed: Annotated[bool, Strict()]

    @field_validator("end_date")
    @classmethod
    def _not_before_start(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("start_date")
        if isinstance(start, date) and value < start:
            raise PydanticCustomError(
                "end_before_start",
                "must be on or after start_date {start} (got {value})",
                {"start": start.isoformat(), "value": value.isoformat()},
            )
        return value


class TrainingCompletedV1(WorkerEnvelope):
    """``training.completed.v1``."""

    event_type: Literal["training.completed.v1"]
    data: TrainingCompletedData
