"""The warehouse path (issue 13) against the reference engine, on a real ClickHouse: the flow and training
families' cells and the rolling-12 windows' (value, numerator, denominator, population, primary flag) equal cell by
cell, on the edge-case logs of ``tests/oracle`` and on the simulator, at k = 1 and 5, with every org level and with
the service's default levels. Each aggregation also runs alone on a hand-made log whose answer is written out.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import pytest

from services.common.clickhouse import ConnectClickHouse
from services.metrics.engine import EventRecord, IndicatorRow, ReferenceWage
from services.metrics.engine.cells import PERCENTS, percentile, sample
from services.metrics.engine.compute import _Engine
from services.metrics.engine.dates import month_index
from services.metrics.engine.log import EventLog
from services.metrics.engine.orgs import build_org_tree
from services.metrics.warehouse.career import LEVEL_MIX, PROMOTED_WITHIN, PROMOTION_GROUPS
from services.metrics.warehouse.compute import warehouse_table
from services.metrics.warehouse.facts import facts_of
from services.metrics.warehouse.pay import PAID_ON, QUITS_BY_BAND, TOTALS_ON, as_sample, sampled
from services.metrics.warehouse.queries import HEADCOUNT_ON, TRANSFERS
from services.metrics.warehouse.retention import COHORTS, COVERED, RETAINED, TENURE_CURRENT, TENURE_LEAVERS
from services.metrics.warehouse.store import Warehouse, load_workers
from services.metrics.warehouse.training import TRAININGS
from tests.oracle.compare import cells, differences
from tests.oracle.synth import synthetic_log
from tests.unit.test_engine_support import Log
from tests.unit.test_engine_vs_oracle import PUBLISHED, REFS, SIM_AS_OF, SYNTH_AS_OF, _sim

from .servers import Servers

EPOCH = date(2000, 1, 1)  # a `since` before every fact of these logs


@pytest.fixture
def warehouse_store(servers: Servers) -> Iterator[ConnectClickHouse]:
    """A database of its own (the fact tables are a working area, reset by every run)."""
    name = f"wh_{uuid.uuid4().hex[:12]}"
    client = ConnectClickHouse.connect(servers.clickhouse_url, database=name, user="default", password="")
    yield client
    client.command(f"DROP DATABASE IF EXISTS {name}")
    client.close()


def _reference(
    events: tuple[EventRecord, ...],
    as_of: date,
    k: int,
    levels: frozenset[str] | None,
    refs: Sequence[ReferenceWage] = (),
) -> list[IndicatorRow]:
    prepared = EventLog(events).prepared()
    org = build_org_tree(prepared.org_events, levels)
    assert prepared.first_date is not None
    table = _Engine(org, list(prepared.workers), month_index(prepared.first_date), as_of, k).run(refs)
    return table.rows()


def _assert_equal(
    store: ConnectClickHouse, events: tuple[EventRecord, ...], as_of: date, k: int, levels: frozenset[str] | None
) -> None:
    prepared = EventLog(events).prepared()
    org = build_org_tree(prepared.org_events, levels)
    expected = cells(_reference(events, as_of, k, levels, REFS))
    actual = cells(warehouse_table(store, prepared, org, as_of, k, REFS).rows())
    assert len(expected) > 1000, "the reference produced too few flow cells to prove anything"
    assert any(key[0] == "training_hours" and cell[0] for key, cell in expected.items()), "no training to compare"
    assert any(key[0] == "pay_growth" and cell[0] for key, cell in expected.items()), "no pay growth to compare"
    assert any(key[0] == "promotions" and cell[0] for key, cell in expected.items()), "no promotion to compare"
    assert any(key[0] == "pay_median_by_level" for key in expected), "no median pay by level to compare"
    assert {key[:2] for key in expected} >= COVERED, "a retention figure missing from the comparison"
    problems = differences(expected, actual, limit=40)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("levels", [None, PUBLISHED], ids=["every-level", "published-levels"])
@pytest.mark.parametrize("k", [1, 5])
@pytest.mark.parametrize("seed", [1, 7, 23])
def test_warehouse_cells_equal_reference_on_edge_case_logs(
    warehouse_store: ConnectClickHouse, seed: int, k: int, levels: frozenset[str] | None
) -> None:
    events = tuple(synthetic_log(workers=40, start=date(2021, 1, 1), end=date(2023, 1, 31), seed=seed))
    _assert_equal(warehouse_store, events, SYNTH_AS_OF, k, levels)


@pytest.mark.parametrize("k", [1, 5])
@pytest.mark.parametrize("seed", [11, 4])
def test_warehouse_cells_equal_reference_on_the_simulator(
    warehouse_store: ConnectClickHouse, seed: int, k: int
) -> None:
    _assert_equal(warehouse_store, _sim(seed), SIM_AS_OF, k, PUBLISHED)


def test_warehouse_cells_equal_reference_on_a_larger_edge_case_log(warehouse_store: ConnectClickHouse) -> None:
    events = tuple(synthetic_log(workers=300, start=date(2021, 1, 1), end=date(2024, 12, 31), seed=7))
    _assert_equal(warehouse_store, events, date(2024, 11, 20), 5, None)


def test_headcount_and_transfer_queries_alone(warehouse_store: ConnectClickHouse) -> None:
    """District D with streets S1 and S2; w1 hired into S1 on 2 March 2024 and moved to S2 on 10 April; w2 hired
    into D itself on 15 March and left on 31 March (it counts on its last day). End of March: S1 1, D 2; end of
    April: S2 1, D 1. The move is out of S1 and into S2, not out of or into D."""
    log = Log()
    log.unit("D", level="district")
    log.unit("S1", "D")
    log.unit("S2", "D")
    log.hire("w1", "2024-03-02", "S1")
    log.transfer("w1", "2024-04-10", "S1", "S2")
    log.hire("w2", "2024-03-15", "D")
    log.separate("w2", "2024-03-31")
    events = tuple(log.events)
    prepared = EventLog(events).prepared()
    assert not prepared.anomalies, prepared.anomalies
    org = build_org_tree(prepared.org_events, None)
    warehouse = Warehouse(warehouse_store)
    load_workers(warehouse, org, [facts_of(prepared.workers, date(2024, 3, 1), date(2024, 4, 30))])
    ends = warehouse_store.query_rows(HEADCOUNT_ON, {"days": [date(2024, 3, 31), date(2024, 4, 30)]})
    org_ends = {(day, value): n for day, dim, value, n in ends if dim == "org"}
    assert org_ends == {
        (date(2024, 3, 31), "S1"): 1,
        (date(2024, 3, 31), "D"): 2,
        (date(2024, 4, 30), "S2"): 1,
        (date(2024, 4, 30), "D"): 1,
    }
    moves = warehouse_store.query_rows(TRANSFERS, {"start": "month", "since": EPOCH, "until": date(2024, 5, 1)})
    assert sorted(moves) == [(date(2024, 4, 1), "S1", "out", 1), (date(2024, 4, 1), "S2", "in", 1)]  # not D


def test_training_query_alone(warehouse_store: ConnectClickHouse) -> None:
    """District D with streets S1 and S2; w1 in S1 from 2 March 2024 ends an initial training (8 h) on 20 March and
    a rotation (2.5 h) on 25 March, moves to S2 on 10 April and ends another (3 h) on 15 April; w2 in D from 15 March
    ends an initial training (4 h) on 31 March and one on 10 May, after the as-of date (not counted). A training
    counts in the unit of its end date; '' is every course kind; a year's trainees are distinct over its months."""
    log = Log()
    log.unit("D", level="district")
    log.unit("S1", "D")
    log.unit("S2", "D")
    log.hire("w1", "2024-03-02", "S1")
    log.train("w1", "2024-03-20", "initial", "8")
    log.train("w1", "2024-03-25", "rotation", "2.5")
    log.transfer("w1", "2024-04-10", "S1", "S2")
    log.train("w1", "2024-04-15", "rotation", "3")
    log.hire("w2", "2024-03-15", "D")
    log.train("w2", "2024-03-31", "initial", "4")
    log.train("w2", "2024-05-10", "initial", "6")
    prepared = EventLog(tuple(log.events)).prepared()
    assert not prepared.anomalies, prepared.anomalies
    org = build_org_tree(prepared.org_events, None)
    load_workers(Warehouse(warehouse_store), org, [facts_of(prepared.workers, date(2024, 3, 1), date(2024, 4, 30))])

    def org_rows(start: str, until: date) -> set[tuple[object, ...]]:
        rows = warehouse_store.query_rows(TRAININGS, {"start": start, "since": EPOCH, "until": until})
        return {
            (label, value, course, n, people, hours)
            for label, dim, value, course, n, people, hours in rows
            if dim == "org"
        }

    march, april, year = date(2024, 3, 1), date(2024, 4, 1), date(2024, 1, 1)
    assert org_rows("month", date(2024, 5, 1)) == {
        (march, "S1", "initial", 1, 1, 8.0),
        (march, "S1", "rotation", 1, 1, 2.5),
        (march, "S1", "", 2, 1, 10.5),
        (march, "D", "initial", 2, 2, 12.0),
        (march, "D", "rotation", 1, 1, 2.5),
        (march, "D", "", 3, 2, 14.5),
        (april, "S2", "rotation", 1, 1, 3.0),
        (april, "S2", "", 1, 1, 3.0),
        (april, "D", "rotation", 1, 1, 3.0),
        (april, "D", "", 1, 1, 3.0),
    }
    assert {row for row in org_rows("year", date(2025, 1, 1)) if row[1] == "D"} == {
        (year, "D", "initial", 2, 2, 12.0),
        (year, "D", "rotation", 2, 1, 5.5),
        (year, "D", "", 4, 2, 17.5),
    }


def test_retention_queries_alone(warehouse_store: ConnectClickHouse) -> None:
    """District D with streets S1 and S2. w1, in S1 since 10 January 2023, moves to S2 on 15 March 2024; w2, in S1
    from 5 January 2024, leaves on 10 March (66 days) and is rehired into S1 on 20 March; w3 joins S1 on 5 March
    and ends an initial training on 25 March; w4 joins S2 on 31 March, 30 days before the as-of date (30 April).
    1 to 31 March: D keeps w1 (the same spell) but not w2 (a new spell); S1 keeps nobody; S2 had nobody on 1 March.
    Service on 31 March: w1 447 days, w2 12, w3 27, w4 1. March's hire cohort in S1 is w2's rehire and w3, in S2
    w4 (each 30 days on by the as-of date, still in); 2024's in D is w2's first hire, w3 and w4 (w2 left after 65
    days, before 90; w3 trained on time; all hired by the cutoff, 31 March)."""
    log = Log()
    log.unit("D", level="district")
    log.unit("S1", "D")
    log.unit("S2", "D")
    log.hire("w1", "2023-01-10", "S1")
    log.transfer("w1", "2024-03-15", "S1", "S2")
    log.hire("w2", "2024-01-05", "S1")
    log.separate("w2", "2024-03-10")
    log.hire("w2", "2024-03-20", "S1")
    log.hire("w3", "2024-03-05", "S1")
    log.train("w3", "2024-03-25", "initial")
    log.hire("w4", "2024-03-31", "S2")
    prepared = EventLog(tuple(log.events)).prepared()
    assert not prepared.anomalies, prepared.anomalies
    org = build_org_tree(prepared.org_events, None)
    as_of = date(2024, 4, 30)
    load_workers(Warehouse(warehouse_store), org, [facts_of(prepared.workers, date(2023, 1, 1), as_of)])
    march, end = date(2024, 3, 1), date(2024, 3, 31)

    def on_org(rows: list[tuple[object, ...]], at: int) -> dict[object, tuple[object, ...]]:
        return {row[at + 1]: row[at + 2 :] for row in rows if row[at] == "org"}

    kept = warehouse_store.query_rows(RETAINED, {"pairs": [(march, end)]})
    assert {row[:2] for row in kept} == {(march, end)}
    assert on_org(kept, 2) == {"S1": (2, 0), "D": (2, 1)}
    current = warehouse_store.query_rows(TENURE_CURRENT, {"days": [end]})
    assert on_org(current, 1) == {"S1": (19.5,), "S2": (224.0,), "D": (19.5,)}
    leavers = warehouse_store.query_rows(TENURE_LEAVERS, {"start": "month", "since": EPOCH, "until": as_of})
    assert on_org(leavers, 1) == {"S1": (66.0,), "D": (66.0,)}
    bounds = {"as_of": as_of, "cutoff": date(2024, 3, 31)}
    months = warehouse_store.query_rows(COHORTS, {"start": "month", "since": EPOCH, "until": as_of, **bounds})
    assert {k: v for k, v in on_org([row for row in months if row[0] == march], 1).items() if k != "D"} == {
        "S1": (2, date(2024, 3, 20), [], [2, 0, 0, 0, 0], [2, 0, 0, 0, 0], 2, 1),
        "S2": (1, date(2024, 3, 31), [], [1, 0, 0, 0, 0], [1, 0, 0, 0, 0], 1, 0),
    }
    years = warehouse_store.query_rows(COHORTS, {"start": "year", "since": EPOCH, "until": date(2025, 1, 1), **bounds})
    assert on_org([row for row in years if row[0] == date(2024, 1, 1)], 1)["D"] == (
        3, date(2024, 3, 31), [65], [3, 1, 0, 0, 0], [3, 0, 0, 0, 0], 3, 1
    )  # fmt: skip


def test_career_queries_alone(warehouse_store: ConnectClickHouse) -> None:
    """District D with streets S1 and S2. w4 joins S1 on 1 May 2020 at level 1, promoted on 1 December 2020; w1
    joins S1 on 1 March 2021 at 1, promoted on 1 June 2022 (457 days on), moves to S2 on 1 February 2023 and quits
    on 10 May 2024; w2 joins S1 on 1 July 2021 at 1, quits on 1 March 2024, is rehired at 1 on 1 April and promoted
    on 1 May (a promotion of the new spell, not of the first, though within 1095 days of its hire); w3 joins S2 on
    10 January 2024 at 2, promoted on 1 June; w5 joins D itself on 1 February 2024 with no level (unknown)."""
    log = Log()
    log.unit("D", level="district")
    log.unit("S1", "D")
    log.unit("S2", "D")
    log.hire("w4", "2020-05-01", "S1", level=1)
    log.grade("w4", "2020-12-01", 2)
    log.hire("w1", "2021-03-01", "S1", level=1)
    log.grade("w1", "2022-06-01", 2)
    log.transfer("w1", "2023-02-01", "S1", "S2")
    log.separate("w1", "2024-05-10")
    log.hire("w2", "2021-07-01", "S1", level=1)
    log.separate("w2", "2024-03-01")
    log.hire("w2", "2024-04-01", "S1", level=1)
    log.grade("w2", "2024-05-01", 2)
    log.hire("w3", "2024-01-10", "S2", level=2)
    log.grade("w3", "2024-06-01", 3)
    log.hire("w5", "2024-02-01", "D")
    prepared = EventLog(tuple(log.events)).prepared()
    assert not prepared.anomalies, prepared.anomalies
    org = build_org_tree(prepared.org_events, None)
    as_of = date(2025, 6, 30)
    load_workers(Warehouse(warehouse_store), org, [facts_of(prepared.workers, date(2020, 5, 1), as_of)])

    def on_org(rows: list[tuple[Any, ...]], *at: int) -> set[tuple[Any, ...]]:
        return {tuple(row[i] for i in at) for row in rows if row[1] == "org"}

    mix = warehouse_store.query_rows(LEVEL_MIX, {"days": [date(2023, 12, 31), date(2024, 12, 31)]})
    end_2023, end_2024 = date(2023, 12, 31), date(2024, 12, 31)
    assert on_org(mix, 0, 2, 3, 4) == {
        (end_2023, "S1", "1", 1),
        (end_2023, "S1", "2", 1),
        (end_2023, "S2", "2", 1),
        (end_2023, "D", "1", 1),
        (end_2023, "D", "2", 2),
        (end_2024, "S1", "2", 2),
        (end_2024, "S2", "3", 1),
        (end_2024, "D", "2", 2),
        (end_2024, "D", "3", 1),
        (end_2024, "D", "unknown", 1),
    }
    jan_2023, jan_2024 = date(2023, 1, 1), date(2024, 1, 1)
    groups = warehouse_store.query_rows(PROMOTION_GROUPS, {"days": [jan_2023, jan_2024]})
    # promoted in the three calendar years before: w4's 2020 promotion counts for 2023, not for 2024
    split = {(day, unit, bool(promoted), n, quits) for day, unit, promoted, n, quits in on_org(groups, 0, 2, 3, 4, 5)}
    assert split == {
        (jan_2023, "S1", True, 2, 0),
        (jan_2023, "S1", False, 1, 0),
        (jan_2023, "D", True, 2, 0),
        (jan_2023, "D", False, 1, 0),
        (jan_2024, "S1", False, 2, 1),
        (jan_2024, "S2", True, 1, 1),
        (jan_2024, "D", True, 1, 1),
        (jan_2024, "D", False, 2, 1),
    }
    within = warehouse_store.query_rows(PROMOTED_WITHIN, {"as_of": as_of, "since": EPOCH, "until": date(2025, 1, 1)})
    y2020, y2021, y2024 = date(2020, 1, 1), date(2021, 1, 1), date(2024, 1, 1)
    assert on_org(within, 0, 2, 3, 4, 5) == {
        *((y2020, unit, mark, 1, 1) for unit in ("S1", "D") for mark in (365, 730, 1095)),
        *((y2021, unit, mark, 2, int(mark > 365)) for unit in ("S1", "D") for mark in (365, 730, 1095)),
        (y2024, "S1", 365, 1, 1),
        (y2024, "S2", 365, 1, 1),
        (y2024, "D", 365, 3, 2),
        *((y2024, unit, mark, 0, 0) for unit in ("S1", "S2", "D") for mark in (730, 1095)),
    }


def test_pay_queries_alone(warehouse_store: ConnectClickHouse) -> None:
    """District D with street S1: w1 (a woman) in S1 from 1 January 2023 paid 3000, 3300 from 15 March 2024; w2 (a man)
    in D from 1 June 2023 paid 4000, then set twice effective 1 March 2024 (4200, then 4400: the later one holds);
    w3 in S1 from 1 February 2024 never paid (not counted); w4 (a man) in S1 from 1 January 2024 paid 2000, quits
    on 20 March 2024. End of March 2024 (a year before: end of March 2023, when only w1 was paid): D has w1 and w2,
    ranked w1 (band 2 of 2 workers) then w2 (band 4). 1 January 2024: D ranks w4, w1, w2 in bands 2, 3 and 4, and
    w4 quits in the year."""
    log = Log()
    log.unit("D", level="district")
    log.unit("S1", "D")
    log.hire("w1", "2023-01-01", "S1")
    log.pay("w1", "2023-01-01", "3000")
    log.pay("w1", "2024-03-15", "3300")
    log.hire("w2", "2023-06-01", "D", gender="male")
    log.pay("w2", "2023-06-01", "4000")
    log.pay("w2", "2024-03-01", "4200")
    log.pay("w2", "2024-03-01", "4400")
    log.hire("w3", "2024-02-01", "S1")
    log.hire("w4", "2024-01-01", "S1", gender="male")
    log.pay("w4", "2024-01-01", "2000")
    log.separate("w4", "2024-03-20")
    prepared = EventLog(tuple(log.events)).prepared()
    assert not prepared.anomalies, prepared.anomalies
    org = build_org_tree(prepared.org_events, None)
    load_workers(Warehouse(warehouse_store), org, [facts_of(prepared.workers, date(2023, 1, 1), date(2024, 4, 30))])
    march, hourly = date(2024, 3, 31), 40 * 52 / 12
    rows = warehouse_store.query_rows(PAID_ON, {"days": [march], "prevs": [date(2023, 3, 31)]})
    by_unit = {value: tuple(row) for _, dim, value, *row in rows if dim == "org"}
    paid, total, base, allowances, men, women, *counts, now, then = by_unit["D"]
    assert paid == 2
    assert [as_sample(s) for s in (total, base, allowances, now, then)] == [
        sample([3300.0, 4400.0]), sample([3300.0, 4400.0]), sample([0.0, 0.0]), sample([3300.0]), sample([3000.0]),
    ]  # fmt: skip
    assert as_sample(men).n == as_sample(women).n == 1
    assert as_sample(men).mean() == pytest.approx(4400 / hourly)
    assert as_sample(women).percentile(50) == pytest.approx(3300 / hourly)
    assert counts == [0, 1, 0, 0, 0, 0, 0, 1, 1]  # the women's bands, the men's, both
    paid, total, base = by_unit["S1"][:3]
    assert (paid, as_sample(total), as_sample(base)) == (1, sample([3300.0]), sample([3300.0]))
    quits = warehouse_store.query_rows(QUITS_BY_BAND, {"days": [date(2024, 1, 1)]})
    assert {value: tuple(row) for _, dim, value, *row in quits if dim == "org"} == {
        "D": (3, 0, 1, 0, 0),
        "S1": (2, 0, 1, 0, 0),
    }
    totals = warehouse_store.query_rows(TOTALS_ON, {"days": [march]})
    assert {(dim, value): as_sample(t) for _, dim, value, t in totals} == {
        ("all", "all"): sample([3300.0, 4400.0]),
        ("org", "D"): sample([3300.0, 4400.0]),
        ("org", "S1"): sample([3300.0]),
    }


@pytest.mark.parametrize("seed", range(3))
def test_sampled_is_the_sample_of_the_values(warehouse_store: ConnectClickHouse, seed: int) -> None:
    """``pay.sampled`` in ClickHouse gives what ``cells.sample`` gives of the same sorted values, for every size from
    none to 41 (every rank a percentile of ``PERCENTS`` can fall on, and ties): the number, the values each
    percentile lies between, so the same percentiles; the sum to rounding (ClickHouse adds in its own order)."""
    rng = random.Random(seed)
    groups = {
        size: sorted(rng.choice([1000.0, 2500.5, rng.uniform(0, 9000)]) for _ in range(size)) for size in range(42)
    }
    rows = warehouse_store.query_rows(
        f"SELECT g, {sampled('arraySort(groupArray(x))')} FROM (SELECT t.1 AS g, x FROM "
        "(SELECT arrayJoin({groups:Array(Tuple(UInt32, Array(Float64)))}) AS t) ARRAY JOIN t.2 AS x)"
        " GROUP BY g",
        {"groups": [(size, rng.sample(values, size)) for size, values in groups.items() if values]},  # shuffled
    )
    found = {int(g): as_sample(s) for g, s in rows}
    assert set(found) == set(range(1, 42))
    for size, got in found.items():
        want = sample(groups[size])
        assert (got.n, got.bounds) == (want.n, want.bounds), size
        assert got.total == pytest.approx(want.total, rel=1e-12)
        assert [got.percentile(p) for p in PERCENTS] == [percentile(groups[size], p) for p in PERCENTS]
