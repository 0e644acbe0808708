"""The production engine and the naive oracle agree on every cell of small seeded logs (no servers).

Two sources of logs: ``tests/oracle/synth.py`` (edge cases: transfers, same-day rehires, corrections,
unregistered units, pay before hire) and the simulator (``services.sim``) converted as ingest would convert it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from functools import cache

import pytest

from schemas import parse_event
from services.ingest.pseudonymise import Pseudonymiser
from services.metrics.engine import EventRecord, ReferenceWage, compute
from services.sim import SimConfig, generate
from tests.oracle import oracle_compute
from tests.oracle.compare import cells, differences
from tests.oracle.synth import synthetic_log
from tests.unit.test_engine_support import Log

SYNTH_AS_OF = date(2022, 12, 20)  # events continue after it; December is a partial month
SIM_AS_OF = date(2024, 6, 30)
REFS = (
    ReferenceWage("all", 2021, 90000.0, "test"),
    ReferenceWage("all", 2022, 95000.0, "test"),
    ReferenceWage("D0", 2021, 80000.0, "test"),
)
PUBLISHED = frozenset({"district", "street"})  # the service's default: no second-tier slices


@cache
def _synth(seed: int) -> tuple[EventRecord, ...]:
    return tuple(synthetic_log(workers=40, start=date(2021, 1, 1), end=date(2023, 1, 31), seed=seed))


@cache
def _sim(seed: int) -> tuple[EventRecord, ...]:
    """The simulator's log as the engine reads it back from ClickHouse: validated payloads, pseudonymised ids."""
    now = datetime.combine(SIM_AS_OF + timedelta(days=1), datetime.min.time(), tzinfo=UTC).replace(hour=12)
    pseudonymise = Pseudonymiser(b"k" * 40)
    config = SimConfig(workers=40, start_year=2022, end=SIM_AS_OF, seed=seed, scenario=False)
    out = []
    for envelope in generate(config):
        event = parse_event(json.dumps(envelope, ensure_ascii=False), now=now)
        out.append(
            EventRecord(
                str(event.event_id),
                event.event_type,
                event.occurred_at,
                event.emitted_at,
                pseudonymise(getattr(event, "worker_id", None)),
                event.data.model_dump(mode="json"),
            )
        )
    return tuple(out)


def _assert_agree(
    events: tuple[EventRecord, ...],
    as_of: date,
    k: int,
    refs: tuple[ReferenceWage, ...],
    levels: frozenset[str] | None = None,
) -> None:
    expected = cells(oracle_compute(events, as_of=as_of, k=k, reference_wages=refs, org_levels=levels))
    actual = cells(compute(events, as_of=as_of, k=k, reference_wages=refs, org_levels=levels).rows)
    assert expected, "the oracle produced no rows"
    problems = differences(expected, actual, limit=40)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("seed", [1, 7, 23])
def test_synthetic_log_matches_oracle(seed: int, k: int) -> None:
    _assert_agree(_synth(seed), SYNTH_AS_OF, k, REFS)


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("seed", [11, 4])
def test_simulated_log_matches_oracle(seed: int, k: int) -> None:
    _assert_agree(_sim(seed), SIM_AS_OF, k, ())


@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("seed", [1, 7, 23])
def test_synthetic_log_with_published_levels_matches_oracle(seed: int, k: int) -> None:
    _assert_agree(_synth(seed), SYNTH_AS_OF, k, REFS, PUBLISHED)


@pytest.mark.parametrize("seed", [11, 4])
def test_simulated_log_with_published_levels_matches_oracle(seed: int) -> None:
    _assert_agree(_sim(seed), SIM_AS_OF, 5, (), PUBLISHED)


def _edge_log() -> tuple[EventRecord, ...]:
    """Hand-written corner cases the random logs hit rarely (see the contract's "Decisions")."""
    log = Log()
    log.unit("D", None, None, level="district")
    log.unit("S", "D")
    log.unit("T1", "S", "park", level="second_tier")
    log.unit("T2", "S", "enterprise", level="second_tier")
    log.unit("X", "GHOST", "community", level="second_tier")  # parent never registered
    log.add(
        "org.unit_changed.v1",
        "",
        {
            "unit_id": "T2",
            "parent_id": "S",
            "level": "second_tier",
            "name_zh": "T2",
            "name_en": None,
            "service_model": "building",
            "effective_date": "2001-01-01",
        },
    )
    # same-day separation and rehire on a month's first day, into another unit and channel
    log.pay("a", "2020-01-05", "5000", "300")  # pay agreed before the hire
    log.hire("a", "2020-01-10", "T1", channel="graduate", gender="male", birth_year=1995)
    log.train("a", "2020-02-20", kind="initial")
    log.separate("a", "2021-03-01", kind="voluntary", reason="pay")
    log.hire("a", "2021-03-01", "T2", channel="other", gender="male", birth_year=1995)
    log.pay("a", "2021-03-01", "6000")
    log.train("a", "2021-03-01", kind="rotation")
    # ... and on 1 January
    log.hire("b", "2020-02-15", "T1", channel="retrained_union_staff", gender="female", birth_year=1970)
    log.pay("b", "2020-02-15", "4000", "100", hours="35")
    log.separate("b", "2022-01-01", kind="involuntary", reason="contract_end")
    log.hire("b", "2022-01-01", "X", channel="purchased_service", gender="female", birth_year=1970)
    # transfers: to an unregistered unit, back, two on one day, to the current unit (anomaly)
    log.hire("c", "2020-01-01", "T2", gender="female", birth_year=2000)
    log.pay("c", "2020-01-01", "3000")
    log.transfer("c", "2020-06-15", "T2", "UNREG")
    log.transfer("c", "2020-06-20", "UNREG", "T1")
    log.transfer("c", "2020-08-01", "T1", "T2")
    log.transfer("c", "2020-08-01", "T2", "X")
    log.transfer("c", "2020-09-01", "X", "X")
    log.separate("c", "2021-12-31", kind="other", reason="retirement")
    # amended hire date, retracted separation, pay after as_of, training not passed
    hire_d = log.hire("d", "2020-01-01", "T1", gender="undisclosed", birth_year=1980)
    log.amend(hire_d, hire_date="2020-01-05")
    log.retract(log.separate("d", "2021-05-05"))
    log.pay("d", "2020-01-05", "7000", "700")
    log.pay("d", "2023-01-05", "9000")
    log.add("training.completed.v1", "d", {"course_id": "c", "class_id": "k", "kind": "initial",
                                          "start_date": "2020-03-01", "end_date": "2020-03-02", "hours": "16",
                                          "passed": False})  # fmt: skip
    # a one-day spell, then a rehire; anomalies
    log.hire("e", "2020-04-01", "T2", gender="male", birth_year=1990)
    log.separate("e", "2020-04-01", kind="voluntary", reason="workload")
    log.hire("e", "2020-05-01", "T2", gender="male", birth_year=1990)
    log.hire("e", "2020-06-01", "T1")  # hire while employed
    log.separate("f", "2020-03-01")  # separation of a worker never hired
    log.hire("g", "2023-01-10", "T1")  # after as_of
    # filler so that k = 3 and 5 leave something published
    for n in range(8):
        w = f"h{n}"
        log.hire(w, f"2020-0{1 + n % 3}-0{1 + n}", ("T1", "T2", "X")[n % 3], gender=("male", "female")[n % 2],
                 birth_year=1975 + 3 * n, channel=("graduate", "other")[n % 2])  # fmt: skip
        log.pay(w, f"2020-0{1 + n % 3}-0{1 + n}", str(3000 + 500 * n), str(50 * n))
        log.pay(w, "2021-07-01", str(3300 + 500 * n))
        log.train(w, f"2020-0{4 + n % 3}-1{n}", kind=("initial", "rotation", "site_visit")[n % 3], hours=str(n + 1))
        if n % 4 == 3:
            log.separate(w, f"2021-0{n // 4 + 2}-28", kind=("voluntary", "other")[n % 2])
    # equal pay written differently: 3000.1 + 0.2 == 3000.3 + 0 (a tie in the quartile ranking, by worker key)
    for w, base, allowances in (("p1", "3000.1", "0.2"), ("p0", "3000.3", "0"), ("p2", "3000.3", "0.00")):
        log.hire(w, "2020-01-02", "T1", gender="female" if w == "p1" else "male")
        log.pay(w, "2020-01-02", base, allowances)
    return tuple(log.events)


EDGE_REFS = (
    ReferenceWage("all", 2020, 50000.0, "first load"),
    ReferenceWage("all", 2020, 60000.0, "reloaded"),  # the later load of a region-year wins
    ReferenceWage("S", 2021, 70000.0, "NBS"),
    ReferenceWage("NOPE", 2021, 70000.0, "NBS"),
)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_edge_cases_match_oracle(k: int) -> None:
    _assert_agree(_edge_log(), date(2022, 12, 20), k, EDGE_REFS)


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("levels", [PUBLISHED, frozenset({"district"}), frozenset({"second_tier"})])
def test_edge_cases_with_published_levels_match_oracle(k: int, levels: frozenset[str]) -> None:
    _assert_agree(_edge_log(), date(2022, 12, 20), k, EDGE_REFS, levels)
