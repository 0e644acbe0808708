"""Per worker, replay hires, transfers, grade changes and separations into spells; attach pay sets and trainings.

Same-day order (contract section 4): a worker not employed at the start of the day has hires, then transfers,
then grade changes, then separations processed; an employed worker transfers, grade changes, separations, then
hires. Ties among events of one kind go by event_id. Events that break the state rules are dropped as anomalies.

A separation keeps the unit the worker is in that day inside the spell it ends (contract section 4, Decisions 2),
also when a rehire the same day makes the day count in the new spell.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from schemas.envelope import MIN_DATE, MONEY_MAX

from .dates import ONE_DAY, to_date
from .model import Anomaly, EventRecord
from .spells import DEMOTION, LATERAL, PROMOTION, GradeChange, PaySet, Separation, Spell, Training, Transfer, Worker

HIRED = "staffing.hired.v1"
TRANSFERRED = "staffing.transferred.v1"
PAY_SET = "staffing.pay_set.v1"
SEPARATED = "turnover.separated.v1"
TRAINING = "training.completed.v1"
GRADE = "staffing.grade_changed.v1"
WORKER_TYPES = frozenset({HIRED, TRANSFERRED, PAY_SET, SEPARATED, TRAINING, GRADE})
STATE_TYPES = (HIRED, TRANSFERRED, GRADE, SEPARATED)
DATE_FIELD = {
    HIRED: "hire_date",
    TRANSFERRED: "effective_date",
    PAY_SET: "effective_date",
    SEPARATED: "separation_date",
    TRAINING: "end_date",
    GRADE: "effective_date",
}
LEVELS = range(1, 21)
_MONEY_MAX = float(MONEY_MAX)
_HOURS_MAX = 80.0
_TRAINING_HOURS_MAX = 2000.0
UNREADABLE = (KeyError, TypeError, ValueError, ArithmeticError)
"""What reading a payload the schemas would refuse can raise (a missing key, "abc" as a number, ...)."""
# Processing rank of state events by employment at the start of the day.
_RANK_NOT_EMPLOYED = {HIRED: 0, TRANSFERRED: 1, GRADE: 2, SEPARATED: 3}
_RANK_EMPLOYED = {TRANSFERRED: 0, GRADE: 1, SEPARATED: 2, HIRED: 3}


@dataclass(frozen=True, slots=True)
class Dated:
    day: date
    event: EventRecord


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def event_date(ev: EventRecord) -> date:
    return to_date(ev.data[DATE_FIELD[ev.event_type]])


def group_by_worker(events: Iterable[EventRecord], anomalies: list[Anomaly]) -> dict[str, list[Dated]]:
    """Worker events by worker key, in input order; events without a key or a readable date become anomalies."""
    per_worker: dict[str, list[Dated]] = {}
    for ev in events:
        if ev.event_type not in WORKER_TYPES:
            continue
        if not ev.worker_key:
            anomalies.append(Anomaly(ev.event_id, ev.worker_key, "missing_worker_key"))
            continue
        try:
            day = event_date(ev)
        except UNREADABLE:
            day = None
        if day is None or day < MIN_DATE:  # before 1990 (ingest refuses it) no period exists: stored by hand
            anomalies.append(Anomaly(ev.event_id, ev.worker_key, "invalid_payload"))
            continue
        per_worker.setdefault(ev.worker_key, []).append(Dated(day, ev))
    return per_worker


def first_date(groups: Iterable[list[Dated]]) -> date | None:
    """The earliest date among grouped worker events (anomalous ones included, as the full replay counts them)."""
    return min((d.day for dated in groups for d in dated), default=None)


def replay_worker(key: str, dated: list[Dated], anomalies: list[Anomaly]) -> Worker:
    """One worker's spells from their events (given in event_id order); dropped events go to ``anomalies``."""
    worker = Worker(key)
    state = [d for d in dated if d.event.event_type in STATE_TYPES]
    by_day: dict[date, list[EventRecord]] = {}
    for d in state:
        by_day.setdefault(d.day, []).append(d.event)
    valid_hires: list[EventRecord] = []
    for day in sorted(by_day):
        _replay_day(worker, day, by_day[day], valid_hires, anomalies)
    _finish_spells(worker)
    if valid_hires:
        latest = max(valid_hires, key=lambda e: (to_date(e.data["hire_date"]), e.emitted_at, e.event_id))
        gender = latest.data.get("gender")
        birth = latest.data.get("birth_year")
        worker.gender = str(gender) if gender else None
        worker.birth_year = int(birth) if birth is not None else None
    _attach_pays(worker, [d for d in dated if d.event.event_type == PAY_SET], anomalies)
    _attach_trainings(worker, [d for d in dated if d.event.event_type == TRAINING], anomalies)
    return worker


def _open_spell(worker: Worker) -> Spell | None:
    if worker.spells and worker.spells[-1].end is None:
        return worker.spells[-1]
    return None


def _replay_day(
    worker: Worker, day: date, events: list[EventRecord], valid_hires: list[EventRecord], out: list[Anomaly]
) -> None:
    rank = _RANK_NOT_EMPLOYED if _open_spell(worker) is None else _RANK_EMPLOYED
    hires_today = 0
    for ev in sorted(events, key=lambda e: (rank[e.event_type], e.event_id)):
        spell = _open_spell(worker)
        reason: str | None = None
        if ev.event_type == HIRED:
            if hires_today:
                reason = "second_hire_same_day"
            elif spell is not None:
                reason = "hire_while_employed"
            else:
                hires_today += 1
                valid_hires.append(ev)
                unit = str(ev.data["org_unit_id"])
                channel = str(ev.data["source_channel"])
                spell = Spell(worker.key, day, unit, channel, hire_level=_level(ev, "grade_level"))
                spell.segments.append((unit, day, None))
                worker.spells.append(spell)
        elif ev.event_type == TRANSFERRED:
            to_unit = str(ev.data["to_unit_id"])
            if spell is None:
                reason = "transfer_not_employed"
            elif spell.start == day:
                reason = "transfer_on_hire_date"
            elif to_unit == spell.segments[-1][0]:
                reason = "transfer_to_current_unit"
            else:
                spell.transfers.append(Transfer(day, spell.segments[-1][0], to_unit))
                spell.segments.append((to_unit, day, None))
        elif ev.event_type == GRADE:
            reason = _change_grade(spell, day, ev)
        elif spell is None:
            reason = "separation_not_employed"
        else:
            spell.end = day
            spell.separation = Separation(
                day, str(ev.data["kind"]), str(ev.data.get("reason") or "other"), spell.segments[-1][0]
            )
        if reason is not None:
            out.append(Anomaly(ev.event_id, ev.worker_key, reason))


def _level(ev: EventRecord, name: str) -> int | None:
    """A level field of a payload: an integer 1..20, else None (absent, null, or unreadable: stored by hand)."""
    value = ev.data.get(name)
    return value if type(value) is int and value in LEVELS else None


def _change_grade(spell: Spell | None, day: date, ev: EventRecord) -> str | None:
    """Apply a grade change to the open spell; the anomaly reason when the state rules refuse it."""
    level = _level(ev, "new_level")
    title = ev.data.get("title")
    if level is None or not (title is None or isinstance(title, str)):
        return "invalid_payload"
    if spell is None:
        return "grade_change_not_employed"
    if spell.start == day:
        return "grade_change_on_hire_date"
    last = spell.grades[-1] if spell.grades else None
    if last is not None and last.date == day:
        return "second_grade_change_same_day"
    held, held_title = (last.level, last.title) if last is not None else (spell.hire_level, None)
    if level == held and title == held_title:
        return "grade_unchanged"
    move = LATERAL if held is None or level == held else PROMOTION if level > held else DEMOTION
    spell.grades.append(GradeChange(day, level, title, move, spell.segments[-1][0]))
    return None


def _finish_spells(worker: Worker) -> None:
    """Set counted ends (a same-day rehire takes the day) and close the unit segments inside them."""
    spells = worker.spells
    for i, spell in enumerate(spells):
        spell.counted_end = spell.end
        if spell.end is not None and i + 1 < len(spells) and spells[i + 1].start == spell.end:
            spell.counted_end = spell.end - ONE_DAY
        segments: list[tuple[str, date, date | None]] = []
        raw = spell.segments
        for j, (unit, first, _) in enumerate(raw):
            last = raw[j + 1][1] - ONE_DAY if j + 1 < len(raw) else spell.counted_end
            if spell.counted_end is not None and (last is None or last > spell.counted_end):
                last = spell.counted_end
            if last is None or first <= last:
                segments.append((unit, first, last))
        spell.segments = segments


def _owning_spell(worker: Worker, day: date) -> Spell | None:
    """The spell the worker is in at the end of ``day``, else the next spell starting after it."""
    spell = worker.spell_on(day)
    if spell is not None:
        return spell
    return next((s for s in worker.spells if s.start > day), None)


def _attach_pays(worker: Worker, pays: list[Dated], out: list[Anomaly]) -> None:
    for d in pays:
        ev = d.event
        spell = _owning_spell(worker, d.day)
        if spell is None:
            out.append(Anomaly(ev.event_id, ev.worker_key, "pay_without_spell"))
            continue
        try:
            base = _decimal(ev.data["monthly_base"])
            allowances = _decimal(ev.data["allowances"])
            total = float(base + allowances)
            weekly = float(_decimal(ev.data["weekly_hours"]))
            fbase, fallowances = float(base), float(allowances)
        except UNREADABLE:
            fbase = fallowances = weekly = total = float("nan")
        # NaN fails every comparison; an infinite or out-of-range amount (stored by hand) would poison every sum.
        if not (0.0 <= fbase <= _MONEY_MAX and 0.0 <= fallowances <= _MONEY_MAX and 0.0 < weekly <= _HOURS_MAX):
            out.append(Anomaly(ev.event_id, ev.worker_key, "invalid_payload"))
            continue
        hourly = total / (weekly * 52 / 12)
        spell.add_pay(PaySet(d.day, ev.emitted_at, ev.event_id, fbase, fallowances, total, weekly, hourly))


def _attach_trainings(worker: Worker, trainings: list[Dated], out: list[Anomaly]) -> None:
    for d in trainings:
        ev = d.event
        spell = worker.spell_on(d.day)
        if spell is None:
            out.append(Anomaly(ev.event_id, ev.worker_key, "training_not_employed"))
            continue
        try:
            hours = float(_decimal(ev.data["hours"]))
        except UNREADABLE:
            hours = float("nan")
        if not 0.0 <= hours <= _TRAINING_HOURS_MAX:
            out.append(Anomaly(ev.event_id, ev.worker_key, "invalid_payload"))
            continue
        spell.trainings.append(Training(d.day, str(ev.data["kind"]), hours, spell.unit_on(d.day)))
