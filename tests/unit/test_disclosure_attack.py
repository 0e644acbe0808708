"""Issue 12 part 5: an independent attacker rebuilds no suppressed cell and solves no pay of the published table.

Published rows come from the production engine; true values from the independent oracle run with k = 0 (nothing
suppressed, the same cells); the attacker (``tests/attack``) shares no code with the engine's suppression.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache

import pytest

from devtools.records import simulated_records
from services.metrics.engine import EventRecord, IndicatorRow, compute
from services.sim import SimConfig
from tests.attack.attacker import Report, attack
from tests.oracle import oracle_compute
from tests.oracle.compute import apply_corrections, build_org
from tests.unit.test_engine_support import Log
from tests.unit.test_engine_suppression import _undisclosed_alone_in_december, _undisclosed_hire_in_january
from tests.unit.test_engine_vs_oracle import PUBLISHED, SIM_AS_OF, SYNTH_AS_OF, _synth

# half a year of the simulator: the audit's time grows fast with the history (docs/contract.md, "Audit"); the
# edge-case logs cover complete years
SIM = SimConfig(workers=300, start_year=2024, end=SIM_AS_OF, seed=11, scenario=False)


@cache
def _sim() -> tuple[EventRecord, ...]:
    """The simulator's log as the engine reads it back from ClickHouse: validated payloads, pseudonymised ids."""
    now = datetime.combine(SIM_AS_OF + timedelta(days=1), datetime.min.time(), tzinfo=UTC).replace(hour=12)
    return tuple(simulated_records(SIM, b"k" * 40, now))


@cache
def _log(name: str) -> tuple[tuple[EventRecord, ...], date]:
    if name == "sim":
        return _sim(), SIM_AS_OF
    return _synth(int(name.removeprefix("synth"))), SYNTH_AS_OF


@cache
def _truth(name: str) -> tuple[IndicatorRow, ...]:
    events, as_of = _log(name)
    return tuple(oracle_compute(events, as_of=as_of, k=0))  # k = 0: nothing suppressed


@cache
def _ancestors(name: str) -> Mapping[str, Sequence[str]]:
    org = build_org(apply_corrections(_log(name)[0]))
    units = set(org.parent) | {p for p in org.parent.values() if p}
    return {u: org.ancestors(u) for u in units}


@cache
def _attack(name: str, k: int) -> Report:
    events, as_of = _log(name)
    published = compute(events, as_of=as_of, k=k, org_levels=PUBLISHED, audit=True).rows
    return attack(published, _truth(name), _ancestors(name))


LOGS = [("sim", 3), ("sim", 5), ("synth1", 3), ("synth7", 5)]


@pytest.mark.parametrize(("log", "k"), LOGS)
def test_no_suppressed_cell_is_rebuilt(log: str, k: int) -> None:
    report = _attack(log, k)
    assert report.hidden, "the published table has no suppressed cell to attack"
    assert not report.rebuilt, f"{log} at k={k}: {report.summary()}"


@pytest.mark.parametrize(("log", "k"), LOGS)
def test_no_pay_is_solved(log: str, k: int) -> None:
    report = _attack(log, k)
    assert not report.pay_workers, f"{log} at k={k}: {len(report.pay_workers)} pays, e.g. {report.pay_workers[:5]}"


@pytest.mark.parametrize(
    ("log", "as_of"),
    [(_undisclosed_hire_in_january, date(2024, 1, 31)), (_undisclosed_alone_in_december, date(2023, 12, 31))],
)
def test_with_the_audit_off_no_cell_is_rebuilt_by_the_known_routes(log: Callable[[], Log], as_of: date) -> None:
    """Issue 12: the rules alone (the service's default) close the routes "year minus its months", "year-end =
    December" and "rolling-12 windows"; before the route rule the attacker rebuilt, on these logs, the hidden
    January hire and average headcount of the undisclosed through two windows, and their December headcount from
    the year's."""
    events = log().events
    published = compute(events, as_of=as_of, k=2).rows
    report = attack(published, oracle_compute(events, as_of=as_of, k=0), {})
    assert report.hidden
    assert not [cell for cell in report.rebuilt if cell.route in "abc"], report.summary()


def _row(ind: str, dim: str, value: str, figure: float | None, cat: str = "", workers: int = 9) -> IndicatorRow:
    hidden = figure is None
    return IndicatorRow(ind, "month", date(2024, 1, 1), dim, value, cat, figure, None, None, workers, hidden)


def test_attacker_rebuilds_a_hidden_child_from_its_parent_and_siblings() -> None:
    truth = [
        _row("hires", "all", "all", 10.0),
        _row("hires", "gender", "female", 7.0),
        _row("hires", "gender", "male", 3.0, workers=3),
        _row("separations", "all", "all", 6.0),
        _row("separations", "gender", "female", 2.0),
        _row("separations", "gender", "male", 2.0, workers=3),
        _row("separations", "gender", "undisclosed", 2.0, workers=3),
    ]
    published = [r if r.workers > 3 else _row(r.indicator, r.dimension, r.slice, None) for r in truth]
    report = attack(published, truth, {})
    assert report.hidden == 3
    assert [(r.key[0], r.key[4], r.route, r.true, r.low, r.high) for r in report.rebuilt] == [
        ("hires", "male", "e", 3.0, 3.0, 3.0)
    ]  # the two hidden separations cells can be anything from 0 to 4: protected


def test_attacker_solves_five_pays_from_percentiles_and_mean() -> None:
    pays = [5000.0, 6100.0, 7300.0, 8800.0, 23456.0]
    figures = {"pay_p10": 5440.0, "pay_p25": 6100.0, "pay_median": 7300.0, "pay_p75": 8800.0, "pay_p90": 17193.6}
    rows = [_row(name, "all", "all", value, "total", 5) for name, value in figures.items()]
    rows.append(_row("pay_mean", "all", "all", sum(pays) / 5, "total", 5))
    report = attack(rows, rows, {})
    assert len(report.pay_workers) == 5


def test_a_median_of_an_unnamed_worker_in_the_middle_is_not_a_solved_pay() -> None:
    # 11 workers: the median is the 6th pay (a whole rank) but says nothing of who earns it; the mean alone does
    # not give the other ten
    rows = [_row("pay_median", "all", "all", 7300.0, "total", 11), _row("pay_mean", "all", "all", 7700.0, "total", 11)]
    assert attack(rows, rows, {}).pay_workers == []


def test_attacker_counts_a_zero_pinned_to_zero_apart() -> None:
    truth = [
        _row("hires", "all", "all", 5.0),
        _row("hires", "gender", "female", 5.0),
        _row("hires", "gender", "male", 0.0, workers=3),
    ]
    published = [r if r.workers > 3 else _row(r.indicator, r.dimension, r.slice, None) for r in truth]
    report = attack(published, truth, {})
    assert (report.hidden, report.rebuilt, report.zeros) == (1, [], 1)


def test_attacker_counts_a_ratio_of_two_zeros_apart() -> None:
    truth = [
        IndicatorRow("replacement_ratio", "month", date(2024, 1, 1), "all", "all", "", None, 0.0, 0.0, 3, False),
        _row("hires", "all", "all", 0.0),
        _row("separations", "all", "all", 0.0),
    ]
    published = [_row("replacement_ratio", "all", "all", None), *truth[1:]]
    report = attack(published, truth, {})
    assert (report.hidden, report.rebuilt, report.zeros) == (1, [], 1)
