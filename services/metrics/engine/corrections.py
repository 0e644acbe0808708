"""Apply ``correction.*`` events: the log as it should have been.

A retraction beats any amendment; amendments of one event apply in (emitted_at, event_id) order, field by
field, the later winning. A correction of an unknown event or of another correction is an anomaly.

An amendment applies only if the target's data with it applied is still a valid payload of the target's type
(``schemas``): one stored before ingest checked its changes, or written to the store by hand, would otherwise
stop the engine (``"abc"`` as pay) or poison its output (a hire in 1969, pay of 1e400). Such an amendment is an
anomaly (``correction_invalid``, or ``correction_wrong_target_type`` when it names another type) and the target
counts as the amendments before it left it. The check has no clock: a date's upper bound (today + 1 day) was
ingest's to check when the event came; what the engine cannot count is a value of the wrong type or range.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final

from schemas.correction import payload_problem
from schemas.envelope import validation_context

from .model import Anomaly, EventRecord

RETRACTED = "correction.retracted.v1"
AMENDED = "correction.amended.v1"
CORRECTION_TYPES = frozenset({RETRACTED, AMENDED})
DUPLICATE: Final = "duplicate_event_id"
UNKNOWN_TARGET: Final = "correction_unknown_target"
OF_CORRECTION: Final = "correction_of_correction"
"""Anomaly reasons: another copy of a kept event id, a correction naming no stored event or naming a correction."""
NO_CLOCK: Final = validation_context(datetime(9000, 1, 1, tzinfo=UTC))
"""Validation context whose "now" is far away: only the clock-free rules of the payload models apply."""


def norm_id(value: Any) -> str:
    """An event id as compared: trimmed, lower case (the given string itself when it already is: the log keeps
    one normalised id per event)."""
    text = str(value).strip()
    lower = text.lower()
    return text if lower == text else lower


def apply_corrections(events: Iterable[EventRecord]) -> tuple[list[EventRecord], list[Anomaly]]:
    """Return the corrected non-correction events (sorted by event_id) and the rejected corrections."""
    by_id: dict[str, EventRecord] = {}
    anomalies: list[Anomaly] = []
    for ev in events:
        key = norm_id(ev.event_id)
        if key in by_id:
            anomalies.append(Anomaly(ev.event_id, ev.worker_key, DUPLICATE))
            continue
        by_id[key] = ev
    retracted: set[str] = set()
    amendments: dict[str, list[EventRecord]] = {}
    corrections = [ev for ev in by_id.values() if ev.event_type in CORRECTION_TYPES]
    for ev in sorted(corrections, key=lambda e: (e.emitted_at, e.event_id)):
        target_id = norm_id(ev.data.get("target_event_id", ""))
        target = by_id.get(target_id)
        if target is None:
            anomalies.append(Anomaly(ev.event_id, ev.worker_key, UNKNOWN_TARGET))
        elif target.event_type in CORRECTION_TYPES:
            anomalies.append(Anomaly(ev.event_id, ev.worker_key, OF_CORRECTION))
        elif ev.event_type == RETRACTED:
            retracted.add(target_id)
        else:
            amendments.setdefault(target_id, []).append(ev)
    out: list[EventRecord] = []
    for key in sorted(by_id):
        ev = by_id[key]
        if ev.event_type in CORRECTION_TYPES or key in retracted:
            continue
        if key in amendments:
            ev = replace(ev, data=_amended(ev, amendments[key], anomalies))
        out.append(ev)
    return out, anomalies


def _amended(target: EventRecord, amendments: list[EventRecord], anomalies: list[Anomaly]) -> dict[str, Any]:
    """The target's data with each amendment applied in turn, skipping (as anomalies) those it cannot take."""
    data = dict(target.data)
    for amendment in amendments:
        named = amendment.data.get("target_event_type")
        changes = amendment.data.get("changes")
        reason: str | None = None
        if named is not None and named != target.event_type:
            reason = "correction_wrong_target_type"
        elif not isinstance(changes, Mapping) or not changes:
            reason = "correction_invalid"
        else:
            merged = {**data, **changes}
            if payload_problem(target.event_type, merged, NO_CLOCK) is None:
                data = merged
                continue
            reason = "correction_invalid"
        anomalies.append(Anomaly(amendment.event_id, amendment.worker_key, reason))
    return data
