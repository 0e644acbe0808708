"""Training (GRI 404-1): trainee-times vs trainees, hours, share trained, initial training on time."""

from __future__ import annotations

from datetime import date, timedelta

from .accumulate import MonthStats
from .cells import Cells
from .headcount import headcount_avg
from .orgs import SliceKey
from .periods import Period
from .retention import Member

KINDS = ("initial", "rotation", "site_visit", "skills_competition", "other")
ON_TIME_DAYS = 90


def training_cells(cells: Cells, period: Period, stats: MonthStats) -> None:
    """Trainings count on their end date in the slice the worker is in that day."""
    kind, label = period.kind, period.label
    for key, st in stats.items():
        pop = len(st.present)
        trainees = len(st.trainees)
        cells.value("trainee_times", kind, label, key, st.train_times, pop)
        cells.value("trainees", kind, label, key, trainees, pop)
        for course_kind in KINDS:  # 人次 and 人数 by course kind: category = the kind, '' = every kind
            times = float(st.times_by_kind.get(course_kind, 0))
            people = float(len(st.trainees_by_kind.get(course_kind, ())))
            cells.put("trainee_times", kind, label, key, course_kind, times, None, None, pop)
            cells.put("trainees", kind, label, key, course_kind, people, None, None, pop)
        for course_kind in KINDS:
            hours = st.hours.get(course_kind, 0.0)
            cells.put("training_hours", kind, label, key, course_kind, hours, None, None, pop)
        total = sum(st.hours.values())
        cells.put("training_hours", kind, label, key, "all", total, None, None, pop)
        avg = headcount_avg(period, st)
        cells.rate("training_hours_per_worker", kind, label, key, total, avg, pop, scale=1.0)
        cells.rate("share_trained", kind, label, key, trainees, pop, pop)


def on_time(member: Member) -> bool:
    """A ``kind=initial`` training of the hire's spell ended 0..90 days after the hire date."""
    start = member.spell.start
    return any(t.kind == "initial" and 0 <= (t.end - start).days <= ON_TIME_DAYS for t in member.spell.trainings)


def on_time_cells(
    cells: Cells, label: date, groups: dict[SliceKey, list[Member]], as_of: date, kind: str = "cohort"
) -> None:
    """initial_training_on_time per hire-month (``cohort``) or hire-year (``year``) cohort; eligible when
    hire_date <= as_of - 90 days."""
    cutoff = as_of - timedelta(days=ON_TIME_DAYS)
    for key, members in groups.items():
        eligible = [m for m in members if m.spell.start <= cutoff]
        kept = sum(1 for m in eligible if on_time(m))
        cells.rate("initial_training_on_time", kind, label, key, kept, len(eligible), len(eligible))
