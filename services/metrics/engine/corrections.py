"""Apply ``correction.*`` events: the log as it should have been.

A retraction beats any amendment; amendments of one event apply in (emitted_at, event_id) order, field by
field, the later winning. A correction of an unknown event or of another correction is an anomaly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from .model import Anomaly, EventRecord

RETRACTED = "correction.retracted.v1"
AMENDED = "correction.amended.v1"
CORRECTION_TYPES = frozenset({RETRACTED, AMENDED})


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
            anomalies.append(Anomaly(ev.event_id, ev.worker_key, "duplicate_event_id"))
            continue
        by_id[key] = ev
    retracted: set[str] = set()
    amendments: dict[str, list[EventRecord]] = {}
    corrections = [ev for ev in by_id.values() if ev.event_type in CORRECTION_TYPES]
    for ev in sorted(corrections, key=lambda e: (e.emitted_at, e.event_id)):
        target_id = norm_id(ev.data.get("target_event_id", ""))
        target = by_id.get(target_id)
        if target is None:
            anomalies.append(Anomaly(ev.event_id, ev.worker_key, "correction_unknown_target"))
        elif target.event_type in CORRECTION_TYPES:
            anomalies.append(Anomaly(ev.event_id, ev.worker_key, "correction_of_correction"))
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
            data = dict(ev.data)
            for amendment in amendments[key]:
                changes = amendment.data.get("changes") or {}
                data.update(changes)
            ev = replace(ev, data=data)
        out.append(ev)
    return out, anomalies
