"""The org tree: district unions → street/town unions → second-tier (小二级) unions."""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from services.sim.orgdata import (
    BRANDS,
    CENTRAL,
    DISTRICTS,
    SECOND_TIER_SUFFIXES,
    SERVICE_MODEL_WEIGHTS,
    District,
    street_kind_en,
)


@dataclass(frozen=True)
class Unit:
    unit_id: str
    parent_id: str | None
    level: str
    name_zh: str
    name_en: str | None
    service_model: str | None
    effective_date: date
    district: str


@dataclass
class Org:
    """All units, with per-district indexes for placing workers."""

    units: dict[str, Unit] = field(default_factory=dict)
    streets: dict[str, list[str]] = field(default_factory=dict)
    second_tier: dict[str, list[str]] = field(default_factory=dict)
    second_tier_dates: dict[str, list[date]] = field(default_factory=dict)
    changes: list[Unit] = field(default_factory=list)

    def add(self, unit: Unit) -> None:
        self.units[unit.unit_id] = unit

    def district_of(self, unit_id: str) -> str:
        return self.units[unit_id].district

    def place(self, rng: random.Random, district: str, on: date, street_share: float = 0.15) -> str:
        """A unit of ``district`` registered by ``on``: mostly a second-tier union, sometimes a street union."""
        open_count = bisect.bisect_right(self.second_tier_dates[district], on)
        if open_count and rng.random() >= street_share:
            return self.second_tier[district][rng.randrange(open_count)]
        return rng.choice(self.streets[district])


def _district_unit(d: District, start: date) -> Unit:
    name_en = f"{d.name_en} Federation of Trade Unions"
    return Unit(f"D-{d.slug.upper()}", None, "district", f"{d.name_zh}总工会", name_en, None, start, d.slug)


def _street_unit(d: District, index: int, zh: str, en: str, start: date) -> Unit:
    kind = street_kind_en(zh)
    name_en = f"{en} {kind} Federation of Trade Unions".replace("  ", " ")
    unit_id = f"S-{d.slug.upper()}-{index:02d}"
    return Unit(unit_id, f"D-{d.slug.upper()}", "street", f"{zh}总工会", name_en, None, start, d.slug)


def _short(zh: str) -> str:
    for suffix in ("街道", "新镇", "镇", "乡"):
        if zh.endswith(suffix) and len(zh) > len(suffix) + 1:
            return zh[: -len(suffix)]
    return zh


def _second_tier_date(rng: random.Random, start: date) -> date:
    # a fifth exist from the start; the rest open over six years (the 小二级 reform's roll-out)
    if rng.random() < 0.2:
        return start
    return start + timedelta(days=rng.randrange(6 * 365))


def build_org(seed: int, start: date, second_tier_total: int) -> Org:
    """Deterministic org tree: 16 districts, their streets, and ``second_tier_total`` second-tier unions."""
    rng = random.Random(f"{seed}:org")
    org = Org()
    total_weight = sum(d.weight for d in DISTRICTS)
    for d in DISTRICTS:
        district = _district_unit(d, start)
        org.add(district)
        streets = [_street_unit(d, i + 1, zh, en, start) for i, (zh, en) in enumerate(d.streets)]
        for unit in streets:
            org.add(unit)
        org.streets[d.slug] = [u.unit_id for u in streets]
        count = max(20, round(second_tier_total * d.weight / total_weight))
        tier = sorted(_second_tier(rng, d, streets, count, start), key=lambda u: (u.effective_date, u.unit_id))
        for unit in tier:
            org.add(unit)
        org.second_tier[d.slug] = [u.unit_id for u in tier]
        org.second_tier_dates[d.slug] = [u.effective_date for u in tier]
    org.changes = _changes(rng, org)
    return org


def _second_tier(rng: random.Random, d: District, streets: list[Unit], count: int, start: date) -> list[Unit]:
    weights = SERVICE_MODEL_WEIGHTS[d.slug in CENTRAL]
    models, model_weights = list(weights), list(weights.values())
    seen: set[str] = set()
    units = []
    for index in range(1, count + 1):
        street_index = rng.randrange(len(streets))
        street_zh, street_en = d.streets[street_index]
        model = rng.choices(models, model_weights)[0]
        brand_zh, brand_en = rng.choice(BRANDS)
        suffix_zh, suffix_en = rng.choice(SECOND_TIER_SUFFIXES[model])
        name_zh = f"{_short(street_zh)}{brand_zh}{suffix_zh}"
        name_en = f"{street_en} {brand_en} {suffix_en}"
        if name_zh in seen:
            name_zh = f"{_short(street_zh)}{brand_zh}第{index}{suffix_zh}"
            name_en = f"{street_en} {brand_en} No. {index} {suffix_en}"
        seen.add(name_zh)
        unit_id = f"T-{d.slug.upper()}-{index:04d}"
        parent = streets[street_index].unit_id
        units.append(
            Unit(unit_id, parent, "second_tier", name_zh, name_en, model, _second_tier_date(rng, start), d.slug)
        )
    return units


def _changes(rng: random.Random, org: Org) -> list[Unit]:
    """A few second-tier unions renamed into a 工会联合会 a year or two after they opened."""
    changed = []
    for unit in org.units.values():
        if unit.level != "second_tier" or rng.random() >= 0.01:
            continue
        name_zh = unit.name_zh.replace("联合工会", "工会联合会")
        if name_zh == unit.name_zh:
            continue
        effective = unit.effective_date + timedelta(days=365 + rng.randrange(365))
        name_en = (unit.name_en or "").replace("Joint Trade Union", "Union Federation") or None
        changed.append(
            Unit(
                unit.unit_id, unit.parent_id, unit.level, name_zh, name_en, unit.service_model, effective, unit.district
            )
        )
    return changed
