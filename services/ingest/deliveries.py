"""What every broker adapter hands to the pipeline: the raw bytes and an opaque handle to settle them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class Delivery:
    """One message as received; `handle` is broker-specific and only the adapter that made it reads it."""

    body: bytes
    handle: object
    subject: str
    received_at: datetime
    message_id: str = ""
    """The broker's stable id of the message (stream sequence, entry id, offset): the same on redelivery."""


@dataclass(frozen=True, slots=True)
class Reject:
    """Why one delivery was refused, with what could be learned of it."""

    code: str
    reason: str
    field_path: str = ""
    event_type: str = ""
    event_id: str | None = None
