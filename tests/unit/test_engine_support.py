"""Builders for the engine's hand-computed scenarios (no tests here)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.metrics.engine import EventRecord, IndicatorRow, ReferenceWage, compute
from services.metrics.engine.compute import ComputeResult

T0 = datetime(2030, 1, 1, tzinfo=UTC)


class Log:
    """An event log written in order; ids e0001, e0002, ... and emitted_at one minute apart."""

    def __init__(self) -> None:
        self.events: list[EventRecord] = []

    def add(self, event_type: str, worker: str, data: dict[str, Any]) -> str:
        n = len(self.events) + 1
        eid = f"e{n:04d}"
        at = T0 + timedelta(minutes=n)
        self.events.append(EventRecord(eid, event_type, at, at, worker, data))
        return eid

    def unit(self, unit_id: str, parent: str | None = None, model: str | None = None, level: str = "street") -> str:
        data = {"unit_id": unit_id, "parent_id": parent, "level": level, "name_zh": unit_id, "name_en": None,
                "service_model": model, "effective_date": "2000-01-01"}  # fmt: skip
        return self.add("org.unit_registered.v1", "", data)

    def hire(
        self, worker: str, day: str, unit: str = "U", *, channel: str = "graduate", gender: str = "female",
        birth_year: int = 1990, level: int | None = None,
    ) -> str:  # fmt: skip
        data = {"org_unit_id": unit, "hire_date": day, "source_channel": channel, "contract_type": "fixed_term",
                "gender": gender, "birth_year": birth_year}  # fmt: skip
        if level is not None:
            data["grade_level"] = level
        return self.add("staffing.hired.v1", worker, data)

    def grade(self, worker: str, day: str, level: int, title: str | None = None) -> str:
        data = {"effective_date": day, "new_level": level, "title": title}
        return self.add("staffing.grade_changed.v1", worker, data)

    def transfer(self, worker: str, day: str, from_unit: str, to_unit: str) -> str:
        data = {"from_unit_id": from_unit, "to_unit_id": to_unit, "effective_date": day}
        return self.add("staffing.transferred.v1", worker, data)

    def separate(self, worker: str, day: str, kind: str = "voluntary", reason: str = "pay") -> str:
        data = {"separation_date": day, "kind": kind, "reason": reason, "note": None}
        return self.add("turnover.separated.v1", worker, data)

    def pay(self, worker: str, day: str, base: str, allowances: str = "0", hours: str = "40") -> str:
        data = {"effective_date": day, "monthly_base": base, "allowances": allowances, "currency": "CNY",
                "weekly_hours": hours}  # fmt: skip
        return self.add("staffing.pay_set.v1", worker, data)

    def train(self, worker: str, end: str, kind: str = "rotation", hours: str = "8") -> str:
        data = {"course_id": "c1", "class_id": "k1", "kind": kind, "start_date": end, "end_date": end,
                "hours": hours, "passed": True}  # fmt: skip
        return self.add("training.completed.v1", worker, data)

    def retract(self, target: str) -> str:
        return self.add("correction.retracted.v1", "", {"target_event_id": target, "reason": None})

    def amend(self, target: str, **changes: Any) -> str:
        return self.add("correction.amended.v1", "", {"target_event_id": target, "changes": changes, "reason": None})

    def run(
        self, as_of: str, k: int = 1, refs: tuple[ReferenceWage, ...] = (), levels: frozenset[str] | None = None
    ) -> Result:
        day = date.fromisoformat(as_of)
        return Result(compute(self.events, as_of=day, k=k, reference_wages=refs, org_levels=levels))


class Result:
    """Rows of a compute result looked up by key."""

    def __init__(self, result: ComputeResult) -> None:
        self.result = result
        self.rows = {(r.indicator, r.period_kind, r.period, r.dimension, r.slice, r.category): r for r in result.rows}

    def row(
        self, indicator: str, period: str, *, kind: str = "month", dim: str = "all", sl: str = "all", cat: str = ""
    ) -> IndicatorRow:
        return self.rows[(indicator, kind, date.fromisoformat(period), dim, sl, cat)]

    def value(self, indicator: str, period: str, **kw: str) -> float | None:
        return self.row(indicator, period, **kw).value

    def has(self, indicator: str, period: str, *, kind: str = "month", dim: str = "all", sl: str = "all",
            cat: str = "") -> bool:  # fmt: skip
        return (indicator, kind, date.fromisoformat(period), dim, sl, cat) in self.rows

    def anomalies(self) -> list[tuple[str, str]]:
        return [(a.event_id, a.reason) for a in self.result.anomalies]
