"""The engine's entry point: events in, indicator rows and anomalies out. Pure and deterministic."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from .accumulate import Groups, Monthly, Snapshot, group_snapshot, slice_counts, snapshots
from .audit import AuditReport, Proofs, audit_table
from .career import (
    LevelMix,
    grade_cells,
    grade_figures,
    level_mix,
    levels_on,
    pay_by_level,
    pay_by_level_cells,
    promoted_within,
    promoted_within_cells,
    promotion_groups,
    turnover_by_promotion_cells,
)
from .cells import Cells, Family
from .dates import month_index, month_start, year_ago
from .headcount import flow_cells, flow_figures, headcount_end_cells, rolling_cells
from .log import EventLog, Prepared
from .model import Anomaly, EventRecord, IndicatorRow, ReferenceWage
from .orgs import OrgTree, SliceKey, build_org_tree
from .pay import (
    PaidGroups,
    PayDay,
    paid_by_slice,
    paid_totals,
    pay_cells,
    pay_day,
    pay_figures,
    quartile_quits,
    reference_cell,
    reference_slices,
    turnover_by_quartile_cells,
)
from .periods import Period, month_periods, rolling_months, year_periods
from .retention import (
    cohort_cells,
    cohort_figures,
    cohort_groups,
    cohorts,
    retention_cells,
    retention_figures,
    stability_cells,
    stability_figures,
    tenure_cells,
    tenure_figures,
    year_cohorts,
)
from .spells import Worker
from .suppression import WINDOW_SOURCES, suppress
from .training import on_time_cells, on_time_figures, training_cells, training_figures

# Indicators published with period_kind 'year' (contract section 4, "Year figures" and "Decisions"): every
# month figure computed on the year's dates, except stability_index (D = a month's last day), the month pay
# figures and pay_growth; plus the two year-only pay figures.
YEAR_INDICATORS = frozenset(
    {
        "headcount_avg",
        "headcount_end",
        "hires",
        "separations",
        "separations_voluntary",
        "separations_involuntary",
        "separations_other",
        "separations_by_reason",
        "net_change",
        "replacement_ratio",
        "transfers_in",
        "transfers_out",
        "separation_rate",
        "voluntary_rate",
        "involuntary_rate",
        "hires_rate",
        "retention_rate",
        "median_tenure_current",
        "median_tenure_leavers",
        "trainee_times",
        "trainees",
        "training_hours",
        "training_hours_per_worker",
        "share_trained",
        "turnover_by_pay_quartile",
        "pay_vs_reference",
        "promotions",
        "demotions",
        "regrades_lateral",
        "promotion_rate",
        "grade_mix",
    }
)


@dataclass(frozen=True, slots=True)
class ComputeResult:
    """Rows ordered by (indicator, period_kind, period, category, dimension, slice); anomalies by event_id.

    ``audit`` is the publish audit's report when one ran: a table whose audit did not pass (``audit.passed`` False)
    must not be published."""

    rows: list[IndicatorRow] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    audit: AuditReport | None = None


def compute(
    events: Iterable[EventRecord] | Prepared,
    *,
    as_of: date,
    k: int = 5,
    reference_wages: Sequence[ReferenceWage] = (),
    org_levels: frozenset[str] | None = None,
    since: date | None = None,
    audit: bool = False,
    audit_prior: Iterable[tuple[Family, SliceKey]] = (),
    audit_proofs: Proofs | None = None,
) -> ComputeResult:
    """Compute every indicator cell of every period up to ``as_of``, suppressed with threshold ``k``.

    Months run from the month of the earliest worker event date through the as-of month (to date); years are
    the complete calendar years; rolling windows end on month ends on or before ``as_of``; cohorts are hire
    months. Deterministic: the same events in any order give the same result.

    ``org_levels`` limits the org units that get ``org`` slices to those levels (None: every level); workers
    still count in every published ancestor, units of unknown level keep their slice, and suppression parents
    follow the published hierarchy.

    ``since`` (the first day of a month) keeps only the periods (months, years, rolling windows, cohorts) that end
    on or after it (``kept``); their cells are exactly those of the full computation: no suppression group spans
    two years, months of one year share a group only through their complete year's cell (the month-in-year rule;
    so ``since`` is a 1 January unless its year is not complete at ``as_of``), and the two rules that read earlier
    periods read cells computed and suppressed as in the full computation, then dropped: a stability index reads
    the period-end headcount of the month a year before (its family is the only one it sits in), and a rolling
    window ending in the 11 months after ``since`` the flows and average headcounts of its months before ``since``
    (the route rule): those families are computed for every month of those months' years, with their complete
    year's cell, which is all the month-in-year and sibling rules join them with.

    ``audit`` runs the publish audit (``audit.audit_table``, METRICS.md v5 "Audit") after the rules: it hides more
    cells, with reason ``audit``, until no hidden cell can be narrowed below its protection width from the published
    ones, and reports in ``ComputeResult.audit``. It reads every year (its relations cross year ends), so it cannot
    be combined with ``since``. Without it the rows are the rules' alone (what the oracle tests compare).
    ``audit_prior`` (``audit.audit_hidden`` of the last published rows) is hidden again before its first round, and
    ``audit_proofs`` (the last audit's ``AuditReport.proofs``) prove what they still can before any LP.

    ``events`` may come already prepared (``EventLog.prepared()``): a service that keeps the log between
    refreshes replays only the workers a batch touched.
    """
    with no_cyclic_gc():
        prepared = events if isinstance(events, Prepared) else EventLog(events).prepared()
        return _compute(prepared, as_of, k, reference_wages, org_levels, since, audit, audit_prior, audit_proofs)


def kept(kind: str, period: date, since: date) -> bool:
    """Whether ``compute(since=since)`` computes the cells of the period ``kind``, ``period`` (its label): a year
    (a year's figures, a hire-year cohort) of ``since``'s year or later, any other period from ``since`` on.
    ``publish.RECOMPUTED`` is the same test in SQL."""
    return period.year >= since.year if kind == "year" else period >= since


@contextmanager
def no_cyclic_gc(*, keep_frozen: bool = False, leave_young: bool = False) -> Iterator[None]:
    """Pause the cyclic collector: the engines allocate millions of acyclic rows and stats, and the collector
    would rescan them all on every generation-2 pass (a third of the run time on the demo log). A collector the
    caller had paused stays paused. After, what was allocated meanwhile goes to the oldest generation as it is
    (freeze then unfreeze moves the lists, no scan) rather than have the next young collection walk millions of
    rows; with ``keep_frozen`` it stays frozen, out of every later pass and freed by reference counting alone (the
    warehouse rebuild: its cells are named tuples, which the collector never untracks, and walking them took some
    27 passes of up to 2 s each in a 100 k-event rebuild; only a cycle among them would outlive its use, and
    ``rebuild``, its one caller, exits once it has published). With ``leave_young`` it stays young and nothing is
    frozen or thawed: for a caller that frees its rows before the pause ends, in a process that froze its heap
    (the service's refresh: ``gc.unfreeze`` would thaw the whole event log into every later full pass)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if not leave_young:
                gc.freeze()
                if not keep_frozen:
                    gc.unfreeze()
            gc.enable()


def suppressed_table(
    events: Iterable[EventRecord],
    *,
    as_of: date,
    k: int = 5,
    reference_wages: Sequence[ReferenceWage] = (),
    org_levels: frozenset[str] | None = None,
) -> tuple[Cells, OrgTree]:
    """The table ``compute`` publishes, before it is published: hidden cells still hold their true figures (the
    disclosure audit and its tests and bench read them), with the org tree the suppression parents follow."""
    with no_cyclic_gc():
        prepared = EventLog(events).prepared()
        org = build_org_tree(prepared.org_events, org_levels)
        cells = _cells(prepared, org, as_of, k, reference_wages, None)
    return cells, org


def _cells(
    prepared: Prepared,
    org: OrgTree,
    as_of: date,
    k: int,
    reference_wages: Sequence[ReferenceWage],
    since: date | None,
) -> Cells:
    if prepared.first_date is None or prepared.first_date > as_of:
        return Cells(k)
    engine = _Engine(org, list(prepared.workers), month_index(prepared.first_date), as_of, k, since)
    cells = engine.run(reference_wages)
    suppress(cells, org)
    if since is not None:
        for fam in [fam for fam in cells.families if not kept(fam[1], fam[2], since)]:
            del cells.families[fam]  # read only by the linked rule (headcount) and the route rule (windows' months)
    return cells


def _compute(
    prepared: Prepared,
    as_of: date,
    k: int,
    reference_wages: Sequence[ReferenceWage],
    org_levels: frozenset[str] | None,
    since: date | None = None,
    audit: bool = False,
    audit_prior: Iterable[tuple[Family, SliceKey]] = (),
    audit_proofs: Proofs | None = None,
) -> ComputeResult:
    if audit and since is not None:
        raise ValueError("the audit reads every year: compute with audit=True cannot start at since")
    if since is not None and (since.day != 1 or (since.month != 1 and date(since.year, 12, 31) <= as_of)):
        raise ValueError(f"since must be a month's first day, 1 January in a year complete at as_of: {since}")
    org = build_org_tree(prepared.org_events, org_levels)
    cells = _cells(prepared, org, as_of, k, reference_wages, since)
    report = audit_table(cells, org, as_of, prior=audit_prior, proofs=audit_proofs) if audit else None
    return ComputeResult(cells.rows(), list(prepared.anomalies), report)


class _Engine:
    """Wires the accumulators and snapshots to the indicator families for every period."""

    def __init__(
        self, org: OrgTree, workers: list[Worker], first_mi: int, as_of: date, k: int, since: date | None = None
    ) -> None:
        self.org, self.workers, self.first_mi, self.as_of = org, workers, first_mi, as_of
        self.since = since or date.min
        self.cells = Cells(k)
        # Periods from since on read months back to a year before it (rolling windows; stability's link to the
        # headcount a year before), and the windows' suppression reads the flags of their months before since, which
        # the month-in-year rule joins with the rest of their year: from 1 January of the first window's first month.
        since_mi = month_index(self.since)
        self.ends = [e for e in rolling_months(first_mi, as_of) if kept("rolling12", month_start(e), self.since)]
        look = (since_mi - 11) // 12 * 12 if since is not None and self.ends else since_mi
        first_read = max(first_mi, min(since_mi - 12, look))
        self.monthly = Monthly(first_read, month_index(as_of), as_of)
        for worker in workers:
            self.monthly.add_worker(org, worker)
        self.monthly.finish()
        self.months = [p for p in month_periods(first_mi, as_of) if kept("month", p.label, self.since)]
        self.years = [p for p in year_periods(first_mi, as_of) if kept("year", p.label, self.since)]
        # the headcount a year before each month computed (a month's stability index links to it)
        last_back = month_index(as_of) - 12
        self.before = [p for p in month_periods(first_mi, as_of) if since_mi - 12 <= p.months[0] <= last_back]
        self.before = [p for p in self.before if p.label < self.since]
        # the months (and complete years) whose flow and average headcount flags the kept windows read
        self.window_months = [p for p in month_periods(first_mi, as_of) if look <= p.months[0] < since_mi]
        self.window_months += [p for p in year_periods(first_mi, as_of) if look <= p.months[0] < since_mi]
        days = {d for p in self.months + self.years for d in (p.first, p.last, year_ago(p.last), p.pay_prev)}
        days.update(p.last for p in self.before)
        self.snaps = snapshots(workers, days)
        self._grouped: dict[tuple[date, int], Groups] = {}
        self._counted: dict[tuple[date, int], Counter[SliceKey]] = {}
        self._pay: dict[date, PayDay] = {}
        self._paid: dict[tuple[date, int], PaidGroups] = {}

    def groups(self, day: date, age_year: int) -> Groups:
        key = (day, age_year)
        if key not in self._grouped:
            self._grouped[key] = group_snapshot(self.org, self.snaps[day], age_year)
        return self._grouped[key]

    def counts(self, day: date, age_year: int) -> Counter[SliceKey]:
        key = (day, age_year)
        if key not in self._counted:
            self._counted[key] = slice_counts(self.org, self.snaps[day], age_year)
        return self._counted[key]

    def pay(self, day: date) -> PayDay:
        pay = self._pay.get(day)
        if pay is None:
            pay = self._pay[day] = pay_day(self.snaps[day], day)
        return pay

    def paid(self, day: date, age_year: int) -> PaidGroups:
        key = (day, age_year)
        if key not in self._paid:
            self._paid[key] = paid_by_slice(self.org, self.pay(day), age_year)
        return self._paid[key]

    def run(self, refs: Sequence[ReferenceWage]) -> Cells:
        for period in self.before:
            banded = self.monthly.banded(period.months, period.age_year)
            headcount_end_cells(self.cells, period, banded, self.counts(period.last, period.age_year))
        for period in self.window_months:
            self._window_sources(period)
        for period in self.months:
            self._period(self.cells, period)
            self._grouped = {k: v for k, v in self._grouped.items() if k[0] >= year_ago(period.last)}
            self._counted = {k: v for k, v in self._counted.items() if k[0] >= year_ago(period.last)}
            self._pay = {k: v for k, v in self._pay.items() if k >= year_ago(period.last)}
            self._paid = {k: v for k, v in self._paid.items() if k[0] >= year_ago(period.last)}
        for period in self.years:
            self._year(period, refs)
        for end, stats in self.monthly.rolling(self.ends):
            rolling_cells(self.cells, month_start(end), stats)
        for month, members in sorted(cohorts(self.workers, self.as_of).items()):
            if not kept("cohort", month, self.since):
                continue
            by_slice = cohort_groups(self.org, members)
            cohort_cells(self.cells, month, cohort_figures(by_slice, self.as_of), self.as_of)
            on_time_cells(self.cells, month, on_time_figures(by_slice, self.as_of))
        for year, members in sorted(year_cohorts(self.workers, self.as_of).items()):
            if kept("year", year, self.since):  # v5: initial training on time by hire year too (complete years)
                by_slice = cohort_groups(self.org, members)
                on_time_cells(self.cells, year, on_time_figures(by_slice, self.as_of), kind="year")
                promoted_within_cells(self.cells, year, promoted_within(by_slice, self.as_of))
        return self.cells

    def _period(self, cells: Cells, period: Period) -> None:
        """Every month-style figure of one period, computed on the period's dates (a year: its year figures)."""
        age = period.age_year
        stats = self.monthly.banded(period.months, age)
        end_groups = self.groups(period.last, age)
        first: Snapshot = self.snaps[period.first]
        last: Snapshot = self.snaps[period.last]
        back = year_ago(period.last)
        flow_cells(cells, period, flow_figures(stats, self.counts(period.last, age)))
        kept = retention_figures(self.org, period, stats, (first, last), self.counts(period.first, age))
        retention_cells(cells, period, kept)
        tenure_cells(cells, period, tenure_figures(period, stats, end_groups))
        training_cells(cells, period, training_figures(stats))
        levels = levels_on(last, period.last)
        grade_cells(cells, period, grade_figures(stats), level_mix(end_groups, levels))
        if period.kind == "month":
            stable = stability_figures(self.org, period, stats, (self.snaps[back], last), self.counts(back, age))
            stability_cells(cells, period, stable)
            pay_cells(cells, period, pay_figures(stats, self.paid(period.last, age), self.pay(period.pay_prev)))
            pay_by_level_cells(cells, period, pay_by_level(stats, self.paid(period.last, age), levels))

    def _window_sources(self, period: Period) -> None:
        """The cells of a period before ``since`` that the kept windows' route rule reads (figures aside from the
        populations are not needed: they are dropped after suppression)."""
        scratch = Cells(self.cells.k)
        stats = self.monthly.banded(period.months, period.age_year)
        flow_cells(scratch, period, flow_figures(stats, {}))
        no_mix: LevelMix = {}
        grade_cells(scratch, period, grade_figures(stats), no_mix)
        for fam, rows in scratch.families.items():
            if fam[0] in WINDOW_SOURCES and not fam[3]:
                self.cells.families[fam] = rows

    def _year(self, period: Period, refs: Sequence[ReferenceWage]) -> None:
        scratch = Cells(self.cells.k)
        self._period(scratch, period)
        for fam, rows in scratch.families.items():
            if fam[0] in YEAR_INDICATORS:
                self.cells.families[fam] = rows
        stats = self.monthly.banded(period.months, period.age_year)
        quits = {
            w.key
            for w in self.workers
            for s in w.spells
            if s.separation is not None
            and s.separation.kind == "voluntary"
            and period.first <= s.separation.date <= period.last
        }
        jan1_paid = self.paid(period.first, period.age_year)
        turnover_by_quartile_cells(self.cells, period, quartile_quits(stats, jan1_paid, quits))
        jan1 = self.groups(period.first, period.age_year)
        turnover_by_promotion_cells(self.cells, period, promotion_groups(period, stats, jan1, quits))
        for key, amount in reference_slices(self.org, refs, period.label.year):
            totals = paid_totals(self.paid(period.last, period.age_year), key)
            reference_cell(self.cells, period, key, totals, amount)
