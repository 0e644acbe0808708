"""``Cells.rows``: the published rows in family then slice order; a hidden row is published without its figures and
population, whatever the reason, and the store keeps them."""

from __future__ import annotations

import random
from datetime import date

from services.metrics.engine.cells import EMPTY, LINKED, PERCENTS, SECONDARY, Cells, percentile, sample


def _store() -> Cells:
    cells = Cells(k=5)
    jan, feb = date(2024, 1, 1), date(2024, 2, 1)
    for period in (feb, jan):
        for key, workers in ((("org", "U2"), 7), (("all", "all"), 12), (("org", "U1"), 3), (("org", "U3"), 6)):
            cells.rate("turnover_rate", "month", period, key, 2, workers, workers)
            cells.value("headcount_avg", "month", period, key, float(workers), workers)
    cells.hide(("headcount_avg", "month", jan, ""), ("org", "U2"), SECONDARY)
    cells.hide(("turnover_rate", "month", jan, ""), ("org", "U3"), LINKED)
    return cells


def test_rows_in_family_then_slice_order_and_the_store_untouched() -> None:
    cells = _store()
    rows = cells.rows()
    assert [(r.indicator, r.period, r.slice) for r in rows[:4]] == [
        ("headcount_avg", date(2024, 1, 1), "all"),
        ("headcount_avg", date(2024, 1, 1), "U1"),
        ("headcount_avg", date(2024, 1, 1), "U2"),
        ("headcount_avg", date(2024, 1, 1), "U3"),
    ]
    assert len(rows) == 16 and cells.rows() == rows
    kept = cells.families[("headcount_avg", "month", date(2024, 1, 1), "")][("org", "U2")]
    assert kept.suppressed and kept.value == 7.0 and kept.workers == 7  # hidden, its figures kept until published


def test_hidden_rows_are_published_without_figures_with_their_reason() -> None:
    hidden = {(r.indicator, r.period, r.slice): r for r in _store().rows() if r.suppressed}
    assert {key: r.reason for key, r in hidden.items()} == {
        ("headcount_avg", date(2024, 1, 1), "U1"): "primary",
        ("headcount_avg", date(2024, 2, 1), "U1"): "primary",
        ("turnover_rate", date(2024, 1, 1), "U1"): "primary",
        ("turnover_rate", date(2024, 2, 1), "U1"): "primary",
        ("headcount_avg", date(2024, 1, 1), "U2"): "secondary",
        ("turnover_rate", date(2024, 1, 1), "U3"): "linked",
    }
    for row in hidden.values():
        assert (row.value, row.numerator, row.denominator, row.workers, row.suppressed) == (None, None, None, 0, True)
        assert type(row).__name__ == "IndicatorRow" and len(row) == 12


def test_a_sample_answers_as_its_values_do() -> None:
    """``Sample`` keeps only what the pay figures read of a list (the warehouse path has ClickHouse send that instead
    of the list): its percentiles are ``percentile`` of the sorted values, exactly, for every size up to 41 (every
    rank a percentile of ``PERCENTS`` falls on), ties included; its mean is the sum over the number."""
    rng = random.Random(7)
    assert sample([]) == EMPTY
    assert (EMPTY.mean(), EMPTY.percentile(50)) == (None, None)
    for size in range(1, 42):
        values = sorted(rng.choice([1000.0, 2500.5, rng.uniform(0, 9000)]) for _ in range(size))
        got = sample(values)
        assert [got.percentile(p) for p in PERCENTS] == [percentile(values, p) for p in PERCENTS], size
        assert (got.n, got.mean()) == (size, sum(values) / size)
    assert sample([5000.0, 6100.0, 7300.0, 8800.0, 23456.0]).percentile(25) == 6100.0  # a whole rank: one pay
