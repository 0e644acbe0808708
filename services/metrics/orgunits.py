"""Org units as last registered (contract §4 rule), with their district and street, for dashboard labels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .engine import EventRecord

ORG_TYPES = ("org.unit_registered.v1", "org.unit_changed.v1")


@dataclass(frozen=True, slots=True)
class UnitLabel:
    unit_id: str
    parent_id: str
    level: str
    name_zh: str
    name_en: str
    service_model: str
    district_id: str
    street_id: str


def latest_units(events: Iterable[EventRecord]) -> dict[str, dict[str, object]]:
    """The latest org payload per unit, by (effective_date, emitted_at, event_id)."""
    best: dict[str, tuple[tuple[str, str, str], dict[str, object]]] = {}
    for event in events:
        if event.event_type not in ORG_TYPES:
            continue
        data = dict(event.data)
        unit_id = str(data["unit_id"])
        rank = (str(data["effective_date"]), event.emitted_at.isoformat(), event.event_id)
        if unit_id not in best or rank > best[unit_id][0]:
            best[unit_id] = (rank, data)
    return {unit: data for unit, (_, data) in best.items()}


def labels(units: dict[str, dict[str, object]]) -> list[UnitLabel]:
    out = []
    for unit_id, data in sorted(units.items()):
        chain = _chain(unit_id, units)
        levels = {str(units[u].get("level")): u for u in chain if u in units}
        out.append(
            UnitLabel(
                unit_id=unit_id,
                parent_id=str(data.get("parent_id") or ""),
                level=str(data.get("level") or ""),
                name_zh=str(data.get("name_zh") or unit_id),
                name_en=str(data.get("name_en") or data.get("name_zh") or unit_id),
                service_model=str(data.get("service_model") or "none"),
                district_id=levels.get("district", ""),
                street_id=levels.get("street", ""),
            )
        )
    return out


def _chain(unit_id: str, units: dict[str, dict[str, object]]) -> list[str]:
    chain, seen = [], set()
    current: str | None = unit_id
    while current and current not in seen:
        seen.add(current)
        chain.append(current)
        parent = units.get(current, {}).get("parent_id")
        current = str(parent) if parent else None
    return chain
