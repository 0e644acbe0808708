"""Staffing events: ``staffing.hired.v1``, ``staffing.grade_changed.v1``, ``staffing.transferred.v1``,
``staffing.pay_set.v1``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, Strict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from schemas.envelope import EventDate, Frozen, Identifier, Money, OptionalName, WorkerEnvelope, program_today

SourceChannel = Literal["graduate", "retrained_union_staff", "purchased_service", "enterprise_transfer", "other"]
ContractType = Literal["fixed_term", "open_ended", "service_purchase", "other"]
Gender = Literal["male", "female", "undisclosed"]

MIN_BIRTH_YEAR = 1940
MIN_WORKING_AGE = 15
MIN_GRADE_LEVEL = 1
MAX_GRADE_LEVEL = 20


def _check_birth_year(value: int, info: ValidationInfo) -> int:
    latest = program_today(info).year - MIN_WORKING_AGE
    if value > latest:
        raise PydanticCustomError(
            "birth_year_too_late",
            "must be at most {latest} (this year − 15) (got {value})",
            {"latest": latest, "value": value},
        )
    return value


BirthYear = Annotated[int, Strict(), Field(ge=MIN_BIRTH_YEAR), AfterValidator(_check_birth_year)]
WeeklyHours = Annotated[Decimal, Field(gt=0, le=80, allow_inf_nan=False)]
GradeLevel = Annotated[int, Strict(), Field(ge=MIN_GRADE_LEVEL, le=MAX_GRADE_LEVEL)]
"""A grade, 1 (entry) ..20: a JSON integer only (booleans, strings and floats, also ``3.0``, refused)."""


class HiredData(Frozen):
    """A worker joins the program at ``org_unit_id`` on ``hire_date``."""

    org_unit_id: Identifier
    hire_date: EventDate
    source_channel: SourceChannel
    contract_type: ContractType
    gender: Gender
    birth_year: BirthYear
    # Optional since issue 16 (absent or null: not known), and left out of the stored payload when null: hires
    # stored before the field existed keep their content hash, so their redeliveries are still duplicates.
    grade_level: GradeLevel | None = Field(default=None, exclude_if=lambda value: value is None)


class GradeChangedData(Frozen):
    """A worker's grade becomes ``new_level`` (with ``title``, if any) on ``effective_date``."""

    effective_date: EventDate
    new_level: GradeLevel
    title: OptionalName | None = None


class TransferredData(Frozen):
    """A worker moves between two units of the program (never a separation)."""

    from_unit_id: Identifier
    to_unit_id: Identifier
    effective_date: EventDate

    @field_validator("to_unit_id")
    @classmethod
    def _differs_from_origin(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("from_unit_id"):
            raise PydanticCustomError("same_unit", "must differ from from_unit_id (both are {value})", {"value": value})
        return value


class PaySetData(Frozen):
    """A worker's monthly pay from ``effective_date`` on."""

    effective_date: EventDate
    monthly_base: Money
    allowances: Money
    currency: Literal["CNY"]
    weekly_hours: WeeklyHours


class HiredV1(WorkerEnvelope):
    """``staffing.hired.v1``."""

    event_type: Literal["staffing.hired.v1"]
    data: HiredData


class GradeChangedV1(WorkerEnvelope):
    """``staffing.grade_changed.v1``."""

    event_type: Literal["staffing.grade_changed.v1"]
    data: GradeChangedData


class TransferredV1(WorkerEnvelope):
    """``staffing.transferred.v1``."""

    event_type: Literal["staffing.transferred.v1"]
    data: TransferredData


class PaySetV1(WorkerEnvelope):
    """``staffing.pay_set.v1``."""

    event_type: Literal["staffing.pay_set.v1"]
    data: PaySetData
