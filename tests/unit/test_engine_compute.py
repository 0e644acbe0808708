"""compute(): periods, determinism, row shape."""

from __future__ import annotations

import random
from datetime import date

from services.metrics.engine import compute
from tests.unit.test_engine_support import Log


def _log() -> Log:
    log = Log()
    log.unit("D", level="district")
    log.unit("S1", "D", model="park")
    log.unit("S2", "D", model="community")
    for i in range(12):
        w = f"w{i}"
        log.hire(w, f"2022-{i % 12 + 1:02d}-{i + 3:02d}", "S1" if i % 2 else "S2", gender="male" if i % 3 else "female")
        log.pay(w, f"2022-{i % 12 + 1:02d}-{i + 3:02d}", str(3000 + 100 * i), "200")
        if i % 4 == 0:
            log.transfer(w, "2023-03-01", "S2", "S1")
        if i % 5 == 0:
            log.separate(w, "2023-06-30", kind="voluntary")
        log.train(w, "2023-02-10", "rotation", "6")
    return log


def test_input_order_does_not_change_the_result() -> None:
    events = _log().events
    shuffled = list(events)
    random.Random(7).shuffle(shuffled)
    a = compute(events, as_of=date(2024, 2, 15), k=3)
    b = compute(shuffled, as_of=date(2024, 2, 15), k=3)
    assert a == b
    assert len(a.rows) > 1000


def test_periods_run_from_first_event_month_to_as_of() -> None:
    rows = compute(_log().events, as_of=date(2024, 2, 15), k=1).rows
    months = sorted({r.period for r in rows if r.period_kind == "month"})
    assert months[0] == date(2022, 1, 1) and months[-1] == date(2024, 2, 1)
    assert {r.period for r in rows if r.period_kind == "year"} == {date(2022, 1, 1), date(2023, 1, 1)}
    rolling = sorted({r.period for r in rows if r.period_kind == "rolling12"})
    assert rolling[0] == date(2022, 12, 1) and rolling[-1] == date(2024, 1, 1)
    keys = [(r.indicator, r.period_kind, r.period, r.dimension, r.slice, r.category) for r in rows]
    assert len(keys) == len(set(keys))


def test_empty_log_gives_no_rows() -> None:
    assert compute([], as_of=date(2024, 1, 1)).rows == []
