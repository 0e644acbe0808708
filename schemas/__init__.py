"""Versioned event schemas shared by ingest, metrics, the oracle and the simulator (docs/contract.md §1-2)."""

from schemas.correction import AmendedData, AmendedV1, RetractedData, RetractedV1
from schemas.envelope import MAX_PAYLOAD_BYTES, PROGRAM_TZ, Envelope, UnitEnvelope, WorkerEnvelope
from schemas.errors import ERROR_CODES, ErrorCode, EventError
from schemas.org import UnitChangedV1, UnitData, UnitRegisteredV1
from schemas.registry import EVENT_ADAPTER, REGISTRY, AnyEvent, Event, parse_event, validate_many
from schemas.staffing import (
    GradeChangedData,
    GradeChangedV1,
    HiredData,
    HiredV1,
    PaySetData,
    PaySetV1,
    TransferredData,
    TransferredV1,
)
from schemas.training import TrainingCompletedData, TrainingCompletedV1
from schemas.turnover import SeparatedData, SeparatedV1

__all__ = [
    "ERROR_CODES",
    "EVENT_ADAPTER",
    "MAX_PAYLOAD_BYTES",
    "PROGRAM_TZ",
    "REGISTRY",
    "AmendedData",
    "AmendedV1",
    "AnyEvent",
    "Envelope",
    "ErrorCode",
    "Event",
    "EventError",
    "GradeChangedData",
    "GradeChangedV1",
    "HiredData",
    "HiredV1",
    "PaySetData",
    "PaySetV1",
    "RetractedData",
    "RetractedV1",
    "SeparatedData",
    "SeparatedV1",
    "TrainingCompletedData",
    "TrainingCompletedV1",
    "TransferredData",
    "TransferredV1",
    "UnitChangedV1",
    "UnitData",
    "UnitEnvelope",
    "UnitRegisteredV1",
    "WorkerEnvelope",
    "parse_event",
    "validate_many",
]
