"""Training (GRI 404-1): trainee-times vs trainees, hours, share trained, initial training on time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from .accumulate import MonthStats
from .cells import Cells
from .headcount import headcount_avg
from .orgs import SliceKey
from .periods import Period
from .retention import Member
from .spells import Spell

KINDS = ("initial", "rotation", "site_visit", "skills_competition", "other")
ON_TIME_DAYS = 90


@dataclass(frozen=True, slots=True)
class TrainingFigures:
    """What the training family needs of one slice in one period, whichever engine aggregated it: the distinct
    workers employed at any time (the population), the sum of the monthly average headcounts (``avg_sum``), the
    trainings ended in the period (trainee-times) and the distinct workers who ended one (trainees), both also by
    course kind, and the hours by course kind."""

    workers: int
    avg_sum: float
    times: int
    trainees: int
    times_by_kind: Mapping[str, int]
    trainees_by_kind: Mapping[str, int]
    hours: Mapping[str, float]


def training_figures(stats: MonthStats) -> dict[SliceKey, TrainingFigures]:
    """The reference engine's accumulators as ``TrainingFigures`` (slices in the accumulators' order)."""
    return {
        key: TrainingFigures(
            len(st.present),
            st.avg_sum,
            st.train_times,
            len(st.trainees),
            st.times_by_kind,
            {kind: len(workers) for kind, workers in st.trainees_by_kind.items()},
            st.hours,
        )
        for key, st in stats.items()
    }


def training_cells(cells: Cells, period: Period, figures: Mapping[SliceKey, TrainingFigures]) -> None:
    """Trainings count on their end date in the slice the worker is in that day."""
    kind, label = period.kind, period.label
    for key, f in figures.items():
        pop = f.workers
        cells.value("trainee_times", kind, label, key, f.times, pop)
        cells.value("trainees", kind, label, key, f.trainees, pop)
        for course_kind in KINDS:  # 人次 and 人数 by course kind: category = the kind, '' = every kind
            times = float(f.times_by_kind.get(course_kind, 0))
            people = float(f.trainees_by_kind.get(course_kind, 0))
            cells.put("trainee_times", kind, label, key, course_kind, times, None, None, pop)
            cells.put("trainees", kind, label, key, course_kind, people, None, None, pop)
        for course_kind in KINDS:
            hours = f.hours.get(course_kind, 0.0)
            cells.put("training_hours", kind, label, key, course_kind, hours, None, None, pop)
        total = sum(f.hours.values())
        cells.put("training_hours", kind, label, key, "all", total, None, None, pop)
        avg = headcount_avg(period, f.avg_sum)
        cells.rate("training_hours_per_worker", kind, label, key, total, avg, pop, scale=1.0)
        cells.rate("share_trained", kind, label, key, f.trainees, pop, pop)


def on_time(spell: Spell) -> bool:
    """A ``kind=initial`` training of the hire's spell ended 0..90 days after the hire date."""
    return any(t.kind == "initial" and 0 <= (t.end - spell.start).days <= ON_TIME_DAYS for t in spell.trainings)


@dataclass(frozen=True, slots=True)
class OnTime:
    """What initial_training_on_time needs of one slice of one hire cohort, whichever engine aggregated it: the
    members eligible (hired on or before as_of - 90 days) and those of them trained on time (``on_time``)."""

    eligible: int
    on_time: int


def on_time_figures(groups: Mapping[SliceKey, list[Member]], as_of: date) -> dict[SliceKey, OnTime]:
    """The reference engine's cohort members as ``OnTime`` figures (the groups' order)."""
    cutoff = as_of - timedelta(days=ON_TIME_DAYS)
    out: dict[SliceKey, OnTime] = {}
    for key, members in groups.items():
        eligible = [m for m in members if m.spell.start <= cutoff]
        out[key] = OnTime(len(eligible), sum(1 for m in eligible if on_time(m.spell)))
    return out


def on_time_cells(cells: Cells, label: date, figures: Mapping[SliceKey, OnTime], kind: str = "cohort") -> None:
    """initial_training_on_time per hire-month (``cohort``) or hire-year (``year``) cohort; eligible when
    hire_date <= as_of - 90 days."""
    for key, f in figures.items():
        cells.rate("initial_training_on_time", kind, label, key, f.on_time, f.eligible, f.eligible)
