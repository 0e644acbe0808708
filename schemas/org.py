"""Org-unit events: ``org.unit_registered.v1`` and ``org.unit_changed.v1`` (same payload)."""

from __future__ import annotations

from typing import Literal

from schemas.envelope import EventDate, Frozen, Identifier, Name, OptionalName, UnitEnvelope

UnitLevel = Literal["district", "street", "second_tier"]
ServiceModel = Literal["enterprise", "building", "park", "community"]


class UnitData(Frozen):
    """A union unit in the district → street → second-tier tree, as of ``effective_date``."""

    unit_id: Identifier
    parent_id: Identifier | None = None
    level: UnitLevel
    name_zh: Name
    name_en: OptionalName | None = None
    service_model: ServiceModel | None = None
    effective_date: EventDate


class UnitRegisteredV1(UnitEnvelope):
    """A unit appears in the program."""

    event_type: Literal["org.unit_registered.v1"]
    data: UnitData


class UnitChangedV1(UnitEnvelope):
    """A unit's parent, level, names or service model changed."""

    event_type: Literal["org.unit_changed.v1"]
    data: UnitData
