"""The training family in ClickHouse (issue 13): trainee-times, trainees and hours, overall and by course kind.

A training counts on its end date in the slices of the unit the worker is in that day (``wf_trainings``, written by
``facts.worker_facts``); the population and the average headcount are the flow family's (``store.Presence``). The
cells are written by the reference engine's own ``training.training_cells`` from ``TrainingFigures``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Final

from services.common.clickhouse import ClickHouse

from ..engine.orgs import SliceKey
from ..engine.periods import Period
from ..engine.training import TrainingFigures
from .queries import keys
from .store import PeriodKey, Presence

EVERY_KIND: Final = ""
"""The course kind of the rows over every kind (no training has it: ``schemas.training.TrainingKind``)."""

TRAININGS: Final = f"""
SELECT if({{start:String}} = 'year', toStartOfYear(f.day), toStartOfMonth(f.day)) AS period, k.1 AS dim, k.2 AS value,
       course, count() AS times, uniqExact(f.worker_key) AS trainees, sum(f.hours) AS hours
FROM wf_trainings AS f GLOBAL INNER JOIN wf_org AS o ON o.unit = f.unit
ARRAY JOIN [f.kind, '{EVERY_KIND}'] AS course
ARRAY JOIN {keys("toYear(f.day)")} AS k
WHERE f.day >= {{since:Date}} AND f.day < {{until:Date}}
GROUP BY period, dim, value, course
"""
"""Per month (``start`` 'month') or year ('year'), slice and course kind (``EVERY_KIND``: all of them): the
trainings ended from ``since`` to before ``until``, the distinct workers who ended one, and their hours."""

Counts = dict[PeriodKey, dict[SliceKey, dict[str, int]]]


def training_figures(
    store: ClickHouse, periods: Sequence[Period], presence: Presence
) -> dict[PeriodKey, dict[SliceKey, TrainingFigures]]:
    """``TrainingFigures`` per period (as ``periods`` lists them) and slice of ``presence``."""
    totals: dict[PeriodKey, dict[SliceKey, tuple[int, int]]] = defaultdict(dict)
    times: Counts = defaultdict(lambda: defaultdict(dict))
    trainees: Counts = defaultdict(lambda: defaultdict(dict))
    hours: dict[PeriodKey, dict[SliceKey, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for start, bounds in presence.bounds():
        for label, dim, value, course, n, people, total in store.query_rows(TRAININGS, bounds):
            at, key = (start, label), (dim, value)
            if course == EVERY_KIND:
                totals[at][key] = (int(n), int(people))
            else:
                times[at][key][course] = int(n)
                trainees[at][key][course] = int(people)
                hours[at][key][course] = float(total)
    out: dict[PeriodKey, dict[SliceKey, TrainingFigures]] = {}
    for period in periods:
        at = (period.kind, period.label)
        out[at] = {
            key: TrainingFigures(
                presence.workers.get(at, {}).get(key, 0),
                presence.avg.get(at, {}).get(key, 0.0),
                *totals[at].get(key, (0, 0)),
                times[at][key],
                trainees[at][key],
                hours[at][key],
            )
            for key in presence.slices(at)
        }
    return out
