"""Pay: percentiles, gender pay gap (SI 2017/172), quartile bands, growth, reference wage, turnover by quartile.

Pay on a day is looked up once per worker (``PayDay``) and ranked once by (hourly pay, worker key); slices are
filled in that order, so a slice's quartile bands are its members as they come.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from .accumulate import MonthStats, Snapshot
from .cells import Cells, Sample, ratio, sample
from .model import ReferenceWage
from .orgs import OrgTree, SliceKey
from .periods import Period
from .slices import ALL, worker_keys
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


@dataclass(frozen=True, slots=True)
class PayFigures:
    """What the month pay figures need of one slice on a period's last day, whichever engine aggregated it: the
    workers employed at the end of the day with pay (``paid``); ``Sample`` of their total, base and allowances, and
    of the men's and the women's hourly pay; the women and the men in each quartile band of the paid ranked by
    (hourly pay, worker key); and, of the paid, those also paid on the day a year before (``both``) with the
    ``Sample`` of their total pay on the day (``now``) and then (``then``)."""

    paid: int
    total: Sample
    base: Sample
    allowances: Sample
    men: Sample
    women: Sample
    female: Sequence[int]
    male: Sequence[int]
    both: int
    now: Sample
    then: Sample


def pay_figures(stats: MonthStats, now: PaidGroups, prev: PayDay) -> dict[SliceKey, PayFigures]:
    """The reference engine's paid groups as ``PayFigures`` (slices in the accumulators' order)."""
    out: dict[SliceKey, PayFigures] = {}
    for key in stats:
        paid = now.get(key, [])
        bands = quartile_bands(paid)
        again = [(p.total, prev.pays[w.key].total) for w, p in paid if w.key in prev.pays]
        out[key] = PayFigures(
            len(paid),
            sample(sorted(p.total for _, p in paid)),
            sample(sorted(p.base for _, p in paid)),
            sample(sorted(p.allowances for _, p in paid)),
            sample([p.hourly for w, p in paid if w.gender == "male"]),  # ranked by hourly pay: sorted
            sample([p.hourly for w, p in paid if w.gender == "female"]),
            [sum(1 for w, _ in band if w.gender == "female") for band in bands],
            [sum(1 for w, _ in band if w.gender == "male") for band in bands],
            len(again),
            sample(sorted(a for a, _ in again)),
            sample(sorted(b for _, b in again)),
        )
    return out


def band_sizes(n: int) -> list[int]:
    """The sizes of the quartile bands of ``n`` ranked workers (``quartile_bands``)."""
    return [i * n // 4 - (i - 1) * n // 4 for i in range(1, 5)]


def pay_cells(cells: Cells, period: Period, figures: Mapping[SliceKey, PayFigures]) -> None:
    """Month pay figures on the period's last day, for workers employed at its end with pay.

    Gender pay gaps and quartile band shares are not computed within gender slices (METRICS v5)."""
    kind, label = period.kind, period.label
    for key, f in figures.items():
        n = f.paid
        # Below its threshold a figure is suppressed by its population: its value is never computed.
        shown = n >= cells.k
        for comp, values in (("total", f.total), ("base", f.base), ("allowances", f.allowances)):
            cells.put("pay_mean", kind, label, key, comp, values.mean() if shown else None, None, None, n)
            for name, pct, need in PERCENTILES:
                value = values.percentile(pct) if n >= need * cells.k else None
                cells.put(name, kind, label, key, comp, value, None, None, n, need=need)
        if key[0] != "gender":
            _gap_cells(cells, period, key, f)
        if n:
            if key[0] != "gender":
                _band_cells(cells, period, key, f)
            _growth_cell(cells, period, key, f)


def _gap_cells(cells: Cells, period: Period, key: SliceKey, f: PayFigures) -> None:
    """Gap = (A - B) / A x 100, A men's and B women's mean (median) hourly pay."""
    men, women = f.men, f.women
    pop, smallest = men.n + women.n, min(men.n, women.n)
    for name, need, a, b in (
        ("pay_gap_mean", 1, men.mean(), women.mean()),
        ("pay_gap_median", MEDIAN_NEED, men.percentile(50), women.percentile(50)),  # each group needs 2k
    ):
        value = ratio(a - b, a) if a is not None and b is not None else None
        cells.put(name, period.kind, period.label, key, "", value, None, None, pop, smallest, need)


def _band_cells(cells: Cells, period: Period, key: SliceKey, f: PayFigures) -> None:
    """Population: the n workers ranked; the band is the compared group (each needs k)."""
    n = f.paid
    for q, size, female, male in zip(QUARTILES, band_sizes(n), f.female, f.male, strict=True):
        for gender, count in (("female", female), ("male", male)):
            name = f"pay_quartile_{gender}_share"
            cells.rate(name, period.kind, period.label, key, count, size, n, category=q, group_min=size)


def _growth_cell(cells: Cells, period: Period, key: SliceKey, f: PayFigures) -> None:
    """(median now / median a year earlier - 1) x 100 over workers employed and paid at both dates."""
    if f.paid < MEDIAN_NEED * cells.k:  # suppressed by population: only the population is needed
        if f.both:
            cells.put("pay_growth", period.kind, period.label, key, "", None, None, None, f.both, need=MEDIAN_NEED)
        return
    if not f.both:
        return
    value = None
    if f.both >= MEDIAN_NEED * cells.k:
        a, b = f.now.percentile(50), f.then.percentile(50)
        assert a is not None and b is not None
        value = (a / b - 1) * 100 if b else None
    cells.put("pay_growth", period.kind, period.label, key, "", value, None, None, f.both, need=MEDIAN_NEED)


@dataclass(frozen=True, slots=True)
class QuartileQuits:
    """What turnover by pay quartile needs of one slice in one year, whichever engine aggregated it: the workers
    employed on 1 January with pay (``paid``) and, per quartile band of them ranked by (hourly pay, worker key) that
    day, those who quit (a voluntary separation) in the year."""

    paid: int
    quits: Sequence[int]


def quartile_quits(stats: MonthStats, jan1: PaidGroups, voluntary: set[str]) -> dict[SliceKey, QuartileQuits]:
    """The reference engine's paid groups on 1 January as ``QuartileQuits`` (slices in the accumulators' order)."""
    out: dict[SliceKey, QuartileQuits] = {}
    for key in stats:
        paid = jan1.get(key, [])
        bands = quartile_bands(paid)
        out[key] = QuartileQuits(len(paid), [sum(1 for w, _ in band if w.key in voluntary) for band in bands])
    return out


def turnover_by_quartile_cells(cells: Cells, period: Period, figures: Mapping[SliceKey, QuartileQuits]) -> None:
    """Year cohort rate: workers employed on 1 January ranked by hourly pay that day; share who quit in the year.

    Population: the n workers ranked; the band is the compared group (each needs k)."""
    for key, f in figures.items():
        n = f.paid
        if not n:
            continue
        for q, size, quits in zip(QUARTILES, band_sizes(n), f.quits, strict=True):
            cells.rate(
                "turnover_by_pay_quartile", "year", period.label, key, quits, size, n, category=q, group_min=size
            )


def reference_slices(org: OrgTree, refs: Sequence[ReferenceWage], year: int) -> list[tuple[SliceKey, float]]:
    """The slices with a reference wage in ``year`` and its amount: one per region (a later wage of the same
    region-year replaces an earlier one, as the reference_wages table's ReplacingMergeTree keeps the latest load);
    'all' is the program row, any other region its org slice if published."""
    wages = {ref.region: ref.annual_amount for ref in refs if ref.year == year}
    return [
        (ALL if region == "all" else ("org", region), amount)
        for region, amount in wages.items()
        if region == "all" or org.published(region)
    ]


def paid_totals(dec31: PaidGroups, key: SliceKey) -> Sample:
    """The ``Sample`` of the total pay of a slice's paid workers."""
    return sample(sorted(p.total for _, p in dec31.get(key, [])))


def reference_cell(cells: Cells, period: Period, key: SliceKey, totals: Sample, amount: float) -> None:
    """pay_vs_reference = median monthly total pay on 31 December x 12 / reference annual wage (needs 2k paid):
    ``totals`` the ``Sample`` of the slice's paid workers' total pay that day."""
    median = totals.percentile(50)
    need = MEDIAN_NEED
    if median is None:
        cells.put("pay_vs_reference", "year", period.label, key, "", None, None, None, 0, need=need)
    else:
        annual = median * 12
        value = ratio(annual, amount, 1.0)
        cells.put("pay_vs_reference", "year", period.label, key, "", value, annual, amount, totals.n, need=need)
