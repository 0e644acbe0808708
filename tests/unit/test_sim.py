"""The simulator: determinism, contract validity, the seed scenario's published totals, employment logic."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas import EventError, parse_event, validate_many
from services.sim.cli import main
from services.sim.generate import SimConfig, generate
from services.sim.grades import LADDER
from services.sim.lives import month_end
from services.sim.scenario import BAOWU, COMPETITION, INITIAL_CLASSES, ROTATION_CLASSES

NOW = datetime(2026, 11, 1, tzinfo=UTC)
DATE_FIELD = {
    "staffing.hired.v1": "hire_date",
    "staffing.pay_set.v1": "effective_date",
    "staffing.transferred.v1": "effective_date",
    "turnover.separated.v1": "separation_date",
    "training.completed.v1": "end_date",
    "staffing.grade_changed.v1": "effective_date",
}
GRADE = "staffing.grade_changed.v1"
Event = dict[str, Any]


def _lines(events: Iterator[Event]) -> Iterator[bytes]:
    for event in events:
        yield json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return list(generate(SimConfig()))


@pytest.fixture(scope="module")
def retracted(events: list[Event]) -> set[str]:
    return {e["data"]["target_event_id"] for e in events if e["event_type"] == "correction.retracted.v1"}


@pytest.fixture(scope="module")
def units(events: list[Event]) -> dict[str, dict[str, Any]]:
    return {e["data"]["unit_id"]: e["data"] for e in events if e["event_type"] == "org.unit_registered.v1"}


@pytest.fixture(scope="module")
def by_worker(events: list[Event], retracted: set[str]) -> dict[str, list[Event]]:
    workers: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        if event["worker_id"] is not None and event["event_id"] not in retracted:
            workers[event["worker_id"]].append(event)
    return workers


def _district(units: dict[str, dict[str, Any]], unit_id: str) -> str:
    parent: str | None = units[unit_id]["parent_id"]
    while parent is not None:
        unit_id, parent = parent, units[parent]["parent_id"]
    return unit_id


def _unit_on(worker_events: list[Event], day: str) -> str:
    moves: list[tuple[str, str]] = [
        (e["data"][DATE_FIELD[e["event_type"]]], e["data"].get("org_unit_id") or e["data"]["to_unit_id"])
        for e in worker_events
        if e["event_type"] in ("staffing.hired.v1", "staffing.transferred.v1")
    ]
    return [unit for when, unit in sorted(moves) if when <= day][-1]


def _trainings(events: list[Event], retracted: set[str], kind: str) -> list[Event]:
    return [
        e
        for e in events
        if e["event_type"] == "training.completed.v1" and e["data"]["kind"] == kind and e["event_id"] not in retracted
    ]


def test_same_seed_same_output_and_other_seed_differs() -> None:
    config = SimConfig(workers=120, start_year=2018, end=date(2021, 12, 31))
    first = hashlib.sha256(b"\n".join(_lines(generate(config)))).hexdigest()
    again = hashlib.sha256(b"\n".join(_lines(generate(config)))).hexdigest()
    other = hashlib.sha256(b"\n".join(_lines(generate(SimConfig(120, 2018, date(2021, 12, 31), seed=2)))))
    assert first == again
    assert other.hexdigest() != first


def test_generate_is_a_lazy_iterator() -> None:
    stream = generate(SimConfig())
    assert iter(stream) is stream
    assert next(stream)["event_type"] == "org.unit_registered.v1"


def test_every_event_is_valid_per_contract(events: list[Event]) -> None:
    results = validate_many(list(_lines(iter(events))), now=NOW)
    errors = [r for r in results if isinstance(r, EventError)]
    assert errors == []
    assert len({e["event_id"] for e in events}) == len(events)


def test_org_tree(events: list[Event], units: dict[str, dict[str, Any]]) -> None:
    first_other = next(i for i, e in enumerate(events) if e["event_type"] != "org.unit_registered.v1")
    assert first_other == len(units)
    levels = Counter(u["level"] for u in units.values())
    assert levels["district"] == 16
    assert 16 * 3 <= levels["street"] <= 16 * 15
    assert levels["second_tier"] >= 1000
    assert "浦东新区总工会" in {u["name_zh"] for u in units.values()}
    tier = [u for u in units.values() if u["level"] == "second_tier"]
    assert all(u["service_model"] in {"enterprise", "building", "park", "community"} for u in tier)
    assert all(units[u["parent_id"]]["level"] == "street" for u in tier)


def test_seed_scenario_training_totals(events: list[Event], retracted: set[str]) -> None:
    def in_2019_2022(kind: str) -> list[Event]:
        found = _trainings(events, retracted, kind)
        return [e for e in found if "2019-01-01" <= e["data"]["end_date"] <= "2022-12-31"]

    initial, rotation = in_2019_2022("initial"), in_2019_2022("rotation")
    assert (len(initial), len({e["data"]["class_id"] for e in initial})) == (163, 4)
    assert (len(rotation), len({e["data"]["class_id"] for e in rotation})) == (949, 14)


def test_seed_scenario_baowu_transfer(events: list[Event], units: dict[str, dict[str, Any]]) -> None:
    baowu = [
        e
        for e in events
        if e["event_type"] == "staffing.hired.v1"
        and e["data"]["source_channel"] == "enterprise_transfer"
        and e["data"]["hire_date"].startswith("2019-03")
    ]
    assert len(baowu) == 26
    assert {_district(units, e["data"]["org_unit_id"]) for e in baowu} <= {"D-BAOSHAN", "D-YANGPU"}


def test_seed_scenario_skills_competition(
    events: list[Event], retracted: set[str], units: dict[str, dict[str, Any]], by_worker: dict[str, list[Event]]
) -> None:
    contestants = _trainings(events, retracted, "skills_competition")
    assert len(contestants) == 38
    assert len({e["worker_id"] for e in contestants}) == 38
    districts = {_district(units, _unit_on(by_worker[e["worker_id"]], e["data"]["end_date"])) for e in contestants}
    assert len(districts) == 12


def test_headcount_at_end_near_target(by_worker: dict[str, list[Event]]) -> None:
    employed = 0
    for worker_events in by_worker.values():
        kinds = Counter(e["event_type"] for e in worker_events)
        employed += kinds["staffing.hired.v1"] - kinds["turnover.separated.v1"]
    assert 900 <= employed <= 1100


def _spells(worker_events: list[Event]) -> list[tuple[str, str]]:
    hires = sorted(e["data"]["hire_date"] for e in worker_events if e["event_type"] == "staffing.hired.v1")
    ends = sorted(e["data"]["separation_date"] for e in worker_events if e["event_type"] == "turnover.separated.v1")
    assert len(ends) in (len(hires), len(hires) - 1)
    assert all(h <= e for h, e in zip(hires, ends, strict=False))
    assert all(e < h for e, h in zip(ends, hires[1:], strict=False))
    return list(zip(hires, [*ends, "9999-12-31"], strict=False))


def test_worker_events_fall_inside_employment(by_worker: dict[str, list[Event]]) -> None:
    for worker_id, worker_events in by_worker.items():
        spells = _spells(worker_events)
        for event in worker_events:
            day = event["data"][DATE_FIELD[event["event_type"]]]
            assert any(start <= day <= end for start, end in spells), (worker_id, event)


def test_transfers_follow_the_same_day_rules(by_worker: dict[str, list[Event]]) -> None:
    for worker_events in by_worker.values():
        hire_dates = {e["data"]["hire_date"] for e in worker_events if e["event_type"] == "staffing.hired.v1"}
        for event in worker_events:
            if event["event_type"] == "staffing.transferred.v1":
                data = event["data"]
                assert data["effective_date"] not in hire_dates
                assert _unit_on(worker_events, data["effective_date"]) == data["to_unit_id"]
                assert data["from_unit_id"] != data["to_unit_id"]


# Issue 16: grades on hires and grade changes (docs/contract.md "Grade changes").

_GradeSpell = tuple[Event, str, list[Event]]


def _grade_spells(worker_events: list[Event]) -> Iterator[_GradeSpell]:
    """(hire event, last day, grade changes dated in the spell by date) of each spell; the sweep's end for the last."""
    hires = {e["data"]["hire_date"]: e for e in worker_events if e["event_type"] == "staffing.hired.v1"}
    changes = sorted((e for e in worker_events if e["event_type"] == GRADE), key=lambda e: e["data"]["effective_date"])
    for start, end in _spells(worker_events):
        inside = [e for e in changes if start <= e["data"]["effective_date"] <= end]
        yield hires[start], min(end, SimConfig.end.isoformat()), inside


def test_grade_changes_follow_the_contract_rules(by_worker: dict[str, list[Event]]) -> None:
    """Never on a hire date, at most one a day, never to the level and title already held; each in a spell (the
    test above), none after the end (the sweeps below)."""
    for worker_id, worker_events in by_worker.items():
        hire_dates = {e["data"]["hire_date"] for e in worker_events if e["event_type"] == "staffing.hired.v1"}
        days = [e["data"]["effective_date"] for e in worker_events if e["event_type"] == GRADE]
        assert len(days) == len(set(days)), worker_id
        assert not hire_dates & set(days), worker_id
        for hire, _, changes in _grade_spells(worker_events):
            held = (hire["data"].get("grade_level"), None)
            for change in changes:
                new = (change["data"]["new_level"], change["data"]["title"])
                assert new != held, (worker_id, change)
                held = new


def test_grades_exercise_every_path(events: list[Event], by_worker: dict[str, list[Event]]) -> None:
    """Hires at 1 and 2, with a null or absent level; promotions, demotions, lateral retitles, first levels and
    blank titles all occur; a rehire comes back at the level last held; every title is the ladder's."""
    hire_levels = Counter(
        e["data"].get("grade_level", "absent") for e in events if e["event_type"] == "staffing.hired.v1"
    )
    assert hire_levels[1] > 0.8 * hire_levels.total()
    assert hire_levels[2] > 0.05 * hire_levels.total()
    assert 0 < hire_levels[None] + hire_levels["absent"] < 0.08 * hire_levels.total()
    assert hire_levels[None] > 0 and hire_levels["absent"] > 0
    kinds: Counter[str] = Counter()
    titles = {title for rung in LADDER for title in rung.titles}
    for worker_events in by_worker.values():
        held: int | None = None
        for n, (hire, _, changes) in enumerate(_grade_spells(worker_events)):
            if n:
                assert hire["data"].get("grade_level") == held
            held = hire["data"].get("grade_level")
            for change in changes:
                level, title = change["data"]["new_level"], change["data"]["title"]
                assert title is None or title in titles
                kinds["first" if held is None else "up" if level > held else "down" if level < held else "same"] += 1
                kinds["blank title"] += title is None
                held = level
    assert all(kinds[kind] > 0 for kind in ("first", "up", "down", "same", "blank title")), kinds
    assert kinds["down"] < 0.05 * kinds["up"]


def _promotions(hire: Event, changes: list[Event]) -> list[Event]:
    """The changes of a spell to a higher level than the one held the day before."""
    held, out = hire["data"].get("grade_level"), []
    for change in changes:
        level = change["data"]["new_level"]
        if held is not None and level > held:
            out.append(change)
        held = level
    return out


def _promotions_per_worker_year(by_worker: dict[str, list[Event]]) -> tuple[list[float], dict[bool, float]]:
    """Promotions per worker-year of service, by year of service in the spell (the last: six or more) and by whether
    the spell came through purchased_service."""
    by_year, years = [0] * 7, [0.0] * 7
    by_purchase, purchase_years = {False: 0, True: 0}, {False: 0.0, True: 0.0}
    for worker_events in by_worker.values():
        for hire, last, changes in _grade_spells(worker_events):
            start = date.fromisoformat(hire["data"]["hire_date"])
            purchased = hire["data"]["source_channel"] == "purchased_service"
            days = (date.fromisoformat(last) - start).days + 1
            for year in range(days // 365 + 1):
                years[min(year, 6)] += min(365, days - 365 * year) / 365
            purchase_years[purchased] += days / 365
            for change in _promotions(hire, changes):
                by_year[min((date.fromisoformat(change["data"]["effective_date"]) - start).days // 365, 6)] += 1
                by_purchase[purchased] += 1
    return [n / y for n, y in zip(by_year, years, strict=True)], {
        k: by_purchase[k] / purchase_years[k] for k in (False, True)
    }


def test_promotions_rise_with_tenure_and_are_rarer_for_purchased_service(by_worker: dict[str, list[Event]]) -> None:
    by_year, by_purchase = _promotions_per_worker_year(by_worker)
    assert by_year[0] < 0.03  # rarely in the first year
    assert by_year[0] < by_year[1] < min(by_year[2], by_year[3])
    assert max(by_year) in (by_year[2], by_year[3])  # most often in the third and fourth years
    assert by_year[2] > 4 * by_year[0]
    assert by_purchase[True] < 0.6 * by_purchase[False]


def test_promotions_per_year_are_plausible(by_worker: dict[str, list[Event]]) -> None:
    """At the full scale (2021-2025, about 900-1,000 workers), 6-12 % of the headcount is promoted a year."""
    promotions = sum(
        "2021" <= change["data"]["effective_date"][:4] <= "2025"
        for worker_events in by_worker.values()
        for hire, _, changes in _grade_spells(worker_events)
        for change in _promotions(hire, changes)
    )
    assert 0.06 * 5 * 900 <= promotions <= 0.12 * 5 * 1000


def test_grades_leave_every_other_event_as_it_was(events: list[Event]) -> None:
    """Grade changes have their own random generator and numbering: without them, and without the hires'
    grade_level, the stream is the one generated with grades off (the stream before issue 16)."""

    def without_grades(event: Event) -> Event:
        data = {key: value for key, value in event["data"].items() if key != "grade_level"}
        return {**event, "data": data}

    stripped = [without_grades(e) for e in events if e["event_type"] != GRADE]
    assert stripped == list(generate(dataclasses.replace(SimConfig(), grades=False)))
    assert len(stripped) < len(events)


def test_corrections_target_earlier_events_and_still_validate(events: list[Event]) -> None:
    seen: dict[str, Event] = {}
    corrections = 0
    for event in events:
        if event["event_type"].startswith("correction."):
            corrections += 1
            target = seen[event["data"]["target_event_id"]]
            assert not target["event_type"].startswith("correction.")
            assert event["emitted_at"] > target["emitted_at"]
            changes = event["data"].get("changes")
            if changes is not None:
                assert set(changes) <= set(target["data"])
                amended = {**target, "data": {**target["data"], **changes}}
                parse_event(json.dumps(amended, ensure_ascii=False), now=NOW)
        seen[event["event_id"]] = event
    assert 50 <= corrections <= 0.01 * len(events)


def test_late_events_and_order(events: list[Event]) -> None:
    late = sum(1 for e in events if e["emitted_at"][:10] > e["occurred_at"][:10])
    assert 0.03 <= late / len(events) <= 0.1
    occurred = [e["occurred_at"] for e in events]
    assert occurred != sorted(occurred)
    assert max(e["emitted_at"] for e in events) < "2026-11-01"


def test_pay_range_and_raises(events: list[Event]) -> None:
    totals = [
        float(e["data"]["monthly_base"]) + float(e["data"]["allowances"])
        for e in events
        if e["event_type"] == "staffing.pay_set.v1"
    ]
    totals.sort()
    assert totals[len(totals) // 100] >= 4000
    assert totals[len(totals) * 99 // 100] <= 13000
    assert {e["data"]["weekly_hours"] for e in events if e["event_type"] == "staffing.pay_set.v1"} == {40}


def test_initial_training_mostly_within_first_month_outside_scenario_years(
    by_worker: dict[str, list[Event]],
) -> None:
    hires = on_time = 0
    for worker_events in by_worker.values():
        first = min(e["data"]["hire_date"] for e in worker_events if e["event_type"] == "staffing.hired.v1")
        if not ("2014-01-01" <= first <= "2018-06-30" or "2023-01-01" <= first <= "2026-06-30"):
            continue
        hires += 1
        ends = [e["data"]["end_date"] for e in worker_events if e["data"].get("kind") == "initial"]
        on_time += any((date.fromisoformat(end) - date.fromisoformat(first)).days <= 30 for end in ends)
    assert on_time / hires > 0.7


def test_cli_writes_jsonl_and_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "events.jsonl"
    argv = [
        "generate",
        "--out",
        str(out),
        "--workers",
        "60",
        "--start-year",
        "2020",
        "--end",
        "2021-06-30",
        "--scenario",
        "none",
        "--stats",
        "--quiet",
    ]
    assert main(argv) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    counts = Counter(json.loads(line)["event_type"] for line in lines)
    stdout = capsys.readouterr().out
    stats = {line.split()[0]: int(line.split()[1].replace(",", "")) for line in stdout.splitlines()}
    assert stats["staffing.hired.v1"] == counts["staffing.hired.v1"] > 0
    assert stats["total"] == len(lines)
    assert "总工会" in lines[0]
    assert all(not isinstance(r, EventError) for r in validate_many([line.encode() for line in lines], now=NOW))


def test_a_short_run_emits_nothing_dated_after_its_end() -> None:
    """Org units that open after the simulated end are not registered (they would be future-dated)."""
    import json as _json
    from datetime import UTC as _UTC
    from datetime import date as _date
    from datetime import datetime as _datetime

    from schemas import EventError as _EventError
    from schemas import validate_many as _validate_many
    from services.sim import SimConfig as _SimConfig
    from services.sim import generate as _generate

    end = _date(2024, 6, 30)
    bodies = [_json.dumps(e).encode() for e in _generate(_SimConfig(workers=40, start_year=2022, end=end, seed=3))]
    now = _datetime(2024, 7, 1, 12, tzinfo=_UTC)
    errors = [r for r in _validate_many(bodies, now=now) if isinstance(r, _EventError)]
    assert errors == []


# Issue 11: whatever the end date, nothing the simulator emits may be dated after it (ingest refuses the future).

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _boundaries() -> list[date]:
    """The first simulated day, the month ends of 2026, every year end, 29 February, and the day before and of each
    published scenario date (the Baowu hires, each class's last day)."""
    days = {date(2013, 1, 1), date(2016, 2, 29), date(2020, 2, 29), date(2024, 2, 29), date(2026, 12, 5)}
    days.update(month_end(date(2026, month, 1)) for month in range(1, 13))
    days.update(date(year, 12, 31) for year in range(2013, 2027))
    baowu = BAOWU.month.replace(day=BAOWU.first_day)
    for day in [baowu] + [c.end for c, _ in INITIAL_CLASSES + ROTATION_CLASSES] + [COMPETITION.end]:
        days.update((day - timedelta(days=1), day))
    return sorted(days)


def _after_end(event: Event, end: date) -> list[str]:
    """Every date (or birth year) of the event later than ``end`` allows, as ingest reads them (schemas/envelope)."""
    last = end.isoformat()
    late = [f"{key}={event[key]}" for key in ("occurred_at", "emitted_at") if event[key][:10] > last]
    for key, value in event["data"].items():
        if isinstance(value, str) and _DAY.match(value) and value[:10] > last:
            late.append(f"data.{key}={value}")
    if event["data"].get("birth_year", 0) > end.year - 15:
        late.append(f"data.birth_year={event['data']['birth_year']}")
    return late


def _sweep(ends: list[date], workers: int, seed_of: Callable[[date], int]) -> tuple[list[str], Counter[str]]:
    """(events dated after their run's end, the retirements and grade changes dated in the end's month) over one run
    per end date."""
    problems: list[str] = []
    reached: Counter[str] = Counter()
    for end in ends:
        for event in generate(SimConfig(workers=workers, end=end, seed=seed_of(end))):
            problems.extend(f"end {end}: {event['event_type']} {late}" for late in _after_end(event, end))
            data = event["data"]
            if data.get("reason") == "retirement" and data["separation_date"][:7] == end.isoformat()[:7]:
                reached["retirement"] += 1
            if event["event_type"] == GRADE and data["effective_date"][:7] == end.isoformat()[:7]:
                reached["grade change"] += 1
                reached["grade change on the end day"] += data["effective_date"] == end.isoformat()
    return problems, reached


def test_no_event_is_dated_after_the_end_on_any_day_of_a_leap_year() -> None:
    """Every day of 2024 (29 February included), seed scenario on, a different seed each day so that
    retirements, separations, grade changes and late deliveries fall in many end months."""
    problems, reached = _sweep(_days(date(2024, 1, 1), date(2024, 12, 31)), 8, lambda day: day.toordinal())
    assert problems[:10] == []
    assert reached["retirement"] >= 5  # the sweep does reach workers retiring in the month it ends
    assert reached["grade change"] >= 5, reached  # and grade changes in the month it ends


def test_no_event_is_dated_after_the_end_at_month_ends_year_ends_and_scenario_dates() -> None:
    problems, _ = _sweep(_boundaries(), 8, lambda day: 1)
    assert problems[:10] == []


def test_the_demo_of_issue_11_emits_nothing_after_its_day() -> None:
    """The demo's default scale on 2026-12-05 emitted a retirement dated 2026-12-17, which ingest refused."""
    problems, _ = _sweep([date(2026, 12, 5)], 1000, lambda day: 1)
    assert problems == []
