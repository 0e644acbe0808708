"""Stable value types shared by the engine and the independent oracle.

These types are the engine's public contract (docs/contract.md, sections 3 and 4): the oracle imports
them, so their names, fields and field order must not change without changing the contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One stored event, deduplicated by ``event_id`` (contract section 3).

    ``data`` is the parsed payload JSON: dates as ISO strings, decimals as strings or numbers.
    ``worker_key`` is the pseudonymised worker id, ``''`` for org and correction events.
    """

    event_id: str
    event_type: str
    occurred_at: datetime
    emitted_at: datetime
    worker_key: str
    data: Mapping[str, Any]


class IndicatorRow(NamedTuple):
    """One cell of the long ``indicators`` table (contract section 4).

    A suppressed row carries no value, numerator, denominator or population (``workers`` 0) and says why it is
    hidden in ``reason`` (one of ``SUPPRESSION_REASONS``); a published row has ``reason`` ``''``. A named tuple, not a
    dataclass: the engine builds millions of them, and a tuple is also the shape the publisher inserts.
    """

    indicator: str
    period_kind: str
    period: date
    dimension: str
    slice: str
    category: str
    value: float | None
    numerator: float | None
    denominator: float | None
    workers: int
    suppressed: bool
    reason: str = ""


SUPPRESSION_REASONS = ("primary", "secondary", "linked", "audit")
"""Why a cell is suppressed (METRICS.md, Suppression): below its threshold, hidden to protect a sibling, equal in
numerator or denominator to a hidden cell, or hidden by the disclosure audit."""


@dataclass(frozen=True, slots=True)
class ReferenceWage:
    """A published average annual wage loaded by the operator; region ``all`` or an org ``unit_id``."""

    region: str
    year: int
    annual_amount: float
    source: str


@dataclass(frozen=True, slots=True)
class Anomaly:
    """An event that counts nowhere, with the reason it was dropped."""

    event_id: str
    worker_key: str
    reason: str
