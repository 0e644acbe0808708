"""Grades (issue 16): the level each spell starts at and the grade changes within it.

The figures are plausible, not published; they follow how the program's posts are filled and reviewed:

- **Hire level.** Most start at 1. Workers from enterprises (``enterprise_transfer``, years of work with workers)
  and union staff retrained as social workers often hold the assistant certificate already: a quarter of them
  start at 2; graduates (a few pass the 助理社工师 exam while studying), agency staff and others rarely (5 %).
  About 4 % of hires carry no level (older district records; half of them send ``grade_level`` null, half leave
  it out); a first level is recorded for them at 50 % a year (a lateral regrade in the contract's terms), drawn
  like a hire's.
- **Rehires** come back at the level they last held (it is on file), or unknown if it never was known.
- **Promotions** follow the yearly assessment: rare in the first year (2 % a year), most frequent in the third
  and fourth (20 %), fewer later as the posts above fill up (10 % from the sixth year). A step is harder the
  higher it goes (× 1, 0.8, 0.6, 0.45 from levels 1 to 4; 5 is the top), and at least a year passes between two
  level changes. Purchased-service workers are promoted by their agency rather than on the program's ladder
  (× 0.4); retrained union staff a little more often (× 1.1).
- **Demotions** are rare (0.5 % a year from level 2, after the first year: a failed assessment).
- **Lateral retitles** (same level, another of its titles, e.g. a unit renaming the post): 1.5 % a year.
- **Titles** are left blank on 8 % of promotions and demotions; a retitle always names its title.

Rates are yearly and drawn month by month (at most one change a month, so never two on a day), on a day of the
spell after its hire date and on or before its separation and the simulated end.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

from services.sim.lives import Life, Spell, month_end, month_starts


@dataclass(frozen=True)
class Rung:
    level: int
    title: str
    other_titles: tuple[str, ...]

    @property
    def titles(self) -> tuple[str, ...]:
        return (self.title, *self.other_titles)


LADDER: tuple[Rung, ...] = (
    Rung(1, "社会工作者", ("一线社工", "社区社工")),
    Rung(2, "助理社会工作师", ("助理社工师", "社工专员")),
    Rung(3, "社会工作师", ("社工师", "项目社工")),
    Rung(4, "高级社会工作师", ("高级社工师", "项目主管")),
    Rung(5, "主管社工", ("社工督导", "服务站站长")),
)
TOP = LADDER[-1].level

_START_AT_2 = {"enterprise_transfer": 0.25, "retrained_union_staff": 0.25}
_START_AT_2_OTHERS = 0.05
_UNKNOWN_AT_HIRE = 0.04
_FIRST_LEVEL = 0.5
"""Yearly chance that a worker without a known level is given one."""
_PROMOTION_BY_YEAR = (0.02, 0.08, 0.20, 0.20, 0.14, 0.10)
"""Yearly promotion rate in the spell's year of service 0, 1, 2, ...; the last one holds on."""
_STEP = {1: 1.0, 2: 0.8, 3: 0.6, 4: 0.45}
_CHANNEL = {"purchased_service": 0.4, "retrained_union_staff": 1.1}
_DEMOTION = 0.005
_RETITLE = 0.015
_BLANK_TITLE = 0.08
_MIN_DAYS_BETWEEN_LEVELS = 365


@dataclass(frozen=True)
class GradeChange:
    effective: date
    level: int
    title: str | None


@dataclass(frozen=True)
class SpellGrades:
    hire_level: int | None
    changes: tuple[GradeChange, ...]
    level_field: bool = True
    """Whether the hire event carries ``grade_level`` (false: absent, as from a system without the field)."""


def _monthly(yearly: float) -> float:
    return 1 - math.pow(1 - yearly, 1 / 12)


def _rung(level: int) -> Rung:
    return LADDER[level - 1]


class Grades:
    """Per-life draws of the grades, from their own random generator (the other events do not move)."""

    def __init__(self, seed: int, end: date) -> None:
        self.seed, self.end = seed, end

    def for_life(self, life: Life) -> list[SpellGrades]:
        """One entry per spell of ``life``, in order."""
        rng = random.Random(f"{self.seed}:grades:{life.index}")
        out: list[SpellGrades] = []
        level: int | None = None
        for spell in life.spells:
            level = self._hire_level(rng, spell) if not out else level
            grades = self._spell(rng, spell, level, level is not None or rng.random() < 0.5)
            out.append(grades)
            level = grades.changes[-1].level if grades.changes else grades.hire_level
        return out

    def _hire_level(self, rng: random.Random, spell: Spell) -> int | None:
        return None if rng.random() < _UNKNOWN_AT_HIRE else _entry_level(rng, spell)

    def _spell(self, rng: random.Random, spell: Spell, hire_level: int | None, level_field: bool) -> SpellGrades:
        last_day = min(spell.end or self.end, self.end)
        level, title = hire_level, None
        last_level_change: date | None = None
        changes: list[GradeChange] = []
        for month in month_starts(spell.hire_date, last_day):
            first = max(month, spell.hire_date + timedelta(days=1))
            last = min(month_end(month), last_day)
            if first > last:
                continue
            years = (first - spell.hire_date).days // 365
            settled = last_level_change is None or (first - last_level_change).days >= _MIN_DAYS_BETWEEN_LEVELS
            change = self._draw(rng, spell, years, settled, level, title)
            if change is None:
                continue
            day = first + timedelta(days=rng.randint(0, (last - first).days))
            new_level, title = change
            if new_level != level:
                last_level_change = day
            level = new_level
            changes.append(GradeChange(day, new_level, title))
        return SpellGrades(hire_level, tuple(changes), level_field)

    def _draw(
        self, rng: random.Random, spell: Spell, years: int, settled: bool, level: int | None, title: str | None
    ) -> tuple[int, str | None] | None:
        """This month's change, if any: (new level, title)."""
        draw = rng.random()
        if level is None:
            return _titled(rng, _entry_level(rng, spell), blank=False) if draw < _monthly(_FIRST_LEVEL) else None
        promotion = 0.0
        if settled and level < TOP:
            yearly = _PROMOTION_BY_YEAR[min(years, len(_PROMOTION_BY_YEAR) - 1)]
            promotion = _monthly(yearly * _STEP[level] * _CHANNEL.get(spell.channel, 1.0))
        demotion = _monthly(_DEMOTION) if settled and level > 1 and years >= 1 else 0.0
        if draw < promotion:
            return _titled(rng, level + 1, blank=True)
        if draw < promotion + demotion:
            return _titled(rng, level - 1, blank=True)
        if draw < promotion + demotion + _monthly(_RETITLE):
            return level, rng.choice([t for t in _rung(level).titles if t != title])
        return None


def _entry_level(rng: random.Random, spell: Spell) -> int:
    return 2 if rng.random() < _START_AT_2.get(spell.channel, _START_AT_2_OTHERS) else 1


def _titled(rng: random.Random, level: int, blank: bool) -> tuple[int, str | None]:
    if blank and rng.random() < _BLANK_TITLE:
        return level, None
    return level, _rung(level).title
