"""Worker lives: who is hired when, where they work, what they are paid, when they leave.

A life is the skeleton of one worker's events (spells, transfers, monthly pay). ``iter_lives`` plans hires
month by month so that headcount follows a growth curve to the target, keeping only per-month counters:
each life is drawn whole at hire, its spells are booked into the counters, and it is handed on.
"""

from __future__ import annotations

import calendar
import functools
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from services.sim.org import Org
from services.sim.orgdata import DISTRICTS

CHANNELS = ("graduate", "retrained_union_staff", "purchased_service", "enterprise_transfer", "other")
_CHANNEL_WEIGHTS = (0.42, 0.30, 0.14, 0.02, 0.12)
_DISTRICT_SLUGS = tuple(d.slug for d in DISTRICTS)
_DISTRICT_WEIGHTS = tuple(d.weight for d in DISTRICTS)
_PAY_FACTOR = {d.slug: d.pay_factor for d in DISTRICTS}
_AGE_AT_HIRE = {
    "graduate": (22, 26),
    "retrained_union_staff": (28, 50),
    "purchased_service": (24, 40),
    "enterprise_transfer": (35, 50),
    "other": (23, 45),
}
_CHANNEL_PAY = {
    "graduate": 1.0,
    "retrained_union_staff": 1.03,
    "purchased_service": 0.95,
    "enterprise_transfer": 1.05,
    "other": 0.98,
}
_CHANNEL_HAZARD = {
    "graduate": 1.15,
    "retrained_union_staff": 0.7,
    "purchased_service": 1.35,
    "enterprise_transfer": 0.6,
    "other": 1.0,
}
_HIRE_SEASON = {3: 1.1, 7: 1.5, 8: 1.3, 9: 1.2}
_VOLUNTARY = ("pay", "career_development", "workload", "relocation", "family", "further_study", "other")
_RETURNING = frozenset({"family", "further_study", "relocation", "career_development"})


@dataclass(frozen=True)
class ForcedHires:
    """A batch of hires the plan must make in one month (the scenario's targeted transfers)."""

    month: date
    count: int
    channel: str
    districts: tuple[str, ...]
    male_share: float
    first_day: int = 1


@dataclass(frozen=True)
class Pay:
    effective: date
    base: int
    allowances: int


@dataclass(frozen=True)
class Transfer:
    effective: date
    from_unit: str
    to_unit: str


@dataclass
class Spell:
    number: int
    hire_date: date
    unit_id: str
    channel: str
    contract: str
    pay: list[Pay] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    end: date | None = None
    kind: str | None = None
    reason: str | None = None

    def covers(self, first: date, last: date) -> bool:
        return self.hire_date <= first and (self.end is None or self.end >= last)

    def unit_on(self, day: date) -> str:
        unit = self.unit_id
        for transfer in self.transfers:
            if transfer.effective <= day:
                unit = transfer.to_unit
        return unit


@dataclass
class Life:
    index: int
    worker_id: str
    gender: str
    birth_year: int
    spells: list[Spell]
    rng: random.Random

    def spell_covering(self, first: date, last: date) -> Spell | None:
        return next((s for s in self.spells if s.covers(first, last)), None)


def month_starts(first: date, last: date) -> Iterator[date]:
    month = first.replace(day=1)
    while month <= last:
        yield month
        month = next_month(month)


@functools.cache
def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


@functools.cache
def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _growth(u: float) -> float:
    """Share of the final headcount reached at time fraction ``u`` (slow start, fast 2017-2020, plateau)."""

    def sigmoid(x: float) -> float:
        return 1 / (1 + math.exp(-9 * (x - 0.38)))

    low, high = sigmoid(0.0), sigmoid(1.0)
    return 0.05 + 0.95 * (sigmoid(u) - low) / (high - low)


class Planner:
    """Month-by-month hiring plan; ``lives()`` yields every worker in hire order."""

    def __init__(
        self, org: Org, seed: int, workers: int, start: date, end: date, forced: Sequence[ForcedHires] = ()
    ) -> None:
        self.org, self.seed, self.workers, self.start, self.end = org, seed, workers, start, end
        self.forced: Mapping[date, ForcedHires] = {f.month: f for f in forced}
        self._months = list(month_starts(start, end))
        self._slot = {m: i for i, m in enumerate(self._months)}
        self._starts = [0] * (len(self._months) + 1)
        self._ends = [0] * (len(self._months) + 1)

    def lives(self, until: date | None = None) -> Iterator[Life]:
        rng = random.Random(f"{self.seed}:plan")
        span = max((self.end - self.start).days, 1)  # a run of one day is all at its end
        index, active = 0, 0
        for slot, month in enumerate(self._months):
            if until is not None and month > until:
                return
            last = min(month_end(month), self.end)
            target = self.workers * _growth((last - self.start).days / span)
            deficit = target - (active + self._starts[slot] - self._ends[slot])
            wanted = max(0, round(deficit * _HIRE_SEASON.get(month.month, 0.85) * rng.uniform(0.9, 1.1)))
            batch = self.forced.get(month)
            if batch is not None and batch.month.replace(day=batch.first_day) <= last:  # not hired after the end
                for _ in range(batch.count):
                    index += 1
                    yield self._book(self._forced_life(index, batch))
                wanted = max(0, wanted - batch.count)
            for _ in range(wanted):
                index += 1
                yield self._book(self._life(index, month, last))
            active += self._starts[slot] - self._ends[slot]

    def _book(self, life: Life) -> Life:
        for spell in life.spells:
            self._starts[self._slot[spell.hire_date.replace(day=1)]] += 1
            if spell.end is not None:
                self._ends[self._slot[spell.end.replace(day=1)]] += 1
        return life

    def _life(self, index: int, month: date, last: date) -> Life:
        rng = random.Random(f"{self.seed}:w:{index}")
        hire = month.replace(day=rng.randint(1, last.day))
        channel = rng.choices(CHANNELS, _CHANNEL_WEIGHTS)[0]
        if channel == "enterprise_transfer" and hire.year < 2020:
            channel = "other"
        district = rng.choices(_DISTRICT_SLUGS, _DISTRICT_WEIGHTS)[0]
        gender = rng.choices(("female", "male", "undisclosed"), (0.7, 0.29, 0.01))[0]
        return self._draw(rng, index, hire, channel, district, gender)

    def _forced_life(self, index: int, batch: ForcedHires) -> Life:
        rng = random.Random(f"{self.seed}:w:{index}")
        hire = batch.month.replace(day=batch.first_day)
        district = rng.choice(batch.districts)
        gender = "male" if rng.random() < batch.male_share else "female"
        return self._draw(rng, index, hire, batch.channel, district, gender)

    def _draw(self, rng: random.Random, index: int, hire: date, channel: str, district: str, gender: str) -> Life:
        low, high = _AGE_AT_HIRE[channel]
        birth_year = hire.year - rng.randint(low, high)
        life = Life(index, f"W{index:06d}", gender, birth_year, [], rng)
        retire_age = 60 if gender == "male" else 55
        retirement = date(birth_year + retire_age, rng.randint(1, 12), rng.randint(1, 28))
        worker_pay = math.exp(rng.gauss(0, 0.06)) * _CHANNEL_PAY[channel]
        unit = self.org.place(rng, district, hire)
        spell = self._spell(rng, life, 1, hire, unit, channel, worker_pay, retirement)
        while spell.reason in _RETURNING and spell.end is not None and len(life.spells) < 3:
            if rng.random() >= 0.06:
                break
            rehire = spell.end + timedelta(days=rng.randint(180, 900))
            if rehire >= min(self.end, retirement):
                break
            same = rng.random() < 0.7
            district = self.org.district_of(spell.unit_on(spell.end)) if same else rng.choice(_DISTRICT_SLUGS)
            unit = self.org.place(rng, district, rehire)
            channel = spell.channel if rng.random() < 0.5 else "other"
            spell = self._spell(rng, life, len(life.spells) + 1, rehire, unit, channel, worker_pay, retirement)
        return life

    def _spell(
        self,
        rng: random.Random,
        life: Life,
        number: int,
        hire: date,
        unit: str,
        channel: str,
        worker_pay: float,
        retirement: date,
    ) -> Spell:
        spell = Spell(number, hire, unit, channel, _contract(rng, channel))
        life.spells.append(spell)
        base = 0
        for month in month_starts(hire, self.end):
            first = max(month, hire)
            last = min(month_end(month), self.end)
            current = spell.unit_on(first)
            district = self.org.district_of(current)
            if month.month == 1 or not spell.pay:
                tenure_years = (first - hire).days // 365
                base = _base_pay(first.year, district, tenure_years, worker_pay)
            allowances = _allowances(rng, first.year, district)
            spell.pay.append(Pay(first, base, allowances))
            retires = max(retirement, first)
            if retirement.replace(day=1) == month and retires <= last:  # after the end: still at work then
                _separate(spell, retires, "other", "retirement")
                return spell
            ratio = (base + allowances) / _reference_pay(first.year)
            months_in = (first.year - hire.year) * 12 + first.month - hire.month
            hazard = _hazard(ratio, months_in, channel) * ((last - first).days + 1) / last.day
            if rng.random() < hazard and first < last:
                day = first + timedelta(days=rng.randint(1, (last - first).days))
                kind, reason = _separation_reason(rng, ratio, channel)
                _maybe_transfer(rng, self.org, spell, first, day - timedelta(days=1))
                _separate(spell, day, kind, reason)
                return spell
            _maybe_transfer(rng, self.org, spell, first, last)
        return spell


def _separate(spell: Spell, day: date, kind: str, reason: str) -> None:
    spell.end, spell.kind, spell.reason = day, kind, reason


def _maybe_transfer(rng: random.Random, org: Org, spell: Spell, first: date, last: date) -> None:
    earliest = max(first, spell.hire_date + timedelta(days=1))
    if rng.random() >= 0.004 or earliest > last:
        return
    day = earliest + timedelta(days=rng.randint(0, (last - earliest).days))
    current = spell.unit_on(day)
    district = org.district_of(current)
    if rng.random() < 0.2:
        district = rng.choice(_DISTRICT_SLUGS)
    target = org.place(rng, district, day, street_share=0.2)
    if target != current:
        spell.transfers.append(Transfer(day, current, target))


def _contract(rng: random.Random, channel: str) -> str:
    if channel == "purchased_service":
        return "service_purchase" if rng.random() < 0.9 else "fixed_term"
    if channel == "retrained_union_staff":
        return "open_ended" if rng.random() < 0.45 else "fixed_term"
    return rng.choices(("fixed_term", "open_ended", "other"), (0.85, 0.1, 0.05))[0]


def _reference_pay(year: int) -> float:
    return 5300 * 1.045 ** (year - 2013)


def _base_pay(year: int, district: str, tenure_years: int, worker_pay: float) -> int:
    level = 4300 * 1.045 ** (year - 2013) * _PAY_FACTOR[district] * worker_pay
    return int(round(level * (1 + 0.02 * min(tenure_years, 10)), -1))


def _allowances(rng: random.Random, year: int, district: str) -> int:
    level = 900 * 1.04 ** (year - 2013) * _PAY_FACTOR[district]
    return max(0, int(round(level + rng.uniform(-150, 250), -1)))


def _hazard(pay_ratio: float, months_in: int, channel: str) -> float:
    if months_in < 12:
        tenure = 1.4
    elif months_in < 36:
        tenure = 1.0
    elif months_in < 60:
        tenure = 0.75
    else:
        tenure = 0.65
    return 0.0145 * math.exp(-3.0 * (pay_ratio - 1.0)) * tenure * _CHANNEL_HAZARD[channel]


def _separation_reason(rng: random.Random, pay_ratio: float, channel: str) -> tuple[str, str]:
    involuntary = 0.28 if channel == "purchased_service" else 0.12
    draw = rng.random()
    if draw < involuntary:
        return "involuntary", ("contract_end" if rng.random() < 0.75 else "dismissal")
    if draw < involuntary + 0.05:
        return "other", ("death" if rng.random() < 0.05 else "other")
    pay_weight = 0.25 * math.exp(-4.0 * (pay_ratio - 1.0))
    study = 0.18 if channel == "graduate" else 0.08
    weights = (pay_weight, 0.25, 0.14, 0.08, 0.12, study, 0.04)
    return "voluntary", rng.choices(_VOLUNTARY, weights)[0]
