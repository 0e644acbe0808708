"""Base trainings: initial training at hire, yearly rotation classes, on-site teaching visits.

With the seed scenario on, initial and rotation trainings ending in 2019-2022 are left to the scenario.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from services.sim.lives import Life, Spell
from services.sim.scenario import (
    INITIAL_CLASSES,
    INITIAL_WINDOW_START,
    Training,
    TrainingClass,
    in_blackout,
    rotation_slot,
)

_ROTATION_MONTHS = {2: (4, 10), 3: (3, 6, 10), 4: (3, 5, 9, 11)}
_SITES = (
    ("DINGHAILU", "定海路街道总工会"),
    ("GONGHUI", "浦东公惠社工服务中心"),
    ("NANJINGDONGLU", "南京东路街道总工会"),
    ("CHANGNING-PALACE", "长宁文化宫"),
)
_SITE_MONTHS = (4, 6, 10)
_LAST_SCENARIO_INITIAL = INITIAL_CLASSES[-1][0].start


def _weekday_on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def rotation_class(year: int, slot: int, slots: int) -> TrainingClass:
    start = _weekday_on_or_after(date(year, _ROTATION_MONTHS[slots][slot], 8), 0)
    return TrainingClass(f"ROT-{year}-{slot + 1:02d}", "SW-ROTATION", "rotation", start, start + timedelta(days=3), 32)


def site_visit(year: int, batch: int) -> TrainingClass:
    code, _ = _SITES[(year + batch) % len(_SITES)]
    day = _weekday_on_or_after(date(year, _SITE_MONTHS[batch], 15), 3)
    return TrainingClass(f"SITE-{year}-{batch + 1}", f"SITE-{code}", "site_visit", day, day, 6)


class BaseTrainings:
    """Per-life draws of the trainings that are not the scenario's."""

    def __init__(self, seed: int, start_year: int, end: date, scenario: bool) -> None:
        self.seed, self.start_year, self.end, self.scenario = seed, start_year, end, scenario

    def for_life(self, life: Life) -> Iterator[Training]:
        first = life.spells[0]
        initial = self._initial(life, first)
        if initial is not None:
            yield initial
        for spell in life.spells:
            yield from self._yearly(life, spell)

    def _fits(self, spell: Spell, course: TrainingClass) -> bool:
        return course.end <= self.end and spell.covers(course.start, course.end)

    def _initial(self, life: Life, spell: Spell) -> Training | None:
        draw = life.rng.random()
        if draw >= 0.92:
            return None
        lag = life.rng.randint(0, 4) if draw < 0.82 else life.rng.randint(35, 110)
        start = spell.hire_date + timedelta(days=lag)
        course = TrainingClass(
            f"INIT-{start.year}-{start.month:02d}",
            "SW-INITIAL",
            "initial",
            start,
            start + timedelta(days=life.rng.randint(20, 25)),
            160,
        )
        if self.scenario and (
            in_blackout(course.end) or INITIAL_WINDOW_START <= spell.hire_date <= _LAST_SCENARIO_INITIAL
        ):
            return None
        return Training(course, life.rng.random() < 0.97) if self._fits(spell, course) else None

    def _yearly(self, life: Life, spell: Spell) -> Iterator[Training]:
        last_year = spell.end.year if spell.end else self.end.year
        for year in range(spell.hire_date.year, last_year + 1):
            if year >= self.start_year + 2 and not (self.scenario and 2019 <= year <= 2022):
                slots = 2 if year < 2017 else 3 if year < 2019 else 4
                course = rotation_class(year, rotation_slot(self.seed, life.worker_id, year, slots), slots)
                tenure = (course.start - spell.hire_date).days
                if tenure >= 180 and self._fits(spell, course) and life.rng.random() < 0.45:
                    yield Training(course, life.rng.random() < 0.98)
            if year >= 2020:
                for batch in range(len(_SITE_MONTHS)):
                    course = site_visit(year, batch)
                    if self._fits(spell, course) and life.rng.random() < 0.035:
                        yield Training(course, True)
