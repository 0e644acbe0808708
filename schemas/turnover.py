"""Turnover events: ``turnover.separated.v1``."""

from __future__ import annotations

from typing import Literal

from schemas.envelope import EventDate, Frozen, Note, WorkerEnvelope

SeparationKind = Literal["voluntary", "involuntary", "other"]
SeparationReason = Literal[
    "pay",
    "career_development",
    "workload",
    "relocation",
    "family",
    "further_study",
    "contract_end",
    "dismissal",
    "retirement",
    "death",
    "other",
]


class SeparatedData(Frozen):
    """A worker leaves the program on ``separation_date``."""

    separation_date: EventDate
    kind: SeparationKind
    reason: SeparationReason
    note: Note | None = None


class SeparatedV1(WorkerEnvelope):
    """``turnover.separated.v1``."""

    event_type: Literal["turnover.separated.v1"]
    data: SeparatedData
