"""A small seeded random event log (org tree, hires, transfers, pay, training, separations, grades, corrections).

Only meant to exercise the oracle (and to compare it with the engine); not a realistic simulator. The grades
(issue 16: hire levels and ``staffing.grade_changed.v1``) come from a random generator of their own and are
appended after the other events, so the other events (their ids, times and order) are those of a log without grades.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from services.metrics.engine.model import EventRecord

SERVICE_MODELS = ("enterprise", "building", "park", "community")
CHANNELS = ("graduate", "retrained_union_staff", "purchased_service", "enterprise_transfer", "other")
KINDS = {
    "voluntary": ("pay", "career_development", "workload", "relocation", "family", "further_study"),
    "involuntary": ("contract_end", "dismissal"),
    "other": ("retirement", "death", "other"),
}
COURSES = ("initial", "rotation", "site_visit", "skills_competition", "other")
TITLES = (None, "社工", "主管社工", "督导")
GRADE_CHANGED = "staffing.grade_changed.v1"
AMENDED = "correction.amended.v1"
RETRACTED = "correction.retracted.v1"


def synthetic_log(
    workers: int = 300, start: date = date(2021, 1, 1), end: date = date(2024, 12, 31), seed: int = 7
) -> list[EventRecord]:
    rng = random.Random(seed)
    grade_rng = random.Random(f"{seed}:grades")  # the grades' own stream: the other draws do not move
    events: list[EventRecord] = []
    spells: list[_Spell] = []

    def emit(event_type: str, worker: str, data: dict[str, object], day: date) -> str:
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        stamp = datetime(day.year, day.month, day.day, 2, tzinfo=UTC) + timedelta(seconds=len(events))
        events.append(EventRecord(event_id, event_type, stamp, stamp, worker, data))
        return event_id

    units: list[str] = []
    for n in range(3):
        district = f"D{n}"
        emit(
            "org.unit_registered.v1",
            "",
            {"unit_id": district, "parent_id": None, "level": "district", "name_zh": district,
             "name_en": None, "service_model": None, "effective_date": "2015-01-01"},
            date(2015, 1, 1),
        )  # fmt: skip
        for s in range(2):
            street = f"{district}S{s}"
            emit(
                "org.unit_registered.v1",
                "",
                {"unit_id": street, "parent_id": district, "level": "street", "name_zh": street,
                 "name_en": None, "service_model": None, "effective_date": "2015-01-01"},
                date(2015, 1, 1),
            )  # fmt: skip
            for t in range(2):
                unit = f"{street}T{t}"
                units.append(unit)
                emit(
                    "org.unit_registered.v1",
                    "",
                    {"unit_id": unit, "parent_id": street, "level": "second_tier", "name_zh": unit,
                     "name_en": None, "service_model": rng.choice(SERVICE_MODELS),
                     "effective_date": "2015-01-01"},
                    date(2015, 1, 1),
                )  # fmt: skip
    units.append("UNREGISTERED")

    span = (end - start).days
    for n in range(workers):
        worker = f"w{n:04d}"
        gender = rng.choice(("male", "female", "female", "undisclosed"))
        birth = rng.randint(1965, 2001)
        day = start + timedelta(days=rng.randint(0, span // 2) if n % 3 else 0)
        while day <= end:
            unit = rng.choice(units)
            level = _hire_level(grade_rng)
            hire_id = emit(
                "staffing.hired.v1",
                worker,
                {"org_unit_id": unit, "hire_date": day.isoformat(), "source_channel": rng.choice(CHANNELS),
                 "contract_type": "fixed_term", "gender": gender, "birth_year": birth, **level},
                day,
            )  # fmt: skip
            spells.append(_Spell(worker, hire_id, day, None, level.get("grade_level")))
            if rng.random() < 0.03:
                emit("correction.amended.v1", "", {"target_event_id": hire_id, "changes": {"gender": "male"}}, day)
            emit(
                "staffing.pay_set.v1",
                worker,
                {"effective_date": (day - timedelta(days=rng.randint(0, 5))).isoformat(),
                 "monthly_base": str(rng.randint(3000, 8000)), "allowances": rng.randint(0, 1500),
                 "currency": "CNY", "weekly_hours": rng.choice((40, 40, 35, 20))},
                day,
            )  # fmt: skip
            length = rng.randint(0, 900)
            stop = day + timedelta(days=length)
            d = day + timedelta(days=rng.randint(1, 60))
            while d < min(stop, end):
                roll = rng.random()
                if roll < 0.2:
                    emit(
                        "staffing.transferred.v1",
                        worker,
                        {"from_unit_id": unit, "to_unit_id": rng.choice(units), "effective_date": d.isoformat()},
                        d,
                    )  # fmt: skip
                elif roll < 0.5:
                    emit(
                        "staffing.pay_set.v1",
                        worker,
                        {"effective_date": d.isoformat(), "monthly_base": rng.randint(3000, 9000),
                         "allowances": str(rng.randint(0, 2000)), "currency": "CNY", "weekly_hours": 40},
                        d,
                    )  # fmt: skip
                else:
                    tid = emit(
                        "training.completed.v1",
                        worker,
                        {"course_id": "c", "class_id": "k", "kind": rng.choice(COURSES),
                         "start_date": d.isoformat(), "end_date": d.isoformat(),
                         "hours": str(rng.randint(1, 40)), "passed": True},
                        d,
                    )  # fmt: skip
                    if rng.random() < 0.05:
                        emit("correction.retracted.v1", "", {"target_event_id": tid, "reason": None}, d)
                d += timedelta(days=rng.randint(20, 120))
            if stop > end:
                break
            spells[-1].stop = stop
            kind = rng.choice(tuple(KINDS))
            emit(
                "turnover.separated.v1",
                worker,
                {"separation_date": stop.isoformat(), "kind": kind, "reason": rng.choice(KINDS[kind]),
                 "note": None},
                stop,
            )  # fmt: skip
            if rng.random() < 0.5:
                break
            day = stop + timedelta(days=rng.choice((0, 0, 1, 30, 200)))
    return events + _grade_events(spells, end, grade_rng)


# ----------------------------------------------------------------------------------------------------------
# grades (issue 16)
# ----------------------------------------------------------------------------------------------------------


@dataclass
class _Spell:
    worker: str
    hire_id: str
    start: date
    stop: date | None  # None: not separated by the end of the log
    level: int | None  # the hire's grade_level


def _hire_level(rng: random.Random) -> dict[str, int | None]:
    """A hire's grade_level: known on most hires, absent or null (unknown) on the others."""
    roll = rng.random()
    if roll < 0.2:
        return {}
    if roll < 0.3:
        return {"grade_level": None}
    return {"grade_level": rng.randint(1, 4)}


class _Grades:
    """The grade events of the log, with ids and times from the grades' own random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[EventRecord] = []

    def emit(self, event_type: str, worker: str, data: dict[str, object], day: date, event_id: str = "") -> str:
        event_id = event_id or self.new_id()
        stamp = datetime(day.year, day.month, day.day, 3, tzinfo=UTC) + timedelta(seconds=len(self.events))
        self.events.append(EventRecord(event_id, event_type, stamp, stamp, worker, data))
        return event_id

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def change(self, spell: _Spell, day: date, level: int, title: str | None = None, event_id: str = "") -> str:
        data: dict[str, object] = {"effective_date": day.isoformat(), "new_level": level, "title": title}
        return self.emit(GRADE_CHANGED, spell.worker, data, day, event_id)

    def two_on_one_day(
        self, spell: _Spell, day: date, first: tuple[int, str | None], then: tuple[int, str | None]
    ) -> None:
        """Two changes dated on one day, ``first`` on the smaller event_id."""
        low, high = sorted((self.new_id(), self.new_id()))
        self.change(spell, day, *first, event_id=low)
        self.change(spell, day, *then, event_id=high)


def _ordinary(grades: _Grades, spell: _Spell, last: date) -> list[tuple[date, str]]:
    """Promotions (most), demotions and lateral retitles (a first level where the hire's is unknown), 2 to 13
    months apart, as (day, event_id)."""
    rng = grades.rng
    level, title = spell.level, None
    out = []
    day = spell.start + timedelta(days=rng.randint(30, 400))
    while day < last:
        roll = rng.random()
        if level is None:
            level, title = rng.randint(1, 3), rng.choice(TITLES)
        elif roll < 0.6 and level < 20:
            level, title = level + 1, rng.choice(TITLES)
        elif roll < 0.8 and level > 1:
            level -= 1
        else:
            title = rng.choice([t for t in TITLES if t != title])
        out.append((day, grades.change(spell, day, level, title)))
        day += timedelta(days=rng.randint(60, 400))
    return out


class _Spells:
    """The log's spells, for placing each edge case on spells of its own (whose levels are then known)."""

    def __init__(self, spells: list[_Spell], end: date, rng: random.Random) -> None:
        self.spells, self.end, self.rng = spells, end, rng
        self.late = end - timedelta(days=45)  # edge cases well before the end: an as_of a little earlier sees them
        self.taken: set[int] = set()
        self.next = {i: i + 1 for i in range(len(spells) - 1) if spells[i + 1].worker == spells[i].worker}

    def last(self, i: int) -> date:
        return min(self.spells[i].stop or self.end, self.end)

    def lasts(self, i: int, days: int, known: bool = True) -> bool:
        """Spell i reaches start + days before the late cut (and its hire's level is known)."""
        spell = self.spells[i]
        return (spell.level is not None or not known) and spell.start + timedelta(days) <= min(self.late, self.last(i))

    def rehire_gap(self, i: int) -> int | None:
        """Days from spell i's separation to the worker's next hire (None: no next spell)."""
        stop = self.spells[i].stop
        if stop is None or i not in self.next:
            return None
        return (self.spells[self.next[i]].start - stop).days

    def not_rehired_within(self, i: int, days: int) -> bool:
        gap = self.rehire_gap(i)
        return gap is None or gap > days

    def pick(self, fits: Callable[[int], bool]) -> _Spell | None:
        chosen = [i for i in range(len(self.spells)) if i not in self.taken and fits(i)]
        if not chosen:
            return None
        i = self.rng.choice(chosen)
        self.taken.add(i)
        return self.spells[i]

    def pick_pair(self, fits: Callable[[int], bool]) -> tuple[_Spell, _Spell] | None:
        """A spell and the worker's next one."""
        first = self.pick(lambda i: i in self.next and self.next[i] not in self.taken and fits(i))
        if first is None:
            return None
        i = self.spells.index(first)
        self.taken.add(self.next[i])
        return first, self.spells[self.next[i]]


def _grade_events(spells: list[_Spell], end: date, rng: random.Random) -> list[EventRecord]:
    """Each edge case on spells of its own, then ordinary changes in the other spells, then corrections."""
    grades, log = _Grades(rng), _Spells(spells, end, rng)
    day = timedelta(days=1)

    def separated(i: int, days: int = 2) -> bool:  # after at least `days` days, and before the late cut
        stop = spells[i].stop
        return stop is not None and stop - spells[i].start >= days * day and stop + day <= log.late

    # same-day separation and rehire: a change on that day ranks before the separation and counts in the old
    # spell; one the day after is in the new spell, from the rehire's level
    if pair := log.pick_pair(lambda i: separated(i) and log.rehire_gap(i) == 0 and log.lasts(log.next[i], 1, False)):
        old, new = pair
        assert old.stop is not None
        grades.change(old, old.stop, (old.level or 1) + 1, "主管社工")
        grades.change(new, old.stop + day, (new.level or 1) + 1)
    # a rehire starts again from its hire's level: the old spell ends three above it, the new one goes one up
    if pair := log.pick_pair(lambda i: separated(i, 10) and log.lasts(log.next[i], 5)):
        old, new = pair
        assert new.level is not None
        grades.change(old, old.start + 5 * day, new.level + 3, "督导")
        grades.change(new, new.start + 5 * day, new.level + 1)
    # promotions exactly on hire + 365 (promoted within 365 days) and on hire + 366 (not within 365)
    if spell := log.pick(lambda i: log.lasts(i, 365)):
        grades.change(spell, spell.start + 365 * day, (spell.level or 1) + 1)
    if spell := log.pick(lambda i: log.lasts(i, 366)):
        grades.change(spell, spell.start + 366 * day, (spell.level or 1) + 1)
    # on the separation day, no rehire that day: counts
    if spell := log.pick(lambda i: separated(i) and log.not_rehired_within(i, 0)):
        assert spell.stop is not None
        grades.change(spell, spell.stop, (spell.level or 1) + 1)
    # the day after a separation, not rehired that day: refused (not employed)
    if spell := log.pick(lambda i: separated(i) and log.not_rehired_within(i, 1)):
        assert spell.stop is not None
        grades.change(spell, spell.stop + day, 5, "督导")
    # two on one day: the first by event_id stands (a promotion), the second is refused; then (the oracle's
    # decision 17a) a first that changes nothing and a second that would be a promotion: both refused
    for first, then in (((1, "督导"), (2, None)), ((0, None), (1, None))):
        if spell := log.pick(lambda i: log.lasts(i, 20)):
            level = spell.level or 1
            grades.two_on_one_day(
                spell, spell.start + 20 * day, (level + first[0], first[1]), (level + then[0], then[1])
            )
    # the hire's level with a null title: refused (unchanged); the same level with a title: a lateral regrade
    if spell := log.pick(lambda i: log.lasts(i, 8)):
        grades.change(spell, spell.start + 5 * day, spell.level or 1)
        grades.change(spell, spell.start + 8 * day, spell.level or 1, "主管社工")
    # on the hire date (not of a same-day rehire, where it would count in the spell that ends): refused
    rehires = {log.next[i] for i in log.next if log.rehire_gap(i) == 0}
    if spell := log.pick(lambda i: log.lasts(i, 0, False) and i not in rehires):
        grades.change(spell, spell.start, (spell.level or 1) + 1)

    ordinary = [
        change
        for i, spell in enumerate(spells)
        if i not in log.taken
        for change in _ordinary(grades, spell, log.last(i))
        if change[0] <= log.late
    ]
    # corrections: an amended level, an amended date, a retraction, and an amended hire level
    if len(ordinary) >= 3:
        (_a_day, a_id), (b_day, b_id), (_c_day, c_id) = rng.sample(ordinary, 3)
        grades.emit(AMENDED, "", {"target_event_id": a_id, "changes": {"new_level": 1}}, log.late)
        moved = {"effective_date": (b_day + 10 * day).isoformat()}
        grades.emit(AMENDED, "", {"target_event_id": b_id, "changes": moved}, log.late)
        grades.emit(RETRACTED, "", {"target_event_id": c_id, "reason": None}, log.late)
    if untouched := [spell for i, spell in enumerate(spells) if i not in log.taken]:
        spell = rng.choice(untouched)
        changes = {"grade_level": 1 if spell.level is None else spell.level + 2}
        grades.emit(AMENDED, "", {"target_event_id": spell.hire_id, "changes": changes}, log.late)
    return grades.events
