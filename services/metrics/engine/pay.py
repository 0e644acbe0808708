"""Pay: percentiles, gender pay gap (SI 2017/172), quartile bands, growth, reference wage, turnover by quartile.

Pay on a day is looked up once per worker (``PayDay``) and ranked once by (hourly pay, worker key); slices are
filled in that order, so a slice's quartile bands are its members as they come.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from .accumulate import MonthStats, Snapshot
from .cells import Cells, mean, percentile, ratio
from .orgs import OrgTree, SliceKey
from .periods import Period
from .slices import worker_keys
from .spells import PaySet, Spell, Worker

# (indicator, percentile, population needed in multiples of k): METRICS v5, a percentile at a whole rank is one
# worker's pay, so the median and quartiles need 2k workers, p10 and p90 4k (the mean k).
PERCENTILES = (("pay_p10", 10, 4), ("pay_p25", 25, 2), ("pay_median", 50, 2), ("pay_p75", 75, 2), ("pay_p90", 90, 4))
MEDIAN_NEED = 2
QUARTILES = ("q1", "q2", "q3", "q4")
Paid = list[tuple[Worker, PaySet]]
PaidGroups = dict[SliceKey, Paid]


@dataclass(frozen=True, slots=True)
class PayDay:
    """The pay in effect at the end of a day of the workers employed then, in quartile-band order."""

    pays: dict[str, PaySet]
    ranked: list[tuple[Worker, Spell, str, PaySet]]  # by ascending hourly pay, ties by worker key


def pay_day(snap: Snapshot, day: date) -> PayDay:
    """Workers of a snapshot with a pay set in effect on ``day``; those without pay are left out."""
    pays: dict[str, PaySet] = {}
    for wkey, (_, spell, _) in snap.items():
        pay = spell.pay_on(day)
        if pay is not None:
            pays[wkey] = pay
    order = sorted(pays, key=lambda w: (pays[w].hourly, w))
    return PayDay(pays, [(*snap[w], pays[w]) for w in order])


def paid_by_slice(org: OrgTree, paid: PayDay, age_year: int) -> PaidGroups:
    """The paid workers split by slice, each slice in quartile-band order."""
    groups: defaultdict[SliceKey, Paid] = defaultdict(list)
    for worker, spell, unit, pay in paid.ranked:
        entry = (worker, pay)
        for key in worker_keys(org, worker, spell, unit, age_year):
            groups[key].append(entry)
    return dict(groups)


def quartile_bands(ranked: Paid) -> list[Paid]:
    """Band i of ranked workers holds ranks floor((i-1)n/4)+1 .. floor(in/4)."""
    n = len(ranked)
    return [ranked[(i - 1) * n // 4 : i * n // 4] for i in range(1, 5)]


def pay_cells(cells: Cells, period: Period, stats: MonthStats, now: PaidGroups, prev: PayDay) -> None:
    """Month pay figures on the period's last day, for workers employed at its end with pay.

    Gender pay gaps and quartile band shares are not computed within gender slices (METRICS v5)."""
    kind, label = period.kind, period.label
    for key in stats:
        paid = now.get(key, [])
        n = len(paid)
        # Below its threshold a figure is suppressed by its population: its value is never computed.
        shown = paid if n >= cells.k else []
        for comp, values in (
            ("total", sorted([p.total for _, p in shown])),
            ("base", sorted([p.base for _, p in shown])),
            ("allowances", sorted([p.allowances for _, p in shown])),
        ):
            cells.put("pay_mean", kind, label, key, comp, mean(values), None, None, n)
            for name, pct, need in PERCENTILES:
                value = percentile(values, pct) if n >= need * cells.k else None
                cells.put(name, kind, label, key, comp, value, None, None, n, need=need)
        if key[0] != "gender":
            _gap_cells(cells, period, key, paid)
        if paid:
            if key[0] != "gender":
                _band_cells(cells, period, key, paid)
            _growth_cell(cells, period, key, paid, prev)


def _gap_cells(cells: Cells, period: Period, key: SliceKey, paid: Paid) -> None:
    """Gap = (A - B) / A x 100, A men's and B women's mean (median) hourly pay (``paid`` is in hourly order)."""
    men = [p.hourly for w, p in paid if w.gender == "male"]
    women = [p.hourly for w, p in paid if w.gender == "female"]
    pop, smallest = len(men) + len(women), min(len(men), len(women))
    for name, need, a, b in (
        ("pay_gap_mean", 1, mean(men), mean(women)),
        ("pay_gap_median", MEDIAN_NEED, percentile(men, 50), percentile(women, 50)),  # each group needs 2k
    ):
        value = ratio(a - b, a) if a is not None and b is not None else None
        cells.put(name, period.kind, period.label, key, "", value, None, None, pop, smallest, need)


def _band_cells(cells: Cells, period: Period, key: SliceKey, paid: Paid) -> None:
    """Population: the n workers ranked; the band is the compared group (each needs k)."""
    n = len(paid)
    for q, band in zip(QUARTILES, quartile_bands(paid), strict=True):
        for gender in ("female", "male"):
            count = sum(1 for w, _ in band if w.gender == gender)
            name = f"pay_quartile_{gender}_share"
            cells.rate(name, period.kind, period.label, key, count, len(band), n, category=q, group_min=len(band))


def _growth_cell(cells: Cells, period: Period, key: SliceKey, paid: Paid, prev: PayDay) -> None:
    """(median now / median a year earlier - 1) x 100 over workers employed and paid at both dates."""
    pays = prev.pays
    if len(paid) < MEDIAN_NEED * cells.k:  # suppressed by population: only the population is needed
        count = sum(1 for w, _ in paid if w.key in pays)
        if count:
            cells.put("pay_growth", period.kind, period.label, key, "", None, None, None, count, need=MEDIAN_NEED)
        return
    now: list[float] = []
    then: list[float] = []
    for w, p in paid:
        before = pays.get(w.key)
        if before is not None:
            now.append(p.total)
            then.append(before.total)
    if not now:
        return
    value = None
    if len(now) >= MEDIAN_NEED * cells.k:
        a, b = percentile(sorted(now), 50), percentile(sorted(then), 50)
        assert a is not None and b is not None
        value = (a / b - 1) * 100 if b else None
    cells.put("pay_growth", period.kind, period.label, key, "", value, None, None, len(now), need=MEDIAN_NEED)


def turnover_by_quartile_cells(
    cells: Cells, period: Period, stats: MonthStats, jan1: PaidGroups, voluntary: set[str]
) -> None:
    """Year cohort rate: workers employed on 1 January ranked by hourly pay that day; share who quit in the year.

    Population: the n workers ranked; the band is the compared group (each needs k)."""
    for key in stats:
        paid = jan1.get(key, [])
        if not paid:
            continue
        n = len(paid)
        for q, band in zip(QUARTILES, quartile_bands(paid), strict=True):
            quits = sum(1 for w, _ in band if w.key in voluntary)
            size = len(band)
            cells.rate(
                "turnover_by_pay_quartile", "year", period.label, key, quits, size, n, category=q, group_min=size
            )


def reference_cell(cells: Cells, period: Period, key: SliceKey, dec31: PaidGroups, amount: float) -> None:
    """pay_vs_reference = median monthly total pay on 31 December x 12 / reference annual wage (needs 2k paid)."""
    paid = dec31.get(key, [])
    median = percentile(sorted(p.total for _, p in paid), 50)
    need = MEDIAN_NEED
    if median is None:
        cells.put("pay_vs_reference", "year", period.label, key, "", None, None, None, 0, need=need)
    else:
        annual = median * 12
        value = ratio(annual, amount, 1.0)
        cells.put("pay_vs_reference", "year", period.label, key, "", value, annual, amount, len(paid), need=need)
