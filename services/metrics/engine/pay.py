"""Pay: percentiles, gender pay gap (SI 2017/172), quartile bands, growth, reference wage, turnover by quartile."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .accumulate import MonthStats, Snapshot
from .cells import Cells, mean, percentile, ratio
from .orgs import SliceKey
from .periods import Period
from .spells import PaySet, Spell, Worker

PERCENTILES = (("pay_p10", 10), ("pay_p25", 25), ("pay_median", 50), ("pay_p75", 75), ("pay_p90", 90))
COMPONENTS = ("total", "base", "allowances")
QUARTILES = ("q1", "q2", "q3", "q4")
Groups = dict[SliceKey, list[tuple[Worker, Spell, str]]]


@dataclass(frozen=True, slots=True)
class Paid:
    worker: Worker
    pay: PaySet


def paid_on(entries: Sequence[tuple[Worker, Spell, str]], day: date) -> list[Paid]:
    """Workers of a snapshot with a pay set in effect on ``day``; those without pay are left out."""
    out = []
    for worker, spell, _ in entries:
        pay = spell.pay_on(day)
        if pay is not None:
            out.append(Paid(worker, pay))
    return out


def _component(p: PaySet, name: str) -> float:
    return p.total if name == "total" else p.base if name == "base" else p.allowances


def quartile_bands(paid: list[Paid]) -> list[list[Paid]]:
    """Rank by ascending hourly pay (ties by worker key); band i holds ranks floor((i-1)n/4)+1 .. floor(in/4)."""
    ranked = sorted(paid, key=lambda p: (p.pay.hourly, p.worker.key))
    n = len(ranked)
    return [ranked[(i - 1) * n // 4 : i * n // 4] for i in range(1, 5)]


def pay_cells(cells: Cells, period: Period, stats: MonthStats, end_groups: Groups, prev: Snapshot) -> None:
    """Month pay figures on the period's last day, for workers employed at its end with pay."""
    kind, label = period.kind, period.label
    for key in stats:
        paid = paid_on(end_groups.get(key, ()), period.last)
        n = len(paid)
        for comp in COMPONENTS:
            values = sorted(_component(p.pay, comp) for p in paid)
            cells.put("pay_mean", kind, label, key, comp, mean(values), None, None, n)
            for name, pct in PERCENTILES:
                cells.put(name, kind, label, key, comp, percentile(values, pct), None, None, n)
        _gap_cells(cells, period, key, paid)
        if paid:
            _band_cells(cells, period, key, paid)
            _growth_cell(cells, period, key, paid, prev)


def _gap_cells(cells: Cells, period: Period, key: SliceKey, paid: list[Paid]) -> None:
    """Gap = (A - B) / A x 100, A men's and B women's mean (median) hourly pay."""
    men = sorted(p.pay.hourly for p in paid if p.worker.gender == "male")
    women = sorted(p.pay.hourly for p in paid if p.worker.gender == "female")
    pop, smallest = len(men) + len(women), min(len(men), len(women))
    for name, a, b in (
        ("pay_gap_mean", mean(men), mean(women)),
        ("pay_gap_median", percentile(men, 50), percentile(women, 50)),
    ):
        value = ratio(a - b, a) if a is not None and b is not None else None
        cells.put(name, period.kind, period.label, key, "", value, None, None, pop, smallest)


def _band_cells(cells: Cells, period: Period, key: SliceKey, paid: list[Paid]) -> None:
    for q, band in zip(QUARTILES, quartile_bands(paid), strict=True):
        for gender in ("female", "male"):
            count = sum(1 for p in band if p.worker.gender == gender)
            name = f"pay_quartile_{gender}_share"
            cells.rate(name, period.kind, period.label, key, count, len(band), len(band), category=q)


def _growth_cell(cells: Cells, period: Period, key: SliceKey, paid: list[Paid], prev: Snapshot) -> None:
    """(median now / median a year earlier - 1) x 100 over workers employed and paid at both dates."""
    now: list[float] = []
    then: list[float] = []
    for p in paid:
        entry = prev.get(p.worker.key)
        before = entry[1].pay_on(period.pay_prev) if entry is not None else None
        if before is not None:
            now.append(p.pay.total)
            then.append(before.total)
    if not now:
        return
    a, b = percentile(sorted(now), 50), percentile(sorted(then), 50)
    assert a is not None and b is not None
    value = (a / b - 1) * 100 if b else None
    cells.put("pay_growth", period.kind, period.label, key, "", value, None, None, len(now))


def turnover_by_quartile_cells(
    cells: Cells, period: Period, stats: MonthStats, jan1_groups: Groups, voluntary: set[str]
) -> None:
    """Year cohort rate: workers employed on 1 January ranked by hourly pay that day; share who quit in the year."""
    for key in stats:
        paid = paid_on(jan1_groups.get(key, ()), period.first)
        if not paid:
            continue
        for q, band in zip(QUARTILES, quartile_bands(paid), strict=True):
            quits = sum(1 for p in band if p.worker.key in voluntary)
            cells.rate("turnover_by_pay_quartile", "year", period.label, key, quits, len(band), len(band), category=q)


def reference_cell(cells: Cells, period: Period, key: SliceKey, entries: Groups, amount: float) -> None:
    """pay_vs_reference = median monthly total pay on 31 December x 12 / reference annual wage."""
    paid = paid_on(entries.get(key, ()), period.last)
    median = percentile(sorted(p.pay.total for p in paid), 50)
    if median is None:
        cells.put("pay_vs_reference", "year", period.label, key, "", None, None, None, 0)
    else:
        annual = median * 12
        cells.put(
            "pay_vs_reference", "year", period.label, key, "", ratio(annual, amount, 1.0), annual, amount, len(paid)
        )
