"""The seed scenario: the program's published facts laid over the base generator.

Source: 劳动报, "上海市总工会：锻造高素质工会社工队伍" (2023). In 2019-2022 the union college ran 4 initial
classes (163 trainee-times) and 14 rotation classes (949 trainee-times); in March 2019, 26 frontline
Baowu steel workers became union social workers in Baoshan and Yangpu; the fifth skills competition
(March 2023, Hongkou) heard 38 contestants selected by 12 districts.

Trainees are drawn with selection sampling (Knuth's algorithm S): a first pass over the worker lives
counts who is eligible for each class, so the second pass fills every class to its exact size while
reading each worker once, in hire order.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from services.sim.lives import ForcedHires, Life, Spell
from services.sim.org import Org

BLACKOUT = (date(2019, 1, 1), date(2022, 12, 31))
"""Years whose initial and rotation trainings belong to the scenario alone."""

INITIAL_WINDOW_START = date(2018, 12, 2)
"""Hires from this day until the last initial class start are left to the scenario's initial classes."""

COLLEGE = "sh-union-college"
COMPETITION_SOURCE = "sftu-skills-competition"

BAOWU = ForcedHires(
    month=date(2019, 3, 1),
    count=26,
    channel="enterprise_transfer",
    districts=("baoshan", "baoshan", "yangpu"),
    male_share=0.75,
    first_day=11,
)


@dataclass(frozen=True)
class TrainingClass:
    class_id: str
    course_id: str
    kind: str
    start: date
    end: date
    hours: int
    source: str = COLLEGE


@dataclass(frozen=True)
class Training:
    course: TrainingClass
    passed: bool


def _initial(number: int, start: str, end: str) -> TrainingClass:
    return TrainingClass(
        f"INIT-{start[:4]}-S{number}",
        "SW-INITIAL",
        "initial",
        date.fromisoformat(start),
        date.fromisoformat(end),
        160,
    )


def _rotation(number: int, start: str) -> TrainingClass:
    first = date.fromisoformat(start)
    return TrainingClass(
        f"ROT-{start[:4]}-S{number:02d}", "SW-ROTATION", "rotation", first, first + timedelta(days=3), 32
    )


INITIAL_CLASSES: tuple[tuple[TrainingClass, int], ...] = (
    (_initial(1, "2019-04-15", "2019-05-14"), 46),
    (_initial(2, "2020-09-07", "2020-10-09"), 35),
    (_initial(3, "2021-05-10", "2021-06-09"), 42),
    (_initial(4, "2022-08-15", "2022-09-14"), 40),
)

ROTATION_CLASSES: tuple[tuple[TrainingClass, int], ...] = tuple(
    (_rotation(i + 1, start), size)
    for i, (start, size) in enumerate(
        (
            ("2019-03-18", 70),
            ("2019-05-20", 68),
            ("2019-09-16", 72),
            ("2019-11-11", 66),
            ("2020-09-14", 64),
            ("2020-11-16", 66),
            ("2021-03-15", 70),
            ("2021-05-17", 68),
            ("2021-09-13", 71),
            ("2021-11-15", 69),
            ("2022-01-10", 66),
            ("2022-03-07", 70),
            ("2022-08-22", 67),
            ("2022-11-14", 62),
        )
    )
)

COMPETITION = TrainingClass(
    "SKILLS-5-2023",
    "SW-SKILLS-COMPETITION",
    "skills_competition",
    date(2023, 3, 21),
    date(2023, 3, 21),
    8,
    COMPETITION_SOURCE,
)
COMPETITION_QUOTAS: dict[str, int] = {
    "pudong": 5,
    "yangpu": 4,
    "baoshan": 4,
    "xuhui": 3,
    "hongkou": 3,
    "jingan": 3,
    "minhang": 3,
    "changning": 3,
    "putuo": 3,
    "jiading": 3,
    "jinshan": 2,
    "songjiang": 2,
}


def rotation_slot(seed: int, worker_id: str, year: int, slots: int) -> int:
    """Which of a year's rotation classes a worker is called to (stable, independent of draw order)."""
    return zlib.crc32(f"{seed}:{worker_id}:{year}".encode()) % slots


@dataclass
class _Group:
    """One class (or one district's competition quota) filled by selection sampling."""

    course: TrainingClass
    size: int
    district: str | None = None
    hire_window: tuple[date, date] | None = None
    slot: tuple[int, int] | None = None
    eligible: int = 0
    needed: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def spell_for(self, life: Life, org: Org, seed: int) -> Spell | None:
        spell = life.spell_covering(self.course.start, self.course.end)
        if spell is None:
            return None
        if self.hire_window is not None:
            first, last = self.hire_window
            return spell if spell.number == 1 and first <= spell.hire_date <= last else None
        if self.slot is not None:
            index, slots = self.slot
            tenure_ok = (self.course.start - spell.hire_date).days >= 180
            chosen = rotation_slot(seed, life.worker_id, self.course.start.year, slots) == index
            return spell if tenure_ok and chosen else None
        tenure_ok = (self.course.start - spell.hire_date).days >= 365
        in_district = org.district_of(spell.unit_on(self.course.end)) == self.district
        return spell if tenure_ok and in_district else None


class SeedScenario:
    """Selects trainees for the published classes; call ``observe`` on every life, then ``select``."""

    forced_hires = (BAOWU,)

    def __init__(self, org: Org, seed: int, end: date) -> None:
        self.org, self.seed = org, seed
        self.groups = [g for g in self._groups() if g.course.end <= end]
        for group in self.groups:
            group.rng = random.Random(f"{seed}:class:{group.course.class_id}:{group.district}")

    @property
    def last_start(self) -> date:
        return max((g.course.start for g in self.groups), default=date.min)

    def _groups(self) -> Iterable[_Group]:
        window_start = INITIAL_WINDOW_START
        for course, size in INITIAL_CLASSES:
            yield _Group(course, size, hire_window=(window_start, course.start))
            window_start = course.start + timedelta(days=1)
        by_year: dict[int, list[tuple[TrainingClass, int]]] = {}
        for course, size in ROTATION_CLASSES:
            by_year.setdefault(course.start.year, []).append((course, size))
        for classes in by_year.values():
            for index, (course, size) in enumerate(classes):
                yield _Group(course, size, slot=(index, len(classes)))
        for district, size in COMPETITION_QUOTAS.items():
            yield _Group(COMPETITION, size, district=district)

    def observe(self, life: Life) -> None:
        """First pass: count the eligible."""
        for group in self.groups:
            if group.spell_for(life, self.org, self.seed) is not None:
                group.eligible += 1

    def start_selection(self) -> list[str]:
        """Between the passes: returns warnings for classes that cannot be filled."""
        warnings = []
        for group in self.groups:
            group.needed = min(group.size, group.eligible)
            if group.eligible < group.size:
                where = f" ({group.district})" if group.district else ""
                warnings.append(f"{group.course.class_id}{where}: {group.eligible} eligible for {group.size} places")
        return warnings

    def select(self, life: Life) -> list[Training]:
        """Second pass: the scenario trainings of this worker."""
        chosen = []
        for group in self.groups:
            if group.eligible == 0 or group.spell_for(life, self.org, self.seed) is None:
                continue
            take = group.rng.random() * group.eligible < group.needed
            group.eligible -= 1
            if take:
                group.needed -= 1
                chosen.append(Training(group.course, passed=True))
        return chosen


def in_blackout(day: date) -> bool:
    return BLACKOUT[0] <= day <= BLACKOUT[1]
