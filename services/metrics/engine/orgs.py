"""The org tree: parent and service model of every unit, from the latest ``org.unit_*`` event per unit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from .dates import to_date
from .model import EventRecord

ORG_TYPES = frozenset({"org.unit_registered.v1", "org.unit_changed.v1"})
SliceKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class OrgUnit:
    unit_id: str
    parent_id: str | None
    level: str | None
    service_model: str | None


class OrgTree:
    """Ancestors and service model per unit; a unit never registered is its own root with model ``none``.

    ``levels`` limits which units get ``org`` slices (None: every level). A unit whose level is unknown (never
    registered, or registered without one) keeps its slice; workers still count in every published ancestor.
    """

    def __init__(self, units: dict[str, OrgUnit], levels: frozenset[str] | None = None) -> None:
        self.units = units
        self.levels = levels
        self._chains: dict[str, tuple[str, ...]] = {}
        self._keys: dict[str, tuple[SliceKey, ...]] = {}
        # (unit, channel, gender, birth year, age year) -> a worker's slices; filled by ``slices.worker_keys``
        self.slice_memo: dict[tuple[str, str, str | None, int | None, int | None], tuple[SliceKey, ...]] = {}

    def parent(self, unit_id: str) -> str | None:
        """The unit's parent unit, or None for a root (whose parent cell is the ``all`` cell)."""
        unit = self.units.get(unit_id)
        if unit is None or not unit.parent_id or unit.parent_id == unit_id:
            return None
        return unit.parent_id

    def published(self, unit_id: str) -> bool:
        """Whether the unit gets ``org`` cells: its level is published or unknown."""
        if self.levels is None:
            return True
        unit = self.units.get(unit_id)
        return unit is None or unit.level is None or unit.level in self.levels

    def chain(self, unit_id: str) -> tuple[str, ...]:
        """The published units among the unit and its ancestors, nearest first; a cycle stops at the first repeat.

        The suppression parent of a published unit is the next unit of its chain (none: the ``all`` cell).
        """
        cached = self._chains.get(unit_id)
        if cached is None:
            seen = [unit_id]
            parent = self.parent(unit_id)
            while parent is not None and parent not in seen:
                seen.append(parent)
                parent = self.parent(parent)
            cached = self._chains[unit_id] = tuple(u for u in seen if self.published(u))
        return cached

    def published_parent(self, unit_id: str) -> str | None:
        """The nearest published ancestor of a published unit, None when it has none (parent: ``all``)."""
        chain = self.chain(unit_id)
        return chain[1] if len(chain) > 1 else None

    def service_model(self, unit_id: str) -> str:
        unit = self.units.get(unit_id)
        return unit.service_model if unit is not None and unit.service_model else "none"

    def unit_keys(self, unit_id: str) -> tuple[SliceKey, ...]:
        """The ``org`` slices (unit and ancestors) and the ``service_model`` slice of a worker in the unit."""
        cached = self._keys.get(unit_id)
        if cached is None:
            keys = [("org", u) for u in self.chain(unit_id)]
            keys.append(("service_model", self.service_model(unit_id)))
            cached = self._keys[unit_id] = tuple(keys)
        return cached


def build_org_tree(events: Iterable[EventRecord], levels: frozenset[str] | None = None) -> OrgTree:
    """Latest event per ``unit_id`` by (effective_date, emitted_at, event_id) gives the unit for all periods."""
    latest: dict[str, tuple[tuple[date, datetime, str], OrgUnit]] = {}
    for ev in events:
        if ev.event_type not in ORG_TYPES:
            continue
        data = ev.data
        unit_id = str(data["unit_id"])
        order = (to_date(data["effective_date"]), ev.emitted_at, ev.event_id)
        parent = data.get("parent_id")
        unit = OrgUnit(
            unit_id=unit_id,
            parent_id=str(parent) if parent else None,
            level=data.get("level"),
            service_model=data.get("service_model"),
        )
        current = latest.get(unit_id)
        if current is None or order > current[0]:
            latest[unit_id] = (order, unit)
    return OrgTree({uid: unit for uid, (_, unit) in latest.items()}, levels)
