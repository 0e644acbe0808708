"""The event generator: a deterministic, streaming iterator of contract-shaped event dicts.

``generate(SimConfig(...))`` yields the org registrations first, then every worker's events, worker by
worker in hire order (each worker's events sorted by ``emitted_at``, so late events land after later
ones). Memory stays constant in the number of events: one worker's events are held at a time.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from services.sim.grades import Grades, SpellGrades
from services.sim.lives import Life, Planner, Spell
from services.sim.org import Org, Unit, build_org
from services.sim.scenario import SeedScenario, Training
from services.sim.training import BaseTrainings

Event = dict[str, Any]

LATE_SHARE = 0.06
ORG_SOURCE = "sftu-org-registry"
_NOTES = {
    "pay": "薪酬待遇偏低，另谋他职",
    "career_development": "职业发展空间受限",
    "workload": "工作任务重，经常加班",
    "relocation": "随家庭迁居外地",
    "family": "照顾家庭",
    "further_study": "考取研究生继续深造",
    "contract_end": "购买服务合同到期未续签",
    "dismissal": "年度考核不合格，解除合同",
    "retirement": "到龄退休",
}


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. ``end`` is the last simulated day (no wall clock is read). Without ``grades`` the hires
    carry no ``grade_level`` and no grade changes are emitted: the stream as it was before issue 16."""

    workers: int = 1000
    start_year: int = 2013
    end: date = date(2026, 10, 31)
    seed: int = 1
    scenario: bool = True
    grades: bool = True

    @property
    def start(self) -> date:
        return date(self.start_year, 1, 1)


def generate(config: SimConfig, warn: Callable[[str], None] | None = None) -> Iterator[Event]:
    """Yield every event of the simulated program, deterministically for a given config."""
    if config.workers < 1 or config.start > config.end:
        raise ValueError("need workers >= 1 and a start year on or before the end date")
    org = build_org(config.seed, config.start, max(1000, round(config.workers * 1.08)))
    scenario = SeedScenario(org, config.seed, config.end) if config.scenario else None
    forced = scenario.forced_hires if scenario else ()
    if scenario is not None:
        planner = Planner(org, config.seed, config.workers, config.start, config.end, forced)
        for life in planner.lives(until=scenario.last_start):
            scenario.observe(life)
        shortfalls = scenario.start_selection()
        if shortfalls and warn is not None:
            for message in shortfalls:
                warn(message)
            warn("the seed scenario's published class sizes need about 1,000 workers from 2018 or earlier")
    emitter = Emitter(config, org)
    yield from emitter.org_events()
    trainings = BaseTrainings(config.seed, config.start_year, config.end, config.scenario)
    grades = Grades(config.seed, config.end) if config.grades else None
    planner = Planner(org, config.seed, config.workers, config.start, config.end, forced)
    for life in planner.lives():
        extra = scenario.select(life) if scenario is not None else []
        spell_grades = grades.for_life(life) if grades is not None else None
        yield from emitter.worker_events(life, [*trainings.for_life(life), *extra], spell_grades)


class _Numbering:
    """Event ids and clock times from a counter. Grade changes have their own numbering (and random generator),
    so adding them moved no id, time or draw of the other events."""

    def __init__(self, name: str) -> None:
        self._namespace_bytes = uuid.uuid5(uuid.NAMESPACE_URL, name).bytes
        self._counter = 0

    def next(self) -> tuple[str, str]:
        """(event id, clock time of day) of the next event."""
        self._counter += 1
        n = self._counter
        return self._event_id(n), f"T{9 + n % 9:02d}:{n * 7 % 60:02d}:{n * 13 % 60:02d}+08:00"

    def _event_id(self, n: int) -> str:
        """``str(uuid.uuid5(namespace, str(n)))``, without the UUID object."""
        digest = bytearray(hashlib.sha1(self._namespace_bytes + str(n).encode()).digest()[:16])
        digest[6] = (digest[6] & 0x0F) | 0x50
        digest[8] = (digest[8] & 0x3F) | 0x80
        h = digest.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Emitter:
    """Turns lives into event dicts: ids, timestamps, late delivery, injected errors and their corrections."""

    def __init__(self, config: SimConfig, org: Org) -> None:
        self.end, self.org = config.end, org
        self.max_birth_year = config.end.year - 18
        self._seed = config.seed
        self._numbering = _Numbering(f"urn:workforce-sim:{config.seed}")
        self._grades = _Numbering(f"urn:workforce-sim:{config.seed}:grades")

    def _event(
        self,
        event_type: str,
        day: date,
        source: str,
        worker_id: str | None,
        data: dict[str, Any],
        rng: random.Random | None = None,
        numbering: _Numbering | None = None,
    ) -> Event:
        event_id, clock = (numbering or self._numbering).next()
        occurred = day.isoformat() + clock
        emitted = occurred
        if rng is not None and rng.random() < LATE_SHARE:
            emitted = min(day + timedelta(days=rng.randint(7, 56)), self.end).isoformat() + clock
        return {
            "event_id": event_id,
            "event_type": event_type,
            "occurred_at": occurred,
            "emitted_at": emitted,
            "source": source,
            "worker_id": worker_id,
            "data": data,
        }

    def _correction(self, target: Event, rng: random.Random, changes: dict[str, Any] | None, reason: str) -> Event:
        day = date.fromisoformat(target["emitted_at"][:10]) + timedelta(days=rng.randint(7, 90))
        data: dict[str, Any] = {"target_event_id": target["event_id"], "reason": reason}
        if changes is None:
            return self._event("correction.retracted.v1", min(day, self.end), target["source"], None, data)
        data["changes"] = changes
        return self._event("correction.amended.v1", min(day, self.end), target["source"], None, data)

    def _correctable(self, day: date) -> bool:
        return day + timedelta(days=160) <= self.end

    def org_events(self) -> Iterator[Event]:
        for unit in self.org.units.values():
            if unit.effective_date <= self.end:  # a union that opens after the simulated end does not exist yet
                yield self._event("org.unit_registered.v1", unit.effective_date, ORG_SOURCE, None, _unit_data(unit))
        for unit in self.org.changes:
            if unit.effective_date <= self.end:
                yield self._event("org.unit_changed.v1", unit.effective_date, ORG_SOURCE, None, _unit_data(unit))

    def _source(self, unit_id: str) -> str:
        return f"hr-district-{self.org.district_of(unit_id)}"

    def worker_events(
        self, life: Life, trainings: list[Training], grades: list[SpellGrades] | None = None
    ) -> list[Event]:
        """One worker's events by ``emitted_at`` (a stable sort: without the grade changes, the order before them)."""
        events: list[Event] = []
        for n, spell in enumerate(life.spells):
            events.extend(self._spell_events(life, spell, grades[n] if grades is not None else None))
        for training in trainings:
            events.extend(self._training(life, training))
        if grades is not None:
            events.extend(self._grade_changes(life, grades))
        events.sort(key=lambda e: e["emitted_at"])
        return events

    def _spell_events(self, life: Life, spell: Spell, grades: SpellGrades | None) -> Iterator[Event]:
        yield from self._hire(life, spell, grades)
        for pay in spell.pay:
            data = {
                "effective_date": pay.effective.isoformat(),
                "monthly_base": f"{pay.base}.00",
                "allowances": f"{pay.allowances}.00",
                "currency": "CNY",
                "weekly_hours": 40,
            }
            yield from self._pay(life, spell.unit_on(pay.effective), pay.effective, data)
        for transfer in spell.transfers:
            data = {
                "from_unit_id": transfer.from_unit,
                "to_unit_id": transfer.to_unit,
                "effective_date": transfer.effective.isoformat(),
            }
            source = self._source(transfer.to_unit)
            yield self._event("staffing.transferred.v1", transfer.effective, source, life.worker_id, data, life.rng)
        if spell.end is not None:
            yield from self._separation(life, spell, spell.end)

    def _hire(self, life: Life, spell: Spell, grades: SpellGrades | None) -> Iterator[Event]:
        rng = life.rng
        wrong_year = rng.random() < 0.01 and self._correctable(spell.hire_date)
        birth_year = life.birth_year
        if wrong_year:
            birth_year = birth_year + 1 if birth_year < self.max_birth_year else birth_year - 1
        data = {
            "org_unit_id": spell.unit_id,
            "hire_date": spell.hire_date.isoformat(),
            "source_channel": spell.channel,
            "contract_type": spell.contract,
            "gender": life.gender,
            "birth_year": birth_year,
        }
        if grades is not None and grades.level_field:
            data["grade_level"] = grades.hire_level
        hire = self._event("staffing.hired.v1", spell.hire_date, self._source(spell.unit_id), life.worker_id, data, rng)
        yield hire
        if wrong_year:
            yield self._correction(hire, rng, {"birth_year": life.birth_year}, "出生年份录入错误，按身份证更正")

    def _pay(self, life: Life, unit_id: str, day: date, data: dict[str, Any]) -> Iterator[Event]:
        rng, source = life.rng, self._source(unit_id)
        draw = rng.random()
        if draw < 0.002 and self._correctable(day):
            wrong = {**data, "monthly_base": data["monthly_base"].replace(".00", "0.00")}
            event = self._event("staffing.pay_set.v1", day, source, life.worker_id, wrong, rng)
            yield event
            yield self._correction(event, rng, {"monthly_base": data["monthly_base"]}, "工资基数多录一位，更正")
            return
        yield self._event("staffing.pay_set.v1", day, source, life.worker_id, data, rng)
        if draw > 0.999 and self._correctable(day):
            duplicate = {**data, "allowances": "0.00"}
            event = self._event("staffing.pay_set.v1", day, source, life.worker_id, duplicate, rng)
            yield event
            yield self._correction(event, rng, None, "重复录入，撤销")

    def _separation(self, life: Life, spell: Spell, day: date) -> Iterator[Event]:
        rng = life.rng
        reason = spell.reason or "other"
        note = _NOTES.get(reason) if rng.random() < 0.25 else None
        recoded = reason != "other" and rng.random() < 0.04 and self._correctable(day)
        data = {
            "separation_date": day.isoformat(),
            "kind": spell.kind or "other",
            "reason": "other" if recoded else reason,
            "note": note,
        }
        event = self._event("turnover.separated.v1", day, self._source(spell.unit_on(day)), life.worker_id, data, rng)
        yield event
        if recoded:
            yield self._correction(event, rng, {"reason": reason}, "离职面谈后更正离职原因")

    def _grade_changes(self, life: Life, grades: list[SpellGrades]) -> Iterator[Event]:
        rng = random.Random(f"{self._seed}:grade-delivery:{life.index}")
        for spell, spell_grades in zip(life.spells, grades, strict=True):
            for change in spell_grades.changes:
                data = {
                    "effective_date": change.effective.isoformat(),
                    "new_level": change.level,
                    "title": change.title,
                }
                source = self._source(spell.unit_on(change.effective))
                yield self._event(
                    "staffing.grade_changed.v1", change.effective, source, life.worker_id, data, rng, self._grades
                )

    def _training(self, life: Life, training: Training) -> Iterator[Event]:
        course, rng = training.course, life.rng
        data = {
            "course_id": course.course_id,
            "class_id": course.class_id,
            "kind": course.kind,
            "start_date": course.start.isoformat(),
            "end_date": course.end.isoformat(),
            "hours": course.hours,
            "passed": training.passed,
        }
        yield self._event("training.completed.v1", course.end, course.source, life.worker_id, data, rng)
        if course.kind == "site_visit" and rng.random() < 0.05 and self._correctable(course.end):
            duplicate = self._event("training.completed.v1", course.end, course.source, life.worker_id, data, rng)
            yield duplicate
            yield self._correction(duplicate, rng, None, "同一学员重复登记，撤销")


def _unit_data(unit: Unit) -> dict[str, Any]:
    return {
        "unit_id": unit.unit_id,
        "parent_id": unit.parent_id,
        "level": unit.level,
        "name_zh": unit.name_zh,
        "name_en": unit.name_en,
        "service_model": unit.service_model,
        "effective_date": unit.effective_date.isoformat(),
    }
