"""Oracle: a slow, literal reading of /work/shared/METRICS.md and docs/contract.md sections 2-4.

It replays each worker's events in the documented same-day order, builds for every worker and every
calendar day the state "employed in which spell, in which unit", and then counts. Comments of the form
``M:NN`` cite the METRICS.md line a function implements, ``C4`` the contract section 4.

Decisions (where the texts leave a choice open):

1. Rows exist for every slice that has at least one worker employed on some day of the period, plus org
   units that only appear as the source of a transfer-out in the period, plus the slices of the period's
   separations (after a same-day separation and rehire the old slice may have nobody employed in the
   period: population 0), plus the ``all`` cell (always). ``rolling12``: the same without transfer-only units.
   ``stability_index`` also gets rows for slices that had workers on D - 1 year. Cohort rows exist for
   the slices of the cohort members' hire days. Every such slice gets every indicator of its period kind.
   Then (v5) every cell of a slice value whose own population is empty is dropped; ``all`` cells stay.
2. Fixed categories are always emitted: ``separations_by_reason`` all 11 reasons, ``training_hours``
   the 5 kinds + ``all``, ``q1``..``q4``, cohort marks ``30``..``730`` (zero counts are rows, not gaps).
3. "The slice where the worker is on that day" (M:137) is read inside the spell the flow belongs to: a
   separation (and the leaver's tenure) falls in the slice the worker has on that day in the spell it ends,
   also after a same-day separation and rehire (the rehire falls in the new spell's slice, as does the
   day's headcount). So unit and channel flows explain their headcount changes. A separation after a
   same-day transfer falls in the new unit. (contract §4 "Decisions")
4. Periods start at the month of the earliest date of any worker event (staffing/turnover/training) that
   survives corrections (amended dates used), whether or not the replay later drops it as an anomaly.
   Years start at that event's year. Events dated after ``as_of`` change no figure.
5. Year rows (period_kind ``year``) are produced for: headcount_avg, headcount_end, all flow counts,
   net_change, replacement_ratio, the four rates, retention_rate, median_tenure_current/leavers, all
   training indicators except initial_training_on_time, pay_vs_reference, turnover_by_pay_quartile.
   Not for stability_index, the month pay figures (mean/percentiles/gaps/bands) or pay_growth.
   ``rolling12`` rows (v5): separation, voluntary, involuntary and hires rates (numerator = Σ of the flow,
   denominator = Σ monthly average headcounts ÷ 12). Age band of a rolling window: year of its last day.
   initial_training_on_time also by hire year (period_kind ``year``, complete years only, v5).
   Career (issue 16): promotions, demotions, regrades_lateral, promotion_rate and grade_mix for months and
   years, promotion_rate also rolling12, promoted_within and turnover_by_promotion for years only,
   pay_median_by_level for months only.
6. Training ``passed`` is ignored: every ``training.completed`` participation counts (also for initial
   training on time).
7. Ties among pay sets with the same effective date: later (emitted_at, event_id) wins.
8. ``net_change`` and ``replacement_ratio`` reference the ``hires`` and ``separations`` cells,
   ``share_trained`` references ``trainees``, ``training_hours_per_worker`` references ``training_hours``
   (category ``all``) and ``headcount_avg`` (suppressed if any of them is).
9. Suppression schedule (v5): primary (population < k) first; then the linked rule (a cell referencing a
   suppressed cell is suppressed) until nothing changes; then rounds until a round hides nothing. Each round
   is judged entirely on the flags at its start and applies, simultaneously, (a) parent/child across the
   values of one dimension, for every indicator, period and category, (b) year → 12 months for the flow
   counts of the contract list, (c) the route rule (issue 12): a rolling-12 rate's window with a hidden month
   of its flow or of headcount_avg in its slice, a year's headcount_end with its December hidden, a year's
   headcount_avg or training_hours (each category) with exactly one hidden month, is hidden itself; the linked
   rule then runs again before the next round.
   Ties for "next smallest child" by slice value (across slices) or by month (month-in-year).
   Each hidden cell says why: ``primary``, ``linked`` or ``secondary`` (the phase that hid it); the published
   row of a hidden cell has no value, numerator, denominator or population (``workers`` 0).
10. Population (``workers``) of a pay gap is the men and women whose pay it uses (M:69); the cell is also
    suppressed when either group has fewer than k (M:70). Band shares and turnover by pay quartile (v5): the n
    workers ranked, each band a compared group. The pay distribution thresholds (v5) are read as a population
    (and, for the median gap, each compared group) of at least 2k or 4k.
11. pay_gap_mean/median carry ``value`` only; pay_quartile_*_share, turnover_by_pay_quartile and
    pay_vs_reference carry all three (numerator, denominator, value). Shares are × 100.
12. pay_growth: worker must be employed with a pay at the end of both last days (any spell); slice and
    age band taken at month m. No row for a slice with no such worker, and no quartile-band rows (month
    shares, turnover by pay quartile) for a slice with nobody paid (contract §4 "need >= 1 worker").
13. pay_vs_reference: one row per loaded reference wage whose year is a complete year of the output;
    region ``all`` → all/all, any other region → org/<region> (no check of the unit's level); later
    duplicates of (region, year) win.
14. A parent_id naming a unit never registered is itself an ancestor (a root of its own).
15. Pay sets dated after ``as_of`` are ignored; a pay set before any spell and after the last spell
    counts nowhere.
16. ``org_levels``: every cell is computed as if all levels were published, then the ``org`` cells of units
    whose (known) level is not in the set are dropped, before suppression; a unit never registered, or
    registered without a level, keeps its cells. The suppression parent of an org unit is its nearest
    ancestor that kept its cells (none: the ``all`` cell).
17. Career progression (issue 16), where contract §4 "Grade changes" and "Career" leave a choice:
    a. ``second_grade_change_same_day``: a change dated on a day on which a valid change of the worker already
       took effect (earlier by event_id) is refused; a refused first change (unchanged, say) does not block the
       next, as a refused hire does not make a second hire that day a ``second_hire_same_day``.
    b. ``grade_unchanged`` compares the title exactly: null equals only null, ``""`` is a title; a change to the
       same level with a null title while a title is held is a lateral regrade (the title becomes null).
    c. A grade change on the day of a same-day separation and rehire ranks before the separation: it belongs to
       the old spell and falls in that spell's slices (as the separation does, decision 3); the new spell
       starts from its own hire's level.
    d. A grade change is a worker event for the start of the periods (decision 4), even when refused.
    e. ``pay_median_by_level`` has no ``unknown`` category: workers of unknown level are left out of it; rows
       exist only for the levels someone of the slice is paid at, the ``all`` slice included (nobody paid at a
       level: no ``all`` row for it).
    f. ``grade_mix`` has no row at all, not even ``all``, when nobody is employed at the end of the period's
       last day (no level is held, so no category exists); otherwise every slice with a worker employed then
       gets a row for every category of the program, 0 where nobody of the slice holds it.
    g. ``promoted_within``: rows exist for the complete years with a hire (as ``initial_training_on_time`` by
       hire year); the ``all`` row of a mark nobody is eligible for yet is suppressed (population 0).
    h. ``turnover_by_promotion``: each category cell needs its own group to reach k; the size of the other
       group does not hide it.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.metrics.engine.model import EventRecord, IndicatorRow, ReferenceWage

__all__ = ["EventRecord", "IndicatorRow", "ReferenceWage", "oracle_compute"]

HIRED = "staffing.hired.v1"
TRANSFERRED = "staffing.transferred.v1"
PAY_SET = "staffing.pay_set.v1"
SEPARATED = "turnover.separated.v1"
TRAINING = "training.completed.v1"
GRADE_CHANGED = "staffing.grade_changed.v1"
RETRACTED = "correction.retracted.v1"
AMENDED = "correction.amended.v1"
ORG_TYPES = ("org.unit_registered.v1", "org.unit_changed.v1")
WORKER_TYPES = (HIRED, TRANSFERRED, PAY_SET, SEPARATED, TRAINING, GRADE_CHANGED)

# contract §2: "The event's date is the payload's date field named above"
DATE_FIELD = {
    HIRED: "hire_date",
    TRANSFERRED: "effective_date",
    PAY_SET: "effective_date",
    SEPARATED: "separation_date",
    TRAINING: "end_date",
    GRADE_CHANGED: "effective_date",
    ORG_TYPES[0]: "effective_date",
    ORG_TYPES[1]: "effective_date",
}

REASONS = (
    "pay",
    "career_development",
    "workload",
    "relocation",
    "family",
    "further_study",
    "contract_end",
    "dismissal",
    "retirement",
    "death",
    "other",
)
TRAINING_KINDS = ("initial", "rotation", "site_visit", "skills_competition", "other")
QUARTILES = ("q1", "q2", "q3", "q4")
COHORT_MARKS = (30, 90, 180, 365, 730)
PROMOTED_WITHIN_MARKS = (365, 730, 1095)
# contract §4 "Grade changes": the kind of a valid change → the flow count it adds to
GRADE_FLOWS = {"promotion": "promotions", "demotion": "demotions", "lateral": "regrades_lateral"}
PERCENTILES = (
    ("pay_p10", 0.10),
    ("pay_p25", 0.25),
    ("pay_median", 0.50),
    ("pay_p75", 0.75),
    ("pay_p90", 0.90),
)
# pay figures whose population (the paid workers on the period's last day) is linked by value to the period-end
# headcount (METRICS v5 "Linked"; contract §4)
PAY_BY_POPULATION = frozenset({"pay_mean", *(name for name, _ in PERCENTILES)})

# contract §4 "Flow counts for the month-in-year rule"
FLOW_COUNTS = {
    "hires",
    "separations",
    "separations_voluntary",
    "separations_involuntary",
    "separations_other",
    "separations_by_reason",
    "trainee_times",
    "transfers_in",
    "transfers_out",
    "promotions",
    "demotions",
    "regrades_lateral",
}
# contract §4 "Rates reference their count cells" (+ decision 8): rate -> (count indicator, category) cells
REFERENCES = {
    "separation_rate": (("separations", ""), ("headcount_avg", "")),
    "voluntary_rate": (("separations_voluntary", ""), ("headcount_avg", "")),
    "involuntary_rate": (("separations_involuntary", ""), ("headcount_avg", "")),
    "hires_rate": (("hires", ""), ("headcount_avg", "")),
    "training_hours_per_worker": (("training_hours", "all"), ("headcount_avg", "")),
    "replacement_ratio": (("hires", ""), ("separations", "")),
    "net_change": (("hires", ""), ("separations", "")),
    "share_trained": (("trainees", ""),),
    "promotion_rate": (("promotions", ""), ("headcount_avg", "")),
    "grade_mix": (("headcount_end", ""),),  # contract §4 "Career": its denominator
}

Key = tuple[str, str]  # (dimension, slice)
CellKey = tuple[str, str, date, str, str, str]  # (indicator, period_kind, period, dimension, slice, category)


# ----------------------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------------------


def to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def to_float(value: Any) -> float:
    return float(value)


def days_between(first: date, last: date) -> list[date]:
    """Every calendar day from first to last, both inclusive."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def month_end(m: date) -> date:
    return date(m.year, m.month, calendar.monthrange(m.year, m.month)[1])


def add_months(m: date, n: int) -> date:
    index = m.year * 12 + (m.month - 1) + n
    return date(index // 12, index % 12 + 1, 1)


def one_year_before(d: date) -> date:
    # M:102 "One year before 29 February is 28 February."
    if d.month == 2 and d.day == 29:
        return date(d.year - 1, 2, 28)
    return date(d.year - 1, d.month, d.day)


def percentile_inclusive(values: list[float], p: float) -> float | None:
    # M:115-116 linear interpolation between closest ranks (numpy default, PERCENTILE.INC)
    if not values:
        return None
    xs = sorted(values)
    position = (len(xs) - 1) * p  # 0-based rank
    lower = int(position)
    fraction = position - lower
    if lower + 1 >= len(xs):
        return xs[lower]
    return xs[lower] + fraction * (xs[lower + 1] - xs[lower])


def median(values: list[float]) -> float | None:
    return percentile_inclusive(values, 0.5)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def ratio(numerator: float, denominator: float, scale: float = 100.0) -> float | None:
    # contract §4 "Zero denominators give NULL value (not suppressed)"
    if denominator == 0:
        return None
    return numerator / denominator * scale


def age_band(age: int) -> str:
    # M:127-128 < 25, 25-34, 35-44, 45-54, ≥ 55
    if age < 25:
        return "<25"
    if age < 35:
        return "25-34"
    if age < 45:
        return "35-44"
    if age < 55:
        return "45-54"
    return ">=55"


def quartile_bands(items: list[tuple[float, str, Any]]) -> list[list[Any]]:
    # M:117-118 rank 1..n by ascending hourly pay, ties by worker id; quartile i = ranks ⌊(i−1)n/4⌋+1..⌊in/4⌋
    ranked = sorted(items, key=lambda item: (item[0], item[1]))
    n = len(ranked)
    bands = []
    for i in range(1, 5):
        first_rank = (i - 1) * n // 4 + 1
        last_rank = i * n // 4
        bands.append([item[2] for item in ranked[first_rank - 1 : last_rank]])
    return bands


# ----------------------------------------------------------------------------------------------------------
# corrections and org units
# ----------------------------------------------------------------------------------------------------------


@dataclass
class Event:
    event_id: str
    event_type: str
    emitted_at: datetime
    worker: str
    data: dict[str, Any]
    day: date


def apply_corrections(events: Iterable[EventRecord]) -> list[Event]:
    # M:129-132 retraction beats amendments; amendments in (emitted_at, event_id) order, field by field
    originals: dict[str, EventRecord] = {}
    corrections: list[EventRecord] = []
    for record in events:
        if record.event_type in (RETRACTED, AMENDED):
            corrections.append(record)
        else:
            originals[str(record.event_id).lower()] = record
    retracted: set[str] = set()
    amendments: dict[str, list[EventRecord]] = defaultdict(list)
    for record in corrections:
        target = str(record.data.get("target_event_id", "")).lower()
        if target not in originals:  # unknown target, or a correction of a correction: rejected
            continue
        if record.event_type == RETRACTED:
            retracted.add(target)
        else:
            amendments[target].append(record)
    result = []
    for event_id, record in originals.items():
        if event_id in retracted or record.event_type not in DATE_FIELD:
            continue
        data = dict(record.data)
        for amendment in sorted(amendments[event_id], key=lambda a: (a.emitted_at, str(a.event_id).lower())):
            data.update(amendment.data["changes"])
        day = to_date(data[DATE_FIELD[record.event_type]])
        result.append(Event(event_id, record.event_type, record.emitted_at, record.worker_key, data, day))
    return result


@dataclass
class Org:
    parent: dict[str, str | None]
    service_model: dict[str, str | None]
    level: dict[str, str | None] = field(default_factory=dict)

    def ancestors(self, unit: str) -> list[str]:
        # contract §4: a unit's cells include its descendants' workers; an unregistered unit is its own root
        chain = [unit]
        current = unit
        while self.parent.get(current) is not None and self.parent[current] not in chain:
            current = self.parent[current]  # type: ignore[assignment]
            chain.append(current)
        return chain

    def model_of(self, unit: str) -> str:
        # contract §4: `none` when the unit has none or is unknown
        return self.service_model.get(unit) or "none"


def build_org(events: list[Event]) -> Org:
    # contract §4: the latest org.unit_* event per unit_id by (effective_date, emitted_at, event_id)
    latest: dict[str, Event] = {}
    for event in events:
        if event.event_type not in ORG_TYPES:
            continue
        unit = event.data["unit_id"]
        if unit not in latest or (event.day, event.emitted_at, event.event_id) > (
            latest[unit].day,
            latest[unit].emitted_at,
            latest[unit].event_id,
        ):
            latest[unit] = event
    return Org(
        parent={u: e.data.get("parent_id") for u, e in latest.items()},
        service_model={u: e.data.get("service_model") for u, e in latest.items()},
        level={u: e.data.get("level") for u, e in latest.items()},
    )


# ----------------------------------------------------------------------------------------------------------
# worker replay: spells and the day-by-day state
# ----------------------------------------------------------------------------------------------------------


@dataclass
class Spell:
    start: date
    end: date | None
    channel: str
    units: list[tuple[date, str]]  # (from this day on, unit)
    level: int | None = None  # the hire's grade_level (contract §2), None = unknown

    def unit_on(self, d: date) -> str:
        # M:91-93 old unit through the day before the transfer date, new unit from that date
        unit = self.units[0][1]
        for since, u in self.units:
            if since <= d:
                unit = u
        return unit


@dataclass
class Pay:
    effective: date
    emitted_at: datetime
    event_id: str
    spell: int
    base: float
    allowances: float
    weekly_hours: float

    @property
    def total(self) -> float:
        # M:109 base + allowances, summed exactly (decimal strings) so that equal pay compares equal (M:117)
        return float(Decimal(repr(self.base)) + Decimal(repr(self.allowances)))


@dataclass
class Grade:
    day: date
    spell: int
    level: int
    title: str | None
    kind: str  # promotion / demotion / lateral


@dataclass
class Worker:
    key: str
    spells: list[Spell] = field(default_factory=list)
    day_spell: dict[date, int] = field(default_factory=dict)  # employed days (≤ as_of) → spell index
    gender: str = "undisclosed"
    birth_year: int = 0
    hires: list[tuple[date, int]] = field(default_factory=list)
    separations: list[tuple[date, str, str, int]] = field(default_factory=list)  # date, kind, reason, spell
    transfers: list[tuple[date, str, str]] = field(default_factory=list)  # date, from unit, to unit
    trainings: list[tuple[date, str, float, int]] = field(default_factory=list)  # end date, kind, hours, spell
    pays: list[Pay] = field(default_factory=list)
    grades: list[Grade] = field(default_factory=list)  # the valid grade changes, by date
    refused_grades: list[tuple[date, str]] = field(default_factory=list)  # (date, anomaly reason), for tests

    def grade_on(self, spell: int, d: date) -> tuple[int | None, str | None]:
        # M v5 / contract §4: the latest valid change of the spell effective on or before d, else the hire's
        # level (the hire's title is null), else unknown
        changes = [g for g in self.grades if g.spell == spell and g.day <= d]
        if changes:
            latest = max(changes, key=lambda g: g.day)
            return latest.level, latest.title
        return self.spells[spell].level, None

    def employed(self, d: date) -> bool:
        return d in self.day_spell

    def unit_on(self, d: date) -> str:
        return self.spells[self.day_spell[d]].unit_on(d)

    def pay_on(self, d: date) -> Pay | None:
        # M:109-111 latest pay set effective on or before d belonging to the current spell
        if d not in self.day_spell:
            return None
        spell = self.day_spell[d]
        candidates = [p for p in self.pays if p.spell == spell and p.effective <= d]
        if not candidates:
            return None
        return max(candidates, key=lambda p: (p.effective, p.emitted_at, p.event_id))


def replay_worker(key: str, events: list[Event], as_of: date) -> Worker:
    worker = Worker(key)
    by_day: dict[date, list[Event]] = defaultdict(list)
    for event in events:
        if event.event_type in (HIRED, TRANSFERRED, SEPARATED):
            by_day[event.day].append(event)
    employed = False
    accepted_hires: list[Event] = []
    for day in sorted(by_day):
        todays = by_day[day]

        def of(kind: str, todays: list[Event] = todays) -> list[Event]:
            return sorted((e for e in todays if e.event_type == kind), key=lambda e: e.event_id)

        # contract §4: not employed at the start: hires, transfers, separations; employed: transfers,
        # separations, hires. Ties among events of one kind: by event_id.
        kinds = (TRANSFERRED, SEPARATED, HIRED) if employed else (HIRED, TRANSFERRED, SEPARATED)
        order = [event for kind in kinds for event in of(kind)]
        for event in order:
            if event.event_type == HIRED:
                if employed:  # hire of an employed worker / second hire on one day: anomaly
                    continue
                unit = event.data["org_unit_id"]
                level = event.data.get("grade_level")
                channel = event.data["source_channel"]
                worker.spells.append(Spell(day, None, channel, [(day, unit)], None if level is None else int(level)))
                worker.hires.append((day, len(worker.spells) - 1))
                accepted_hires.append(event)
                employed = True
            elif event.event_type == TRANSFERRED:
                if not employed:
                    continue
                spell = worker.spells[-1]
                current_unit = spell.unit_on(day)
                target = event.data["to_unit_id"]
                if spell.start == day or target == current_unit:  # dated on the hire date / to current unit
                    continue
                spell.units.append((day, target))
                worker.transfers.append((day, current_unit, target))
            else:  # separation
                if not employed:
                    continue
                worker.spells[-1].end = day
                worker.separations.append((day, event.data["kind"], event.data["reason"], len(worker.spells) - 1))
                employed = False

    # contract §4: gender/birth year of the latest valid hire (hire_date, emitted_at, event_id), whole log
    if accepted_hires:
        latest = max(accepted_hires, key=lambda e: (e.day, e.emitted_at, e.event_id))
        worker.gender = latest.data["gender"]
        worker.birth_year = int(latest.data["birth_year"])

    # M:86-89 the days of each spell, both ends inclusive; a later spell wins a shared (same-day rehire) day
    for index, spell in enumerate(worker.spells):
        last = min(spell.end or as_of, as_of)
        for d in days_between(spell.start, last) if spell.start <= last else []:
            worker.day_spell[d] = index

    replay_grades(worker, [e for e in events if e.event_type == GRADE_CHANGED])

    for event in sorted(events, key=lambda e: (e.day, e.event_id)):
        if event.event_type == TRAINING:
            # contract §4: counts in the slice of its end date; the worker must be employed that day
            if event.day in worker.day_spell:
                worker.trainings.append(
                    (
                        event.day,
                        event.data["kind"],
                        to_float(event.data["hours"]),
                        worker.day_spell[event.day],
                    )
                )
        elif event.event_type == PAY_SET and event.day <= as_of:
            # M:110-112 the spell at the end of its effective day, else the next spell that starts after it
            spell_index: int | None = worker.day_spell.get(event.day)
            if spell_index is None:
                later = [i for i, s in enumerate(worker.spells) if s.start > event.day]
                spell_index = later[0] if later else None
            if spell_index is None:
                continue
            worker.pays.append(
                Pay(
                    event.day,
                    event.emitted_at,
                    event.event_id,
                    spell_index,
                    to_float(event.data["monthly_base"]),
                    to_float(event.data["allowances"]),
                    to_float(event.data["weekly_hours"]),
                )
            )
    return worker


def replay_grades(worker: Worker, events: list[Event]) -> None:
    """contract §4 "Grade changes": valid changes into ``worker.grades``, refused ones (with why) aside."""
    changes = sorted(events, key=lambda e: (e.day, e.event_id))
    for event in changes:
        d = event.day
        if worker.grades and worker.grades[-1].day == d:  # decision 17a: the first valid one by event_id stands
            worker.refused_grades.append((d, "second_grade_change_same_day"))
            continue
        # it ranks after the day's transfers, before its separations and hires: it counts in the spell the worker
        # is in at the start of the day, i.e. one that started before d and has not ended before d
        spells = [i for i, s in enumerate(worker.spells) if s.start < d and (s.end is None or d <= s.end)]
        if not spells:
            hired_today = any(s.start == d for s in worker.spells)
            reason = "grade_change_on_hire_date" if hired_today else "grade_change_not_employed"
            worker.refused_grades.append((d, reason))
            continue
        spell = spells[0]
        held_level, held_title = worker.grade_on(spell, d - timedelta(days=1))
        level, title = int(event.data["new_level"]), event.data.get("title")
        if (level, title) == (held_level, held_title):  # decision 17b
            worker.refused_grades.append((d, "grade_unchanged"))
            continue
        if held_level is None or level == held_level:  # a first level where none was known, or a new title
            kind = "lateral"
        else:
            kind = "promotion" if level > held_level else "demotion"
        worker.grades.append(Grade(d, spell, level, title, kind))


# ----------------------------------------------------------------------------------------------------------
# periods and slices
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: str  # month / year / rolling12 / cohort
    period: date  # the key's period date
    first: date
    last: date
    months: tuple[date, ...]

    @property
    def days(self) -> list[date]:
        return days_between(self.first, self.last)


class Oracle:
    def __init__(
        self,
        events: Iterable[EventRecord],
        as_of: date,
        k: int,
        reference_wages: Iterable[Any],
        org_levels: frozenset[str] | None = None,
    ):
        self.as_of = as_of
        self.k = k
        self.org_levels = org_levels
        self.reference_wages = list(reference_wages)
        effective = apply_corrections(events)
        self.org = build_org(effective)
        per_worker: dict[str, list[Event]] = defaultdict(list)
        for event in effective:
            if event.event_type in WORKER_TYPES and event.worker:
                per_worker[event.worker].append(event)
        self.workers = [replay_worker(w, evs, as_of) for w, evs in sorted(per_worker.items())]
        worker_days = [e.day for evs in per_worker.values() for e in evs]
        # contract §4 periods: from the month of the earliest (effective) worker event through the as-of month
        self.first_day = min(worker_days) if worker_days else None
        self.cells: dict[CellKey, Cell] = {}

    # --- slices -------------------------------------------------------------------------------------------

    def slices(self, worker: Worker, d: date, period: Period) -> list[Key]:
        """contract §4 "A worker's slice on a day"; the age band is fixed by the period's last day (M:127)."""
        return self.slices_in_spell(worker, worker.day_spell[d], d, period)

    def slices_in_spell(self, worker: Worker, spell_index: int, d: date, period: Period) -> list[Key]:
        """The slices of the worker on day d inside the given spell (decision 3: a separation's own spell)."""
        spell = worker.spells[spell_index]
        unit = spell.unit_on(d)
        keys: list[Key] = [("all", "all")]
        keys += [("org", u) for u in self.org.ancestors(unit)]
        keys.append(("service_model", self.org.model_of(unit)))
        keys.append(("source_channel", spell.channel))
        keys.append(("gender", worker.gender))
        keys.append(("age_band", age_band(period.last.year - worker.birth_year)))
        return keys

    # --- periods ------------------------------------------------------------------------------------------

    def month_period(self, m: date) -> Period:
        # contract §4: the as-of month runs from its first day through as_of
        return Period("month", m, m, min(month_end(m), self.as_of), (m,))

    def months(self) -> list[date]:
        assert self.first_day is not None
        m = self.first_day.replace(day=1)
        result = []
        while m <= self.as_of:
            result.append(m)
            m = add_months(m, 1)
        return result

    # --- population and headcount -------------------------------------------------------------------------

    def population(self, period: Period) -> dict[Key, set[str]]:
        # M:69 the distinct workers employed in the slice at any time in the period
        result: dict[Key, set[str]] = defaultdict(set)
        for d in period.days:
            for worker in self.workers:
                if worker.employed(d):
                    for key in self.slices(worker, d, period):
                        result[key].add(worker.key)
        return result

    def month_average(self, m: date, period: Period) -> dict[Key, float]:
        # M:19 sum of daily headcounts ÷ days in the month (the as-of month: its elapsed days, contract §4)
        month = self.month_period(m)
        total: dict[Key, int] = defaultdict(int)
        for d in month.days:
            for worker in self.workers:
                if worker.employed(d):
                    for key in self.slices(worker, d, period):  # age band of the enclosing period
                        total[key] += 1
        n_days = len(month.days)
        return {key: count / n_days for key, count in total.items()}

    def headcount_on(self, d: date, period: Period) -> dict[Key, int]:
        # M:18 workers whose employment interval contains d
        result: dict[Key, int] = defaultdict(int)
        for worker in self.workers:
            if worker.employed(d):
                for key in self.slices(worker, d, period):
                    result[key] += 1
        return result


@dataclass
class Cell:
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    workers: int = 0
    suppressed: bool = False
    smallest_group: int | None = None  # a pay figure comparing groups: size of the smallest compared group
    reason: str = ""  # why it is suppressed: primary, secondary or linked


# ----------------------------------------------------------------------------------------------------------
# the indicators of one period
# ----------------------------------------------------------------------------------------------------------


def put(o: Oracle, indicator: str, period: Period, key: Key, category: str, cell: Cell) -> None:
    o.cells[(indicator, period.kind, period.period, key[0], key[1], category)] = cell


def flows_and_headcount(o: Oracle, period: Period, population: dict[Key, set[str]], universe: list[Key]) -> None:
    # headcount (M:18-21)
    if period.kind == "year":
        # M:20 / contract §4: Σ of the 12 monthly averages ÷ 12 (months without data contribute 0)
        sums: dict[Key, float] = defaultdict(float)
        for m in period.months:
            if o.first_day is not None and o.first_day.replace(day=1) <= m <= o.as_of:
                for key, avg in o.month_average(m, period).items():
                    sums[key] += avg
        average = {key: value / 12 for key, value in sums.items()}
    else:
        average = o.month_average(period.months[0], period)
    end = o.headcount_on(period.last, period)

    counts: dict[tuple[str, Key, str], int] = defaultdict(int)
    leaver_tenures: dict[Key, list[float]] = defaultdict(list)
    in_period = range(period.first.toordinal(), period.last.toordinal() + 1)
    for worker in o.workers:
        # M:24-25, M:137 hires and separations fall in the slice of the worker on that day
        for d, _spell in worker.hires:
            if d.toordinal() in in_period:
                for key in o.slices(worker, d, period):
                    counts[("hires", key, "")] += 1
        for d, kind, reason, spell in worker.separations:
            if d.toordinal() in in_period:
                tenure = (d - worker.spells[spell].start).days + 1  # contract §4 median_tenure_leavers
                for key in o.slices_in_spell(worker, spell, d, period):  # decision 3
                    counts[("separations", key, "")] += 1
                    counts[(f"separations_{kind}", key, "")] += 1
                    counts[("separations_by_reason", key, reason)] += 1
                    leaver_tenures[key].append(tenure)
        # contract §4: out for every unit containing A but not B, in for every unit containing B but not A
        for d, from_unit, to_unit in worker.transfers:
            if d.toordinal() in in_period:
                old, new = o.org.ancestors(from_unit), o.org.ancestors(to_unit)
                for unit in old:
                    if unit not in new:
                        counts[("transfers_out", ("org", unit), "")] += 1
                for unit in new:
                    if unit not in old:
                        counts[("transfers_in", ("org", unit), "")] += 1

    # M:90 + contract §4: tenure of current workers = last day − spell start + 1
    current_tenures: dict[Key, list[float]] = defaultdict(list)
    for worker in o.workers:
        if worker.employed(period.last):
            start = worker.spells[worker.day_spell[period.last]].start
            for key in o.slices(worker, period.last, period):
                current_tenures[key].append((period.last - start).days + 1)

    # M:96-98 retention: employed on first day, still in the same spell (and slice) on the last day
    retained: dict[Key, int] = defaultdict(int)
    at_start: dict[Key, int] = defaultdict(int)
    for worker in o.workers:
        if not worker.employed(period.first):
            continue
        start_keys = o.slices(worker, period.first, period)
        same_spell = worker.employed(period.last) and worker.day_spell[period.last] == worker.day_spell[period.first]
        end_keys = o.slices(worker, period.last, period) if same_spell else []
        for key in start_keys:
            at_start[key] += 1
            if key in end_keys:
                retained[key] += 1

    for key in universe:
        workers = len(population.get(key, set()))

        def count(name: str, category: str = "", key: Key = key) -> float:
            return float(counts.get((name, key, category), 0))

        def emit(name: str, cell: Cell, category: str = "", key: Key = key, workers: int = workers) -> None:
            cell.workers = workers
            put(o, name, period, key, category, cell)

        avg = average.get(key, 0.0)
        emit("headcount_avg", Cell(avg))
        emit("headcount_end", Cell(float(end.get(key, 0))))
        for name in ("hires", "separations", "separations_voluntary", "separations_involuntary"):
            emit(name, Cell(count(name)))
        emit("separations_other", Cell(count("separations_other")))
        for reason in REASONS:
            emit("separations_by_reason", Cell(count("separations_by_reason", reason)), reason)
        hires, seps = count("hires"), count("separations")
        emit("net_change", Cell(hires - seps))  # M:31
        emit("replacement_ratio", Cell(ratio(hires, seps, 1.0), hires, seps))  # M:31
        if key[0] == "org":
            emit("transfers_in", Cell(count("transfers_in")))
            emit("transfers_out", Cell(count("transfers_out")))
        # M:26-30 rates on the average headcount (year: the JOLTS annual rate on the year's average)
        for rate, flow in (
            ("separation_rate", "separations"),
            ("voluntary_rate", "separations_voluntary"),
            ("involuntary_rate", "separations_involuntary"),
            ("hires_rate", "hires"),
        ):
            emit(rate, Cell(ratio(count(flow), avg), count(flow), avg))
        emit("retention_rate", Cell(ratio(retained[key], at_start[key]), retained[key], at_start[key]))
        emit("median_tenure_current", Cell(median(current_tenures.get(key, []))))
        emit("median_tenure_leavers", Cell(median(leaver_tenures.get(key, []))))

    training(o, period, population, universe, average)
    career_flows(o, period, population, universe, average)


def training(
    o: Oracle, period: Period, population: dict[Key, set[str]], universe: list[Key], average: dict[Key, float]
) -> None:
    # M:43-47, M:106-107: a completed participation counts on its end date, in the slice of that day
    times: dict[Key, int] = defaultdict(int)
    trainees: dict[Key, set[str]] = defaultdict(set)
    hours: dict[tuple[Key, str], float] = defaultdict(float)
    kind_times: dict[tuple[Key, str], int] = defaultdict(int)
    kind_trainees: dict[tuple[Key, str], set[str]] = defaultdict(set)
    for worker in o.workers:
        for d, kind, h, _spell in worker.trainings:
            if period.first <= d <= period.last:
                for key in o.slices(worker, d, period):
                    times[key] += 1
                    trainees[key].add(worker.key)
                    hours[(key, kind)] += h
                    hours[(key, "all")] += h
                    kind_times[(key, kind)] += 1
                    kind_trainees[(key, kind)].add(worker.key)
    for key in universe:
        workers = len(population.get(key, set()))
        put(o, "trainee_times", period, key, "", Cell(float(times[key]), workers=workers))
        put(o, "trainees", period, key, "", Cell(float(len(trainees[key])), workers=workers))
        # M:51 by course kind: 人次 and 人数 per kind (category = kind; '' above = every kind)
        for kind in TRAINING_KINDS:
            put(o, "trainee_times", period, key, kind, Cell(float(kind_times[(key, kind)]), workers=workers))
            put(o, "trainees", period, key, kind, Cell(float(len(kind_trainees[(key, kind)])), workers=workers))
        for kind in (*TRAINING_KINDS, "all"):
            put(o, "training_hours", period, key, kind, Cell(hours[(key, kind)], workers=workers))
        avg = average.get(key, 0.0)
        put(
            o,
            "training_hours_per_worker",
            period,
            key,
            "",
            Cell(ratio(hours[(key, "all")], avg, 1.0), hours[(key, "all")], avg, workers),
        )
        n_trainees = float(len(trainees[key]))
        put(
            o,
            "share_trained",
            period,
            key,
            "",
            Cell(ratio(n_trainees, workers), n_trainees, workers, workers),
        )


def paid_workers(o: Oracle, d: date, period: Period) -> dict[Key, list[tuple[Worker, Pay]]]:
    # M:112-113 pay in effect on the day for workers employed at its end; workers with no pay left out
    result: dict[Key, list[tuple[Worker, Pay]]] = defaultdict(list)
    for worker in o.workers:
        pay = worker.pay_on(d)
        if pay is not None:
            for key in o.slices(worker, d, period):
                result[key].append((worker, pay))
    return result


def hourly(pay: Pay) -> float:
    # M:114 monthly pay ÷ (weekly hours × 52 ÷ 12)
    return pay.total / (pay.weekly_hours * 52 / 12)


def month_pay(o: Oracle, period: Period, universe: list[Key]) -> None:
    paid = paid_workers(o, period.last, period)
    # M:124-125 pay growth against the last day of month m − 12
    year_ago = month_end(add_months(period.period, -12))
    for key in universe:
        group = paid.get(key, [])
        n = len(group)
        # M:53 mean, median and percentiles; base and allowances apart
        for category, amounts in (
            ("total", [p.total for _, p in group]),
            ("base", [p.base for _, p in group]),
            ("allowances", [p.allowances for _, p in group]),
        ):
            put(o, "pay_mean", period, key, category, Cell(mean(amounts), workers=n))
            for name, p in PERCENTILES:
                put(o, name, period, key, category, Cell(percentile_inclusive(amounts, p), workers=n))
        # M:57-58 gender pay gap on hourly pay; A = men, B = women; population = the smaller group (M:70)
        # population = the men and women whose pay it uses (M:69); suppressed if either group < k (M:70)
        # M v5 "Which rows exist": no gap and no band share within gender slices
        within_gender = key[0] == "gender"
        men = [hourly(p) for w, p in group if w.gender == "male"]
        women = [hourly(p) for w, p in group if w.gender == "female"]
        smaller = min(len(men), len(women))
        for name, stat in (("pay_gap_mean", mean), ("pay_gap_median", median)) if not within_gender else ():
            a, b = stat(men), stat(women)
            gap = None if a is None or b is None or a == 0 else (a - b) / a * 100
            put(o, name, period, key, "", Cell(gap, workers=len(men) + len(women), smallest_group=smaller))
        # M:117-118 quartile bands of hourly pay; share of each gender per band; M v5: population = the n
        # workers ranked, and the band is a compared group (fewer than k in it: suppressed)
        # contract §4: quartile bands need >= 1 worker (no rows for a slice with nobody paid)
        bands = quartile_bands([(hourly(p), w.key, w) for w, p in group])
        for quartile, band in zip(QUARTILES, bands, strict=True) if group and not within_gender else ():
            size = len(band)
            for name, gender in (
                ("pay_quartile_female_share", "female"),
                ("pay_quartile_male_share", "male"),
            ):
                hits = float(sum(1 for w in band if w.gender == gender))
                cell = Cell(ratio(hits, size), hits, float(size), n, smallest_group=size)
                put(o, name, period, key, quartile, cell)
        # M:124-125 workers employed (with pay) at both dates, same workers' medians
        now, before = [], []
        for worker, pay in group:
            earlier = worker.pay_on(year_ago)
            if earlier is not None:
                now.append(pay.total)
                before.append(earlier.total)
        if not now:  # contract §4: pay growth needs >= 1 worker
            continue
        m_now, m_before = median(now), median(before)
        growth = None if m_now is None or m_before is None or m_before == 0 else (m_now / m_before - 1) * 100
        put(o, "pay_growth", period, key, "", Cell(growth, workers=len(now)))


def stability(o: Oracle, period: Period, universe: list[Key]) -> None:
    # M:99-102 D = the month's last day; same spell on both dates; numerator needs the slice on both dates
    d_now = period.last
    d_then = one_year_before(d_now)
    then_count: dict[Key, int] = defaultdict(int)
    stayed: dict[Key, int] = defaultdict(int)
    for worker in o.workers:
        if not worker.employed(d_then):
            continue
        keys_then = o.slices(worker, d_then, period)
        same = worker.employed(d_now) and worker.day_spell[d_now] == worker.day_spell[d_then]
        keys_now = o.slices(worker, d_now, period) if same else []
        for key in keys_then:
            then_count[key] += 1
            if key in keys_now:
                stayed[key] += 1
    for key in sorted(set(universe) | set(then_count)):
        n = then_count[key]
        put(
            o,
            "stability_index",
            period,
            key,
            "",
            Cell(ratio(stayed[key], n), float(stayed[key]), float(n), n),
        )


def year_pay(o: Oracle, period: Period, universe: list[Key]) -> None:
    year = period.period.year
    # M:119-121 turnover by pay quartile: cohort of 1 January, pay in effect that day
    jan1 = date(year, 1, 1)
    paid = paid_workers(o, jan1, period)
    for key in universe:
        if not paid.get(key):  # contract §4: pay quartile bands need >= 1 worker
            continue
        bands = quartile_bands([(hourly(p), w.key, w) for w, p in paid[key]])
        for quartile, band in zip(QUARTILES, bands, strict=True):
            leavers = float(
                sum(1 for w in band if any(kind == "voluntary" and d.year == year for d, kind, _r, _s in w.separations))
            )
            size = len(band)  # M v5: population = the n workers ranked, the band a compared group
            cell = Cell(ratio(leavers, size), leavers, float(size), len(paid[key]), smallest_group=size)
            put(o, "turnover_by_pay_quartile", period, key, quartile, cell)
    # M:122-123 (median monthly pay on 31 December × 12) ÷ reference annual wage of that region and year
    dec31 = date(year, 12, 31)
    paid_end = paid_workers(o, dec31, period)
    wages = {}
    for wage in o.reference_wages:
        if int(wage.year) == year:
            wages[wage.region] = float(wage.annual_amount)
    for region, amount in wages.items():
        key = ("all", "all") if region == "all" else ("org", region)
        group = paid_end.get(key, [])
        med = median([p.total for _, p in group])
        if med is None:
            cell = Cell(None, None, amount, len(group))
        else:
            cell = Cell(ratio(med * 12, amount, 1.0), med * 12, amount, len(group))
        put(o, "pay_vs_reference", period, key, "", cell)


def separation_slices(o: Oracle, period: Period) -> set[Key]:
    """Slices of the period's separations (decision 1: a same-day rehire can leave the old slice empty)."""
    keys: set[Key] = set()
    for worker in o.workers:
        for d, _kind, _reason, spell in worker.separations:
            if period.first <= d <= period.last:
                keys |= set(o.slices_in_spell(worker, spell, d, period))
    return keys


def rolling12(o: Oracle, period: Period) -> None:
    # M:29-30 rolling 12 months: Σ separations ÷ (Σ monthly average headcounts ÷ 12) × 100; v5: the same for
    # the voluntary, involuntary and hires rates
    population: dict[Key, set[str]] = o.population(period)
    sums: dict[Key, float] = defaultdict(float)
    for m in period.months:
        for key, avg in o.month_average(m, period).items():
            sums[key] += avg
    flows: dict[tuple[str, Key], int] = defaultdict(int)
    for worker in o.workers:
        for d, kind, _reason, spell in worker.separations:
            if period.first <= d <= period.last:
                for key in o.slices_in_spell(worker, spell, d, period):  # decision 3
                    flows[("separation_rate", key)] += 1
                    flows[(f"{kind}_rate", key)] += 1
        for d, _spell in worker.hires:
            if period.first <= d <= period.last:
                for key in o.slices(worker, d, period):
                    flows[("hires_rate", key)] += 1
        for grade in worker.grades:  # contract §4 "Career": the window's promotions ÷ its average headcount
            if grade.kind == "promotion" and period.first <= grade.day <= period.last:
                for key in o.slices_in_spell(worker, grade.spell, grade.day, period):
                    flows[("promotion_rate", key)] += 1
    for key in sorted(set(population) | separation_slices(o, period) | {("all", "all")}):
        den = sums[key] / 12
        for rate in ("separation_rate", "voluntary_rate", "involuntary_rate", "hires_rate", "promotion_rate"):
            num = float(flows[(rate, key)])
            put(o, rate, period, key, "", Cell(ratio(num, den), num, den, len(population[key])))


def initial_on_time(worker: Worker, h: date, s: int) -> bool:
    # M:108 + contract §4: initial training of the same spell ending 0..90 days after hire
    return any(
        kind == "initial" and spell == s and 0 <= (end - h).days <= 90 for end, kind, _h, spell in worker.trainings
    )


def year_cohort(o: Oracle, period: Period) -> dict[Key, list[tuple[Worker, date, int]]]:
    """Each worker's first hire in the year (hire date, spell), in the slices of the hire day."""
    members: dict[Key, list[tuple[Worker, date, int]]] = defaultdict(list)
    for worker in o.workers:
        in_year = [(d, s) for d, s in worker.hires if d.year == period.first.year]
        if in_year:
            h, spell = min(in_year)
            for key in o.slices(worker, h, period):
                members[key].append((worker, h, spell))
    return members


def year_on_time(o: Oracle, period: Period) -> None:
    # M v5: initial training on time by hire year too: each worker's first hire in the (complete) year, in the
    # slices of the hire day; eligible when hired on or before as_of − 90 days
    members = year_cohort(o, period)
    for key, group in sorted(members.items()):
        eligible = [(w, h, s) for w, h, s in group if h <= o.as_of - timedelta(days=90)]
        on_time = float(sum(1 for w, h, s in eligible if initial_on_time(w, h, s)))
        n = len(eligible)
        put(o, "initial_training_on_time", period, key, "", Cell(ratio(on_time, n), on_time, float(n), n))


def cohorts(o: Oracle, m: date) -> None:
    # contract §4: a hire-month cohort holds each worker's first hire in that month; slices of the hire day
    period = Period("cohort", m, m, min(month_end(m), o.as_of), (m,))
    members: dict[Key, list[tuple[Worker, date, int]]] = defaultdict(list)
    for worker in o.workers:
        in_month = [(d, s) for d, s in worker.hires if period.first <= d <= period.last]
        if in_month:
            h, spell = min(in_month)
            for key in o.slices(worker, h, period):
                members[key].append((worker, h, spell))

    def still_in_spell(worker: Worker, d: date, spell: int) -> bool:
        # M:103-104 at the end of day d still in that spell (a separation and rehire on d is a new spell)
        return d <= o.as_of and worker.day_spell.get(d) == spell

    for key, group in sorted(members.items()):
        # M:103-105 cohort retention at t days; eligible if h + t ≤ as_of
        for t in COHORT_MARKS:
            eligible = [(w, h, s) for w, h, s in group if h + timedelta(days=t) <= o.as_of]
            kept = float(sum(1 for w, h, s in eligible if still_in_spell(w, h + timedelta(days=t), s)))
            n = len(eligible)
            put(o, "cohort_retention", period, key, str(t), Cell(ratio(kept, n), kept, float(n), n))
        # contract §4 cohort_half_life: smallest t with every h + t ≤ as_of and 2 × remaining ≤ size
        size = len(group)
        half_life = None
        t = 0
        while all(h + timedelta(days=t) <= o.as_of for _, h, _ in group):
            remaining = sum(1 for w, h, s in group if still_in_spell(w, h + timedelta(days=t), s))
            if 2 * remaining <= size:
                half_life = float(t)
                break
            t += 1
        put(o, "cohort_half_life", period, key, "", Cell(half_life, workers=size))
        # M:108 + contract §4: initial training of the same spell ending 0..90 days after hire,
        # over hires with hire date ≤ as_of − 90 days
        eligible = [(w, h, s) for w, h, s in group if h <= o.as_of - timedelta(days=90)]
        on_time = float(
            sum(
                1
                for w, h, s in eligible
                if any(
                    kind == "initial" and spell == s and 0 <= (end - h).days <= 90
                    for end, kind, _hours, spell in w.trainings
                )
            )
        )
        n = len(eligible)
        put(o, "initial_training_on_time", period, key, "", Cell(ratio(on_time, n), on_time, float(n), n))


# ----------------------------------------------------------------------------------------------------------
# career progression (M v5 "Career progression"; contract §4 "Grade changes", "Career")
# ----------------------------------------------------------------------------------------------------------


def career_flows(
    o: Oracle, period: Period, population: dict[Key, set[str]], universe: list[Key], average: dict[Key, float]
) -> None:
    # a valid change counts on its date in the slices of the worker that day in its spell (unit after that day's
    # transfer, the spell's channel); flow counts, so their population is the default one
    counts: dict[tuple[str, Key], int] = defaultdict(int)
    for worker in o.workers:
        for grade in worker.grades:
            if period.first <= grade.day <= period.last:
                for key in o.slices_in_spell(worker, grade.spell, grade.day, period):
                    counts[(GRADE_FLOWS[grade.kind], key)] += 1
    for key in universe:
        workers = len(population.get(key, set()))
        for name in GRADE_FLOWS.values():
            put(o, name, period, key, "", Cell(float(counts[(name, key)]), workers=workers))
        # promotions ÷ headcount_avg × 100 (year: the year's promotions ÷ its average headcount)
        promotions, avg = float(counts[("promotions", key)]), average.get(key, 0.0)
        put(o, "promotion_rate", period, key, "", Cell(ratio(promotions, avg), promotions, avg, workers))


def grade_mix(o: Oracle, period: Period, population: dict[Key, set[str]]) -> None:
    # workers at each level at the end of the period's last day ÷ workers employed then × 100; categories = the
    # levels (and unknown) held by someone in the program then (decision 17f)
    d = period.last
    held: dict[Key, list[str]] = defaultdict(list)
    for worker in o.workers:
        if worker.employed(d):
            level, _title = worker.grade_on(worker.day_spell[d], d)
            for key in o.slices(worker, d, period):
                held[key].append("unknown" if level is None else str(level))
    categories = sorted(set(held.get(("all", "all"), [])))
    for key, levels in sorted(held.items()):
        workers = len(population.get(key, set()))
        for category in categories:
            at_level = float(levels.count(category))
            cell = Cell(ratio(at_level, len(levels)), at_level, float(len(levels)), workers)
            put(o, "grade_mix", period, key, category, cell)


def pay_median_by_level(o: Oracle, period: Period) -> None:
    # median total pay of the workers employed and paid at the end of the last day, per level (decision 17e:
    # unknown left out); population = those workers; the 2k of pay_median applies (NEEDS_K_TIMES)
    d = period.last
    for key, group in sorted(paid_workers(o, d, period).items()):
        by_level: dict[str, list[float]] = defaultdict(list)
        for worker, pay in group:
            level, _title = worker.grade_on(worker.day_spell[d], d)
            if level is not None:
                by_level[str(level)].append(pay.total)
        for category, totals in sorted(by_level.items()):
            put(o, "pay_median_by_level", period, key, category, Cell(median(totals), workers=len(totals)))


def promoted_within(o: Oracle, period: Period) -> None:
    # the hire-year cohort (as initial_training_on_time by year); eligible when h + t ≤ as_of; promoted when a
    # promotion of that spell is dated on or before h + t; population = the eligible (decision 17g)
    members = year_cohort(o, period)
    for key in sorted(members):
        group = members.get(key, [])
        for t in PROMOTED_WITHIN_MARKS:
            mark = timedelta(days=t)
            eligible = [(w, h, s) for w, h, s in group if h + mark <= o.as_of]
            promoted = float(
                sum(
                    1
                    for w, h, s in eligible
                    if any(g.kind == "promotion" and g.spell == s and g.day <= h + mark for g in w.grades)
                )
            )
            n = len(eligible)
            put(o, "promoted_within", period, key, str(t), Cell(ratio(promoted, n), promoted, float(n), n))


def turnover_by_promotion(o: Oracle, period: Period) -> None:
    # the workers employed at the end of 1 January, in their slices then; promoted = a promotion of that spell
    # dated 1 January three years before .. 31 December before; value = voluntary leavers of the year (each
    # once, any spell) ÷ the group × 100; population = the group, each group needs k (decision 17h)
    year = period.first.year
    jan1 = date(year, 1, 1)
    window = (date(year - 3, 1, 1), date(year - 1, 12, 31))
    groups: dict[tuple[Key, str], list[Worker]] = defaultdict(list)
    for worker in o.workers:
        if not worker.employed(jan1):
            continue
        spell = worker.day_spell[jan1]
        promoted = any(
            g.kind == "promotion" and g.spell == spell and window[0] <= g.day <= window[1] for g in worker.grades
        )
        for key in o.slices(worker, jan1, period):
            groups[(key, "promoted" if promoted else "not_promoted")].append(worker)
    keys = {key for key, _category in groups} | {("all", "all")}
    for key in sorted(keys):
        for category in ("promoted", "not_promoted"):
            group = groups.get((key, category), [])
            if not group and key != ("all", "all"):  # a row for each non-empty group; all: both
                continue
            quits = [w for w in group if any(kind == "voluntary" and d.year == year for d, kind, *_ in w.separations)]
            leavers = float(len(quits))
            n = len(group)
            put(o, "turnover_by_promotion", period, key, category, Cell(ratio(leavers, n), leavers, float(n), n))


# ----------------------------------------------------------------------------------------------------------
# suppression (M:63-81)
# ----------------------------------------------------------------------------------------------------------


def parent_of(o: Oracle, key: CellKey) -> CellKey | None:
    # contract §4 "Suppression parents": org → parent unit (roots → the all cell); other dimensions → all
    indicator, kind, period, dimension, slice_value, category = key
    if dimension == "all":
        return None
    if dimension == "org":
        for ancestor in o.org.ancestors(slice_value)[1:]:
            if published(o, ancestor):
                return (indicator, kind, period, "org", ancestor, category)
    return (indicator, kind, period, "all", "all", category)


def published(o: Oracle, unit: str) -> bool:
    # decision 16: a unit keeps its cells when its level is published or unknown
    level = o.org.level.get(unit)
    return o.org_levels is None or level is None or level in o.org_levels


def drop_unpublished(o: Oracle) -> None:
    o.cells = {key: cell for key, cell in o.cells.items() if key[3] != "org" or published(o, key[4])}


def drop_empty(o: Oracle) -> None:
    # M v5 "Which rows exist": a slice value gets a row only when the cell's population is not empty; the
    # program row always exists (and is suppressed when empty, below)
    o.cells = {key: cell for key, cell in o.cells.items() if cell.workers > 0 or key[3:5] == ("all", "all")}


# M v5 "Pay distributions need more workers": the population needed, in multiples of k (others: 1)
NEEDS_K_TIMES = {
    "pay_p10": 4,
    "pay_p90": 4,
    "pay_p25": 2,
    "pay_median": 2,
    "pay_p75": 2,
    "pay_gap_median": 2,  # the medians inside it: each compared group
    "pay_vs_reference": 2,
    "pay_growth": 2,
    "pay_median_by_level": 2,  # contract §4 "Career": published from 2k, as pay_median
}


def suppress(o: Oracle) -> None:
    cells = o.cells
    # M:66-71 primary: population (or a compared group) smaller than k, or than 2k / 4k for pay distributions
    for key, cell in cells.items():
        need = NEEDS_K_TIMES.get(key[0], 1) * o.k
        cell.suppressed = cell.workers < need or (cell.smallest_group is not None and cell.smallest_group < need)
        cell.reason = "primary" if cell.suppressed else ""

    # the parent → children families, each child with its tie-break value
    families: dict[CellKey, list[tuple[CellKey, Any]]] = defaultdict(list)
    for key in cells:
        parent = parent_of(o, key)
        if parent is not None and parent in cells:
            families[parent].append((key, key[4]))  # M:72-74 across the values of one slice dimension
        indicator, kind, period, dimension, slice_value, category = key
        if kind == "month" and indicator in FLOW_COUNTS:  # M:75-76 the months of a published year
            year_key = (indicator, "year", date(period.year, 1, 1), dimension, slice_value, category)
            if year_key in cells:
                families[year_key].append((key, period))
    # a dimension's values are one family: split the all cell's children by dimension
    split: list[tuple[CellKey, list[tuple[CellKey, Any]]]] = []
    for parent, children in families.items():
        groups: dict[Any, list[tuple[CellKey, Any]]] = defaultdict(list)
        for child, tie in children:
            groups[(child[1], child[3])].append((child, tie))
        for group in groups.values():
            split.append((parent, group))

    # M:77 a cell whose numerator or denominator is a suppressed count is suppressed too ("linked")
    references: dict[CellKey, list[CellKey]] = {}
    for key in cells:
        indicator, kind, period, dimension, slice_value, _category = key
        targets = [(r, kind, period, dimension, slice_value, c) for r, c in REFERENCES.get(indicator, ())]
        references[key] = [t for t in targets if t in cells]

    def hide_linked() -> None:
        # M "Linked": hidden at once, before the first round of secondary suppression and after each
        while True:
            hits = [k for k in cells if not cells[k].suppressed and linked(k, references.get(k, []))]
            if not hits:
                return
            for key in hits:
                cells[key].suppressed, cells[key].reason = True, "linked"

    # M v5 "Linked", by value: a cohort or on-time row whose denominator (the half-life: its cohort) equals the
    # period's hidden hires in the slice; a stability index whose denominator equals the hidden period-end
    # headcount of the month a year before; promoted_within (contract §4 "Career") on its year's hidden hires
    equal_to: dict[CellKey, CellKey] = {}
    for key in cells:
        indicator, kind, period, dimension, slice_value, _category = key
        if kind == "cohort" and indicator in ("cohort_retention", "cohort_half_life", "initial_training_on_time"):
            target = ("hires", "month", period, dimension, slice_value, "")
        elif kind == "year" and indicator in ("initial_training_on_time", "promoted_within"):
            target = ("hires", "year", period, dimension, slice_value, "")
        elif kind == "month" and indicator == "stability_index":
            target = ("headcount_end", "month", add_months(period, -12), dimension, slice_value, "")
        elif indicator in PAY_BY_POPULATION and kind in ("month", "year"):
            # the paid workers on the period's last day, published beside the figure (contract §4, "Linked")
            target = ("headcount_end", kind, period, dimension, slice_value, "")
        else:
            continue
        if target in cells:
            equal_to[key] = target

    def linked(key: CellKey, targets: list[CellKey]) -> bool:
        if any(cells[t].suppressed for t in targets):
            return True
        target = equal_to.get(key)
        if target is None or not cells[target].suppressed:
            return False
        cell = cells[key]
        base = cell.workers if key[0] == "cohort_half_life" or key[0] in PAY_BY_POPULATION else cell.denominator
        return base == cells[target].value

    # C4 "Secondary", the route rule (issue 12): a published window or year through which, with published months,
    # a hidden month of its slice is known exactly, is hidden itself. (cell, the month cells it is built from,
    # whether it gives one away only when exactly one of them is hidden)
    window_flow = {
        "separation_rate": "separations",
        "voluntary_rate": "separations_voluntary",
        "involuntary_rate": "separations_involuntary",
        "hires_rate": "hires",
        "promotion_rate": "promotions",
    }
    built_from: list[tuple[CellKey, list[CellKey], bool]] = []
    for key in cells:
        indicator, kind, period, dimension, slice_value, category = key
        if kind == "rolling12" and indicator in window_flow:
            window = [add_months(period, -back) for back in range(12)]
            parts = [
                (name, "month", m, dimension, slice_value, "")
                for m in window
                for name in (window_flow[indicator], "headcount_avg")
            ]
            built_from.append((key, [p for p in parts if p in cells], False))
        elif kind == "year" and indicator == "headcount_end":
            december = (indicator, "month", date(period.year, 12, 1), dimension, slice_value, category)
            built_from.append((key, [december] if december in cells else [], False))
        elif kind == "year" and indicator in ("headcount_avg", "training_hours"):
            months = [
                (indicator, "month", date(period.year, m, 1), dimension, slice_value, category) for m in range(1, 13)
            ]
            built_from.append((key, [m for m in months if m in cells], True))

    hide_linked()
    # M "Secondary": rounds until nothing changes, each judged on the flags at its start
    while True:
        flags = {key: cell.suppressed for key, cell in cells.items()}
        to_suppress: set[CellKey] = set()
        for parent, children in split:
            if flags[parent]:
                continue
            hidden = [c for c, _ in children if flags[c]]
            shown = [(cells[c].workers, tie, c) for c, tie in children if not flags[c]]
            if len(hidden) == 1 and shown:
                to_suppress.add(min(shown)[2])
        for key, parts, only_one in built_from:
            n_hidden = sum(flags[p] for p in parts)
            if not flags[key] and (n_hidden == 1 if only_one else n_hidden >= 1):
                to_suppress.add(key)
        if not to_suppress:
            break
        for key in to_suppress:
            cells[key].suppressed, cells[key].reason = True, "secondary"
        hide_linked()


# ----------------------------------------------------------------------------------------------------------
# entry point
# ----------------------------------------------------------------------------------------------------------


def oracle_compute(
    events: Iterable[EventRecord],
    *,
    as_of: date,
    k: int = 5,
    reference_wages: Iterable[ReferenceWage] = (),
    org_levels: frozenset[str] | None = None,
) -> list[IndicatorRow]:
    """Every indicator of contract §4 for every period, dimension, slice and category."""
    o = Oracle(events, as_of, k, reference_wages, org_levels)
    if o.first_day is None or o.first_day > as_of:
        return []
    months = o.months()

    def universe(period: Period, population: dict[Key, set[str]]) -> list[Key]:
        keys = set(population) | {("all", "all")} | separation_slices(o, period)
        for worker in o.workers:  # units that only lose a worker by transfer in the period
            for d, from_unit, _to in worker.transfers:
                if period.first <= d <= period.last:
                    keys |= {("org", u) for u in o.org.ancestors(from_unit)}
        return sorted(keys)

    for m in months:
        period = o.month_period(m)
        population = o.population(period)
        keys = universe(period, population)
        flows_and_headcount(o, period, population, keys)
        stability(o, period, keys)
        month_pay(o, period, keys)
        cohorts(o, m)
        grade_mix(o, period, population)
        pay_median_by_level(o, period)

    first_year = o.first_day.year
    for year in range(first_year, as_of.year + 1):
        if date(year, 12, 31) > as_of:
            continue
        period = Period(
            "year",
            date(year, 1, 1),
            date(year, 1, 1),
            date(year, 12, 31),
            tuple(date(year, i, 1) for i in range(1, 13)),
        )
        population = o.population(period)
        keys = universe(period, population)
        flows_and_headcount(o, period, population, keys)
        year_pay(o, period, keys)
        year_on_time(o, period)
        grade_mix(o, period, population)
        promoted_within(o, period)
        turnover_by_promotion(o, period)

    for index in range(11, len(months)):
        m = months[index]
        if month_end(m) > as_of:
            continue
        window = tuple(months[index - 11 : index + 1])
        rolling12(o, Period("rolling12", m, window[0], month_end(m), window))

    drop_unpublished(o)
    drop_empty(o)
    suppress(o)
    rows = []
    for key, cell in sorted(o.cells.items(), key=lambda item: tuple(str(part) for part in item[0])):
        indicator, kind, period_date, dimension, slice_value, category = key
        hidden = cell.suppressed
        rows.append(
            IndicatorRow(
                indicator=indicator,
                period_kind=kind,
                period=period_date,
                dimension=dimension,
                slice=slice_value,
                category=category,
                value=None if hidden or cell.value is None else float(cell.value),
                numerator=None if hidden or cell.numerator is None else float(cell.numerator),
                denominator=None if hidden or cell.denominator is None else float(cell.denominator),
                workers=0 if hidden else int(cell.workers),  # M: a hidden cell shows no population
                suppressed=hidden,
                reason=cell.reason,
            )
        )
    return rows
