"""A small seeded random event log (org tree, hires, transfers, pay, training, separations, corrections).

Only meant to exercise the oracle (and to compare it with the engine); not a realistic simulator.
"""

from __future__ import annotations

import random
import uuid
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


def synthetic_log(
    workers: int = 300, start: date = date(2021, 1, 1), end: date = date(2024, 12, 31), seed: int = 7
) -> list[EventRecord]:
    rng = random.Random(seed)
    events: list[EventRecord] = []

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
            hire_id = emit(
                "staffing.hired.v1",
                worker,
                {"org_unit_id": unit, "hire_date": day.isoformat(), "source_channel": rng.choice(CHANNELS),
                 "contract_type": "fixed_term", "gender": gender, "birth_year": birth},
                day,
            )  # fmt: skip
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
    return events
