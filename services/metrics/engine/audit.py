"""The publish audit (METRICS.md v5, Suppression, "Audit"): what an attacker can still infer about hidden cells.

After the rules (``suppression.suppress``), every suppressed cell of the additive families is a variable of one
linear program whose constraints are the relations METRICS.md lists, with the published cells as constants and
counts >= 0:

  1. slices: across the values of one slice dimension the children sum to their parent (org units: to their
     nearest published ancestor; other dimensions: to ``all``) - period-end headcount, person-days, flows, reasons,
     trainee-times, training hours, transfers, promotions, demotions and lateral regrades, the workers at each
     level (the grade mix's numerators), pay totals, rolling-12 numerators and denominators;
  2. months: a year's flows, trainee-times and hours are the sums of its months, its average headcount the mean of
     its 12 monthly averages, its period-end headcount its December's;
  3. rolling 12: a window's numerator is the sum of its 12 months' flow, its denominator the mean of their average
     headcounts;
  4. categories: separations = voluntary + involuntary + other = the sum over reasons; trainee-times and training
     hours = the sums over course kinds; the base and allowances pay totals make the total;
  5. a published rate or ratio gives its numerator and denominator cells; ``net_change`` is hires - separations in
     every cell, and sums across slices like a count (it may be negative);
  6. org and service-model slices: period-end headcount = that of the month before + hires - separations +
     transfers in - transfers out;
  7. pay: a pay total is the mean times the paid workers (the population), summed as in 1 and 4.

A relation is used where it holds exactly on the true figures (a district whose own staff are not in a street is
larger than the sum of its streets: there the audit uses "children <= parent"), so the audit never assumes less
than an attacker who knows the definitions.

The published cells through which a hidden cell is known to leak exactly (rolling-12 windows over a hidden month, a
year's period-end headcount whose December is hidden, a year's average headcount or training hours with exactly one
hidden month) are already hidden by the rules' route rule (``suppression``, reason ``secondary``), which runs again
after each round of the audit.

For each suppressed cell the audit then needs the feasible interval to be at least ``max(2, 20 % of the true value)``
wide. LPs that push the unproven cells in random directions (while each push proves at least ``PUSH_GAIN`` more) prove
most cells at once: the interval holds every solution and the truth. They solve over the region around the unproven
cells (the variables of the 10, then 100, then 1,000 rows nearest each) with every other hidden cell held at its
truth, so each solution is a point of the whole table's feasible set; after a round's first pushes the unproven cells
are a few hundred in a block of tens of thousands, and their region is what an LP needs. Each remaining cell gets a
min and max LP over its neighbourhood (the 100, then 1,000 rows nearest it): a subset of the constraints, so an
interval too narrow there is too narrow in the whole table, and one that is its whole block decides it. A cell still
undecided is proven on those neighbourhoods with every other cell held at its truth; the few left get min and max
LPs over their independent block. In a block of more than 10,000 rows (a long history links every month of a unit)
such an LP takes seconds, so only when at most 12 of its cells are left do they get them, and otherwise they are
treated as leaking: that may hide more than needed, never less. A cell is
leaking when all of its modelled parts are too narrow (a rolling window whose denominator is the mean of published
months, but whose numerator is protected, gives nobody's figure away). A leak is closed by hiding a published cell of
the rows that bind its interval (the LP's non-zero duals; else of its own relations; else of the nearest rows that have
one), derived cells (years, windows, rates) before months, then the smallest population; a cell found leaking again gets
2, 4, 8 ... of them. The rules run again, and so does the audit, until it passes or gives up (the publish is then held
back). Hiding a cell only removes constraints, so a cell proven wide stays proven in later rounds; the relations are
built once per audit, and each round takes those with a hidden term.

From one publish to the next (``audit_table``'s ``prior`` and ``proofs``): the cells the last table hid for the
audit (reason ``audit``: its picks and what the rules hid because of them) are hidden again first, so a table of the
same figures is the same table; and the feasible points that proved the last table's cells are checked against the
new table's relations on its own truth, each independent part of a point (its moved cells that share a relation) on
its own: a part that still holds proves its cells without an LP. A refresh changes a few months' figures, so most
parts hold and only the cells around the change get LPs.

Cells whose true value is 0 need no width: they say nothing about any worker, and protecting them would hide
every zero parent up to the program row (see docs/contract.md, "Audit"). A slice value without a row has an empty
population: its figures are a known 0 in the relations, as they are to an attacker.

Status (issue 12): ``compute(audit=True)`` runs it, and the metrics service with METRICS_AUDIT=true on every
publish. It passes on the edge-case logs (seed 7 at k = 5: 11 rounds, ~4,800 cells hidden, ~50 s) and on half a
year of the simulator's 300 workers (~7 s), and the independent attacker (tests/attack) then rebuilds nothing. Its
time grows fast with the history: 300 workers over 23 months pass in about 3 minutes (25 rounds, 168-225 s alone;
before the large blocks' neighbourhood proofs they did not finish in 20), so the service's default is off; with the
last audit's points (kept in ClickHouse across restarts), a refresh of that table with a week's events takes 12-20 s
mid-month (one round to nine, by the week) and ~35 s at a month end. Measured in
``make bench`` (bench.disclosure; docs/benchmarks/audit-2026-12-07.md, audit-refresh-2026-12-07.md).

Pure: reads and flags ``Cells``; no I/O.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date

import highspy
import numpy as np

from .cells import Cells, Family
from .dates import month_end
from .model import IndicatorRow
from .orgs import OrgTree, SliceKey
from .slices import ALL
from .suppression import FLOW_COUNTS, WINDOW_FLOWS, suppress

AUDIT = "audit"
# The additive counts: period-end headcount, the month-in-year flow counts of the rules, and training hours.
COUNTS = ("headcount_end", *sorted(FLOW_COUNTS), "training_hours")
ROLLING_FLOW = WINDOW_FLOWS  # a rolling-12 rate -> the flow its numerator sums over its months
# A published rate's numerator / denominator are these cells of its slice and period (relation 5).
RATE_PARTS: dict[str, tuple[tuple[str, str] | None, tuple[str, str] | None]] = {
    "separation_rate": (("separations", ""), ("headcount_avg", "")),
    "voluntary_rate": (("separations_voluntary", ""), ("headcount_avg", "")),
    "involuntary_rate": (("separations_involuntary", ""), ("headcount_avg", "")),
    "hires_rate": (("hires", ""), ("headcount_avg", "")),
    "promotion_rate": (("promotions", ""), ("headcount_avg", "")),
    "training_hours_per_worker": (("training_hours", "all"), ("headcount_avg", "")),
    "replacement_ratio": (("hires", ""), ("separations", "")),
}
FLOW_TERMS = (("hires", -1.0), ("separations", 1.0), ("transfers_in", -1.0), ("transfers_out", 1.0))
FLOW_SLICES = frozenset({"all", "org", "service_model"})  # where relation 6 is meant to hold
SIGNED = frozenset({"net_change"})  # may be negative (every other audited quantity is a count or total >= 0)
TOL = 1e-6
REACH = 40.0  # caps at truth + 40 widths: beyond the largest ratio of coefficients in one relation (12)
BATCHES = 40  # pushes over the whole table at most; they stop when one proves fewer than PUSH_GAIN more cells
PUSH_GAIN = 10
LARGE = 10_000  # rows: a block beyond this gets its LPs only for the cells its neighbourhoods settle nothing for
EXACT = 12  # ... and only when at most this many; more are treated as leaking
SIMPLEX_ITERATIONS = 50_000  # a push's simplex iterations before it is left to the interior-point method (``solve``)
COLD = 20_000  # variables: an LP this large is solved afresh each time, not from its last basis (``_LP.solve``)
REGION = (10, 100, 1000)  # the pushes solve over the variables of this many rows nearest each open cell
NEAR = (100, 1000)  # rows of the neighbourhoods tried per cell, nearest first
NEAR_PAIRS = 200_000  # ``_near`` walks this many rows' worth of seeds at once (the seeds' rings grow beyond it)
SHARE = 1e-3  # a carried point's part that holds for less than this share of its move is dropped (``_holding``)
EXTEND = 3  # ... and it is extended to the variables that a broken relation alone leaves unmoved, this many times

Quantity = tuple[Family, SliceKey, str]  # cell and part: "v" value, "tot" pay total, "num" / "den" of a rolling row
Var = Hashable  # a hidden quantity in the LPs: the model numbers its quantities (``_Relations.names``)
Term = tuple[Var, float]
Ref = tuple[Family, SliceKey]


@dataclass
class AuditReport:
    """What one audit did; ``passed`` False means the table must not be published (``problem`` says why)."""

    cells_checked: int = 0
    hidden: int = 0
    blocks: int = 0
    lps: int = 0
    rounds: int = 0
    relations: int = 0
    seconds: float = 0.0
    passed: bool = True
    problem: str = ""
    leaks: list[str] = field(default_factory=list)
    leaking: int = 0  # cells found too narrow in the last round
    carried: int = 0  # cells hidden again because the last published table hid them for the audit (``prior``)
    reused: int = 0  # cells proven wide by the last audit's points (``proofs``), still feasible in this table
    proofs: Proofs | None = field(default=None, repr=False, compare=False)  # this audit's, for the next one


@dataclass(frozen=True, slots=True)
class _Row:
    """``lo <= sum(coef * var) <= hi`` over hidden variables (published terms folded into the bounds)."""

    terms: tuple[Term, ...]
    lo: float
    hi: float
    shown: tuple[tuple[Family, SliceKey], ...]  # the published cells it was built from (candidates to hide)


@dataclass(frozen=True, slots=True)
class Proofs:
    """Points of an audited table's feasible set that proved its hidden cells wide, for the next audit to try first.

    Each point is a move from the truth (``moves``: indices into ``quantities`` and how far each moved; every other
    hidden quantity at its truth). A point that satisfies every relation of the next table, on its own true figures,
    is a point of that table's feasible set too; with the truth, its spread proves what it proved before, without an
    LP (a refresh changes a few months' figures and hidden cells, so most points still hold). One that does not is
    dropped: its cells get LPs as usual. Nothing here is trusted; it only saves solving for what it still proves.
    """

    quantities: tuple[Quantity, ...] = ()
    moves: tuple[tuple[np.ndarray, np.ndarray], ...] = ()

    @property
    def entries(self) -> int:
        """How many figures the points hold (their memory is about 12 bytes each)."""
        return sum(len(index) for index, _ in self.moves)


class _Points:
    """The points an audit's LPs found that prove a cell (moves from the truth over model variables), and, per
    proven variable, the two that give its lowest and highest value (-1: the truth itself): ``Proofs`` once exported.
    ``carried`` holds the last audit's, in this model's variables, until the first round checks them."""

    def __init__(self) -> None:
        self.moves: list[tuple[np.ndarray, np.ndarray]] = []
        self.of: dict[Var, tuple[int, int]] = {}
        self.carried: list[tuple[np.ndarray, np.ndarray]] = []
        self.known = np.zeros(0, dtype=np.int64)  # the variables whose quantities the last table had too

    def add(self, variables: np.ndarray, delta: np.ndarray) -> int:
        keep = np.abs(delta) > 1e-9
        self.moves.append((variables[keep].astype(np.int32), delta[keep]))
        return len(self.moves) - 1

    def load(self, proofs: Proofs, ids: dict[Quantity, int]) -> None:
        """The points of ``proofs`` whose moved quantities are all variables of this model (the others cannot hold)."""
        mapped = np.array([ids.get(q, -1) for q in proofs.quantities], dtype=np.int64)
        self.known = mapped[mapped >= 0]
        for index, delta in proofs.moves:
            variables = mapped[index]
            if (variables >= 0).all():
                self.carried.append((variables, delta))

    def export(self, names: dict[Var, Quantity]) -> Proofs:
        """The points some proven variable still names, over quantities (a model's numbers are its own)."""
        used = sorted({p for pair in self.of.values() for p in pair if p >= 0})
        return Proofs(tuple(names[v] for v in range(len(names))), tuple(self.moves[p] for p in used))


def _month_days(period: date, as_of: date) -> int:
    last = min(month_end(period.year * 12 + period.month - 1), as_of)
    return (last - period).days + 1


def _year_days(period: date) -> int:
    return (date(period.year + 1, 1, 1) - period).days


class _Relations:
    """``_Model.relations`` as flat arrays over their terms, so that a round finds its rows with a few array passes."""

    def __init__(self, relations: list[tuple[tuple[tuple[Quantity, float, int, float], ...], bool, int, bool]]) -> None:
        ids: dict[Quantity, int] = {}
        terms = [term for found, _, _, _ in relations for term in found]
        self.size = np.array([len(found) for found, _, _, _ in relations], dtype=np.int64)
        self.start = np.concatenate(([0], np.cumsum(self.size)[:-1])).astype(np.int64)
        self.var = np.array([ids.setdefault(var, len(ids)) for var, _, _, _ in terms], dtype=np.int64)
        self.coef = np.array([coef for _, coef, _, _ in terms], dtype=np.float64)
        self.cell = np.array([cell for _, _, cell, _ in terms], dtype=np.int64)
        self.value = np.array([value for _, _, _, value in terms], dtype=np.float64)
        self.guard = np.array([guard for _, _, guard, _ in relations], dtype=np.int64)
        self.holds = np.array([holds for _, _, _, holds in relations], dtype=bool)
        self.ids = ids  # the variable of each quantity
        self.cell_of = np.zeros(len(ids), dtype=np.int64)  # the cell of each variable
        self.cell_of[self.var] = self.cell
        self.names: dict[Var, Quantity] = {i: name for name, i in ids.items()}  # the quantity of each ``var``
        self.signed = frozenset(i for i, name in self.names.items() if name[0][0] in SIGNED)


class _Model:
    """The relations of one table, built once for an audit: the cells' figures do not change between rounds, only
    which are hidden, so each round takes its rows from the same relations (``rows``)."""

    def __init__(self, cells: Cells, org: OrgTree, as_of: date) -> None:
        # in key order, not the order an engine wrote them: the LPs' rows, and so the cells an audit round picks
        # among equal choices, are the same for both engines (tests/integration/test_warehouse_stream.py)
        self.fams = {fam: dict(sorted(rows.items())) for fam, rows in sorted(cells.families.items())}
        self.as_of = as_of
        self.refs: list[Ref] = [(fam, key) for fam, rows in self.fams.items() for key in rows]
        self.cell_of = {ref: i for i, ref in enumerate(self.refs)}
        # each relation: its terms (variable, coefficient, cell, true value), whether "<= 0", the cell it needs
        # published (a rate's), and whether it holds on the truth; one that does not (or names a family without a
        # row) is kept for its terms: their hidden cells are checked all the same (``truth``), as an attacker sees
        # them, but it gives no row
        self.relations: list[tuple[tuple[tuple[Quantity, float, int, float], ...], bool, int, bool]] = []
        self.arrays = _Relations([])  # the same, as arrays, once built (``build``)
        self._terms: tuple[list[int], list[float], list[int]] = ([], [], [])  # the arrays' var, coef and cell
        self._rows: dict[int, _Row] = {}  # each relation's row as last built (``round_rows``)
        self._hidden = np.zeros(len(self.refs) + 1, dtype=bool)  # the hidden flags the rows were built with
        self.rows: list[_Row] = []
        self.truth: dict[Var, float] = {}
        self.kept = 0
        slices: set[SliceKey] = set()
        for rows in self.fams.values():
            slices.update(rows)
        self.children: dict[tuple[SliceKey, str], list[SliceKey]] = defaultdict(list)
        for key in sorted(slices):
            if key == ALL:
                continue
            if key[0] == "org":
                up = org.published_parent(key[1])
                parent = ("org", up) if up is not None else ALL
            else:
                parent = ALL
            self.children[(parent, key[0])].append(key)

    # ---- quantities ------------------------------------------------------------------------------------------
    def relation(
        self, terms: Iterable[tuple[Family, SliceKey, str, float]], *, at_most: bool = False, guard: Ref | None = None
    ) -> None:
        """Record ``sum(coef * part) == 0`` (``<= 0`` with ``at_most``); a slice value without a row is a known 0
        (its term drops out), a family or program row without one makes the relation unknown to an attacker too.
        Whether it holds on the truth is judged here; whether it has a hidden term, each round (``rows``)."""
        found: list[tuple[Quantity, float, int, float]] = []
        total = 0.0
        scale = 1.0
        holds = True
        for fam, key, part, coef in terms:
            rows = self.fams.get(fam)
            row = None if rows is None else rows.get(key)
            if row is None:
                if rows is None or key == ALL:
                    holds = False
                    break
                continue  # an empty population: a known 0
            value = _part(row, part)
            total += coef * value
            scale = max(scale, abs(coef * value))
            found.append(((fam, key, part), coef, self.cell_of[(fam, key)], value))
        if holds and (total > TOL * scale or (not at_most and total < -TOL * scale)):
            holds = False
        if found:
            self.relations.append((tuple(found), at_most, -1 if guard is None else self.cell_of[guard], holds))

    def round_rows(self, cells: Cells) -> None:
        """This round's rows (``rows``), over the hidden quantities of ``cells``, and their true values (``truth``):
        the relations with a hidden term, the published terms folded into the bounds. A relation's row is built again
        only when one of its cells was hidden since the last round (the others' rows are as they were; in the first
        round every relation with a hidden term has one)."""
        rel = self.arrays
        hidden = np.array([cells.families[fam][key].suppressed for fam, key in self.refs] + [False], dtype=bool)
        term_hidden = hidden[rel.cell]
        active = (np.add.reduceat(term_hidden, rel.start) > 0) & ~hidden[rel.guard]  # guard -1: the False at the end
        in_active = np.repeat(active, rel.size)
        seen = np.flatnonzero(term_hidden & in_active)
        self.truth = dict(zip(rel.var[seen].tolist(), rel.value[seen].tolist(), strict=True))
        const = np.add.reduceat(np.where(term_hidden, 0.0, rel.coef * rel.value), rel.start)
        changed = hidden != self._hidden
        stale = np.add.reduceat(changed[rel.cell], rel.start) > 0
        self._hidden = hidden
        var, coef, cell = self._terms
        for r in np.flatnonzero(active & rel.holds & stale).tolist():
            span = range(rel.start[r], rel.start[r] + rel.size[r])
            own = tuple((var[t], coef[t]) for t in span if hidden[cell[t]])
            shown = tuple(self.refs[cell[t]] for t in span if not hidden[cell[t]])
            self._rows[r] = _Row(own, -np.inf if self.relations[r][1] else -const[r], -const[r], shown)
        self.rows = [self._rows[r] for r in np.flatnonzero(active & rel.holds).tolist()]
        self.kept = len(self.rows)

    def group(self, fam: Family, part: str, coef: float = 1.0, *, signed: bool = False) -> None:
        """Relation 1 for one family: every parent with its children, per slice dimension (for a ``signed``
        quantity, such as ``net_change``, only where it holds exactly: "children <= parent" needs parts >= 0)."""
        rows = self.fams.get(fam)
        if not rows:
            return
        for (parent, _dim), kids in self.children.items():
            if parent not in rows:
                continue
            present = [kid for kid in kids if kid in rows]
            if not present:
                continue
            terms = [(fam, kid, part, coef) for kid in present] + [(fam, parent, part, -coef)]
            gap = abs(sum(_part(rows[kid], part) for kid in present) - _part(rows[parent], part))
            inexact = gap > TOL * max(1.0, abs(_part(rows[parent], part)))
            if inexact and signed:
                continue
            self.relation(terms, at_most=inexact)

    def build(self) -> None:
        """Record every relation of the table (``relations``, then ``arrays``)."""
        by_ind: dict[str, list[Family]] = defaultdict(list)
        for fam in self.fams:
            by_ind[fam[0]].append(fam)
        # 1. slices
        for name in (*COUNTS, "headcount_avg"):
            for fam in by_ind.get(name, ()):
                self.group(fam, "v", self._days(fam) if name == "headcount_avg" else 1.0)
        for fam in by_ind.get("pay_mean", ()):
            self.group(fam, "tot")
        for fam in by_ind.get("net_change", ()):
            self.group(fam, "v", signed=True)
        for fam in by_ind.get("grade_mix", ()):  # workers at a level at the period's end add up like headcount
            self.group(fam, "num")
        for name in ROLLING_FLOW:
            for fam in by_ind.get(name, ()):
                if fam[1] == "rolling12":
                    self.group(fam, "num")
                    self.group(fam, "den")
        keys_of = {fam: list(rows) for fam, rows in self.fams.items()}
        # 2. months -> year
        for name in (*COUNTS, "headcount_avg"):
            for year in by_ind.get(name, ()):
                if year[1] != "year":
                    continue
                _, _, period, cat = year
                months = [(name, "month", date(period.year, m, 1), cat) for m in range(1, 13)]
                for key in keys_of[year]:
                    if name == "headcount_end":
                        self.relation([(year, key, "v", 1.0), (months[-1], key, "v", -1.0)])
                    elif name == "headcount_avg":  # the mean of its 12 monthly averages (METRICS.md, Headcount)
                        self.relation([(year, key, "v", 12.0)] + [(m, key, "v", -1.0) for m in months])
                    else:
                        self.relation([(year, key, "v", 1.0)] + [(m, key, "v", -1.0) for m in months])
        # 3. rolling windows
        for name, flow in ROLLING_FLOW.items():
            for fam in by_ind.get(name, ()):
                if fam[1] != "rolling12":
                    continue
                last = fam[2].year * 12 + fam[2].month - 1
                window = [date(mi // 12, mi % 12 + 1, 1) for mi in range(last - 11, last + 1)]
                flows = [(flow, "month", m, "") for m in window]
                averages = [("headcount_avg", "month", m, "") for m in window]
                for key in keys_of[fam]:
                    self.relation([(fam, key, "num", 1.0), *((f, key, "v", -1.0) for f in flows)])
                    self.relation([(fam, key, "den", 12.0), *((a, key, "v", -1.0) for a in averages)])
        # 4. categories, 5. published rates, 6. flow identity
        first_month = min((fam[2] for fam in self.fams if fam[1] == "month"), default=date.max)
        for fam in list(self.fams):
            ind, kind, period, cat = fam
            if ind == "separations" and kind in ("month", "year"):
                parts = ("separations_voluntary", "separations_involuntary", "separations_other")
                reasons = [f for f in by_ind.get("separations_by_reason", ()) if f[1:3] == (kind, period)]
                for key in keys_of[fam]:
                    self.relation([(fam, key, "v", 1.0)] + [((p, kind, period, ""), key, "v", -1.0) for p in parts])
                    self.relation(
                        [(fam, key, "v", 1.0)] + [(r, key, "v", -1.0) for r in reasons if key in self.fams[r]]
                    )
            elif ind in ("trainee_times", "training_hours") and cat in ("", "all"):
                kinds = [f for f in by_ind[ind] if f[1:3] == (kind, period) and f[3] not in ("", "all")]
                for key in keys_of[fam]:
                    self.relation([(fam, key, "v", 1.0)] + [(f, key, "v", -1.0) for f in kinds if key in self.fams[f]])
            elif ind == "pay_mean" and cat == "total":
                for key in keys_of[fam]:
                    self.relation(
                        [
                            (fam, key, "tot", 1.0),
                            ((ind, kind, period, "base"), key, "tot", -1.0),
                            ((ind, kind, period, "allowances"), key, "tot", -1.0),
                        ]
                    )
            elif ind in RATE_PARTS and kind in ("month", "year"):
                self._rate(fam)
            elif ind == "net_change":
                for key in keys_of[fam]:  # hires - separations - net_change = 0
                    self.relation(
                        [
                            (("hires", kind, period, ""), key, "v", 1.0),
                            (fam, key, "v", -1.0),
                            (("separations", kind, period, ""), key, "v", -1.0),
                        ]
                    )
            elif ind == "headcount_end" and kind == "month":
                before = month_end(period.year * 12 + period.month - 2).replace(day=1)
                # the table's first month starts from nobody (months begin with the first event): a known 0
                previous = [] if before < first_month else [(("headcount_end", "month", before, ""), -1.0)]
                for key in keys_of[fam]:
                    if key[0] in FLOW_SLICES:
                        self.relation(
                            [(fam, key, "v", 1.0)]
                            + [(f, key, "v", c) for f, c in previous]
                            + [
                                ((f, "month", period, ""), key, "v", c)
                                for f, c in FLOW_TERMS
                                if key[0] == "org" or not f.startswith("transfers")  # org cells only
                            ]
                        )

        self.arrays = _Relations(self.relations)
        rel = self.arrays
        self._terms = (rel.var.tolist(), rel.coef.tolist(), rel.cell.tolist())

    def _rate(self, fam: Family) -> None:
        """Relation 5: a published rate's numerator and denominator are its parts' cells (while it is published)."""
        ind, kind, period, _ = fam
        for key, row in self.fams[fam].items():
            for part, ref in zip(("num", "den"), RATE_PARTS[ind], strict=True):
                if ref is not None and (row.numerator if part == "num" else row.denominator) is not None:
                    self.relation(
                        [((ref[0], kind, period, ref[1]), key, "v", 1.0), (fam, key, part, -1.0)], guard=(fam, key)
                    )

    def _days(self, fam: Family) -> float:
        return float(_year_days(fam[2]) if fam[1] == "year" else _month_days(fam[2], self.as_of))


def _part(row: IndicatorRow, part: str) -> float:
    if part == "v":
        return float(row.value or 0.0)
    if part == "tot":
        return float(row.value or 0.0) * row.workers
    if part == "num":
        return float(row.numerator or 0.0)
    return float(row.denominator or 0.0)  # "den"


def widths(truth: np.ndarray) -> np.ndarray:
    """The protection width of METRICS.md, max(2, 20 % of the true value), for each cell that counts someone; a cell
    whose true value is 0 says nothing about any worker and needs none (see docs/contract.md, "Audit")."""
    size = np.abs(truth)
    return np.where(size > TOL, np.maximum(2.0, 0.2 * size), 0.0)


def width(truth: float) -> float:
    """``widths`` of one cell."""
    return float(widths(np.array([truth], dtype=np.float64))[0])


def _blocks(rows: list[_Row]) -> list[list[int]]:
    """Row indices per connected block (rows sharing a variable), blocks in the order of their first row."""
    index: dict[Var, int] = {}
    cols = np.array([index.setdefault(var, len(index)) for row in rows for var, _ in row.terms], dtype=np.int64)
    sizes = [len(row.terms) for row in rows]
    label = _components(cols, np.repeat(np.arange(len(rows)), sizes), len(index), len(rows))
    first = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    out: dict[int, list[int]] = defaultdict(list)
    for i, root in enumerate(label[cols[first]].tolist()):
        out[root].append(i)
    return list(out.values())


def _components(cols: np.ndarray, row_of: np.ndarray, ncols: int, nrows: int) -> np.ndarray:
    """Each column's connected component, labelled by its least column (terms ``cols`` of rows ``row_of``; columns
    sharing a row are connected; a column in no term is alone)."""
    label = np.arange(ncols)
    while True:  # each column takes the least label of its rows' columns, then labels jump to their labels' own
        least = np.full(nrows, ncols)
        np.minimum.at(least, row_of, label[cols])
        new = label.copy()
        np.minimum.at(new, cols, least[row_of])
        while not np.array_equal(new[new], new):
            new = new[new]
        if np.array_equal(new, label):
            return label
        label = new


class _Graph:
    """Rows as arrays: each row's terms (columns numbered in row order, as ``_LP.vars``) and each column's rows, so
    that the neighbourhoods (``_near``), the regions (``_region``) and the LPs over some of the rows (``lp``) are a
    few array passes rather than walks over Python sets. Built once per audit round over its rows."""

    def __init__(self, rows: list[_Row], truth: dict[Var, float], signed: Collection[Var] = ()) -> None:
        self.rows = rows
        index: dict[Var, int] = {}
        cols = [index.setdefault(var, len(index)) for row in rows for var, _ in row.terms]
        self.index = index
        self.vars: list[Var] = list(index)  # in the order of their first row
        self.cols = np.array(cols, dtype=np.int64)
        self.coefs = np.array([coef for row in rows for _, coef in row.terms], dtype=np.float64)
        self.sizes = np.array([len(row.terms) for row in rows], dtype=np.int64)
        self.starts = np.concatenate(([0], np.cumsum(self.sizes)[:-1])).astype(np.int64)
        self.row_of = np.repeat(np.arange(len(rows), dtype=np.int64), self.sizes)
        self.lo = np.array([row.lo for row in rows], dtype=np.float64)
        self.hi = np.array([row.hi for row in rows], dtype=np.float64)
        self.truth = np.array([truth[var] for var in self.vars], dtype=np.float64)
        self.below = np.array([var in signed for var in self.vars], dtype=bool)
        order = np.argsort(self.cols, kind="stable")
        self.col_rows = self.row_of[order]  # each column's rows, ascending
        self.col_count = np.bincount(self.cols, minlength=len(self.vars))
        self.col_start = np.concatenate(([0], np.cumsum(self.col_count)[:-1])).astype(np.int64)

    def rows_of(self, cols: np.ndarray) -> np.ndarray:
        """The rows that hold a column of ``cols``, ascending."""
        return np.unique(self.col_rows[_spans(self.col_start[cols], self.col_count[cols])])

    def cols_of(self, rows: np.ndarray) -> np.ndarray:
        """The columns of the terms of ``rows``, ascending."""
        return np.unique(self.cols[_spans(self.starts[rows], self.sizes[rows])])

    def lp(self, rows: np.ndarray, free: np.ndarray | None = None) -> _LP:
        """The LP over ``rows`` (ascending): with ``free`` (a mask over the columns) only its columns are variables,
        every other term held at its truth and folded into the row's bounds."""
        span = _spans(self.starts[rows], self.sizes[rows])
        row_at = np.repeat(np.arange(len(rows), dtype=np.int64), self.sizes[rows])
        cols, coefs = self.cols[span], self.coefs[span]
        lo, hi = self.lo[rows], self.hi[rows]
        if free is not None:
            keep = free[cols]
            held = np.bincount(row_at[~keep], coefs[~keep] * self.truth[cols[~keep]], len(rows))
            lo, hi = lo - held, hi - held
            cols, coefs, row_at = cols[keep], coefs[keep], row_at[keep]
        used, first, local = np.unique(cols, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")  # the LP's variables in the order of their first row
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        at = used[order]
        return _LP(
            [self.rows[i] for i in rows.tolist()],
            [self.vars[c] for c in at.tolist()],
            self.truth[at],
            self.below[at],
            np.bincount(row_at, minlength=len(rows)),
            rank[local],
            coefs,
            lo,
            hi,
            at,
        )


class _LP:
    """One HiGHS model over some rows; variables capped at truth + ``REACH`` x width: a cap that binds proves the
    width, and is far enough not to pin another cell through a relation (a year's average is a twelfth of its
    months' sum: a cap of 3 widths on a lone month would cap the year at a quarter of a width).

    Built by ``_Graph.lp`` (or ``of`` for rows of their own): ``rows`` are the rows it was built from (for their
    published cells, ``binding``; a held variable's term is in its bounds instead), ``at`` its variables' columns in
    that graph."""

    def __init__(
        self,
        rows: list[_Row],
        variables: list[Var],
        truth: np.ndarray,
        below: np.ndarray,
        sizes: np.ndarray,
        cols: np.ndarray,
        coefs: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        at: np.ndarray,
    ) -> None:
        self.rows = rows
        self.duals = np.zeros(len(rows))
        self.vars = variables  # in row order
        self.at = at
        self.truth = truth
        self.need = widths(self.truth)
        self.cap = self.truth + REACH * np.maximum(self.need, 2.0)
        # counts are >= 0; a signed quantity (net_change) gets a floor as far below its truth as the cap is above
        self.below = below
        self.floor = np.where(self.below, self.truth - REACH * np.maximum(self.need, 2.0), 0.0)
        self.starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int32)
        self.cols = cols.astype(np.int32)
        self.coefs = coefs
        self.row_of = np.repeat(np.arange(len(rows), dtype=np.int32), sizes)
        self.lo = lo
        self.hi = hi
        self._h: highspy.Highs | None = None
        self._index: dict[Var, int] | None = None
        self.solves = 0
        self.steady = False  # set for the pushes over many cells (``solve``)

    @classmethod
    def of(cls, rows: list[_Row], truth: dict[Var, float], signed: Collection[Var] = ()) -> _LP:
        """The LP over ``rows``, every variable of theirs free."""
        return _Graph(rows, truth, signed).lp(np.arange(len(rows), dtype=np.int64))

    @property
    def index(self) -> dict[Var, int]:
        """Each variable's column."""
        if self._index is None:
            self._index = {var: i for i, var in enumerate(self.vars)}
        return self._index

    @property
    def h(self) -> highspy.Highs:
        """The HiGHS model, built at the first solve (the outer box needs none)."""
        if self._h is None:
            h = highspy.Highs()  # type: ignore[no-untyped-call]
            h.setOptionValue("output_flag", False)
            h.addVars(len(self.vars), self.floor, self.cap)
            lower = np.where(np.isneginf(self.lo), -highspy.kHighsInf, self.lo)
            h.addRows(len(self.rows), lower, self.hi, len(self.cols), self.starts, self.cols, self.coefs)
            self._h = h
        return self._h

    def outer(self, passes: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """Bounds every feasible point keeps (interval propagation over the rows, from 0 and the caps): an outer
        box, so a cell narrower than its width here is narrower in the LP too."""
        low, high = self.floor.copy(), self.cap.copy()
        c, col, row = self.coefs, self.cols, self.row_of
        nrows = len(self.lo)
        for _ in range(passes):
            least = np.where(c > 0, c * low[col], c * high[col])  # each term's smallest and largest contribution
            most = np.where(c > 0, c * high[col], c * low[col])
            act_lo = np.bincount(row, least, nrows)
            act_hi = np.bincount(row, most, nrows)
            # c x <= hi - (act_lo - least), c x >= lo - (act_hi - most)
            top = self.hi[row] - (act_lo[row] - least)
            bottom = self.lo[row] - (act_hi[row] - most)
            upper = np.where(c > 0, top / c, bottom / c)
            lower = np.where(c > 0, bottom / c, top / c)
            new_high, new_low = high.copy(), low.copy()
            np.minimum.at(new_high, col, upper)
            np.maximum.at(new_low, col, lower)
            new_low = np.minimum(new_low, self.truth)  # rounding never excludes the truth
            new_high = np.maximum(new_high, self.truth)
            if np.allclose(new_low, low) and np.allclose(new_high, high):
                break
            low, high = new_low, new_high
        return low, high

    def solve(self, cost: np.ndarray) -> np.ndarray | None:
        self.h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost.astype(np.float64))
        if len(self.vars) > COLD:
            # From the last basis HiGHS goes straight to the simplex method on the whole model; afresh, its presolve
            # first removes most of it. A push over a region of 40,000-50,000 variables took 2-10 s from the last
            # basis and 0.6-0.9 s afresh; below ~20,000 the basis is worth more (audit-refresh-2026-12-07.md).
            self.h.clearSolver()
        if self.steady:
            # the simplex method, but not for long: now and then it takes minutes over one push. The limit counts
            # iterations, not seconds, so the same table takes the same path on any machine under any load (HiGHS's
            # time limit also counts every earlier run of the model: ten seconds of pushes sent all later ones on).
            self.h.setOptionValue("simplex_iteration_limit", SIMPLEX_ITERATIONS)
        self.h.run()
        if self.steady and self.h.getModelStatus() == highspy.HighsModelStatus.kIterationLimit:
            # then the interior-point method, whose time is steady; no crossover: its point is feasible to ~1e-9,
            # far inside the widths, and a push needs no basis
            self.h.setOptionValue("solver", "ipm")
            self.h.setOptionValue("run_crossover", "off")
            self.h.run()
            self.h.setOptionValue("solver", "choose")
            self.h.setOptionValue("run_crossover", "on")
        self.solves += 1
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        solution = self.h.getSolution()
        self.duals = np.array(solution.row_dual)
        return np.array(solution.col_value)

    def binding(self) -> set[Ref]:
        """The published cells of the rows binding at the last optimum (non-zero duals): the rows that certify
        the bound, so hiding one of their cells is what can widen it."""
        return {ref for i in np.flatnonzero(np.abs(self.duals) > 1e-9).tolist() for ref in self.rows[i].shown}


class _Spread:
    """The lowest and highest value each variable of ``lp`` has taken over the feasible points seen (the truth among
    them), and which of ``points`` gave them, so that a variable proven wide names its proof (``prove``)."""

    def __init__(self, lp: _LP, points: _Points | None) -> None:
        self.lp, self.points = lp, points
        self.lo, self.hi = lp.truth.copy(), lp.truth.copy()
        self.lo_at = np.full(len(lp.vars), -1, dtype=np.int64)  # -1: the truth
        self.hi_at = np.full(len(lp.vars), -1, dtype=np.int64)

    def take(self, cols: np.ndarray, values: np.ndarray, variables: Iterable[Var], track: np.ndarray) -> None:
        """Widen by a feasible point: ``values`` of ``cols`` (the model's ``variables``, in that order), every other
        hidden cell at its truth; it is kept in ``points`` when it widens a variable of ``cols[track]``."""
        low = track & (values < self.lo[cols])
        high = track & (values > self.hi[cols])
        if self.points is not None and (low.any() or high.any()):
            p = self.points.add(np.fromiter(variables, dtype=np.int64, count=len(cols)), values - self.lp.truth[cols])
            self.lo_at[cols[low]], self.hi_at[cols[high]] = p, p
        self.lo[cols] = np.minimum(self.lo[cols], values)
        self.hi[cols] = np.maximum(self.hi[cols], values)

    def wide(self) -> np.ndarray:
        wide: np.ndarray = self.hi - self.lo >= self.lp.need - TOL
        return wide

    def prove(self, col: int) -> None:
        """Name the points that prove ``col`` wide (``_Points.of``)."""
        if self.points is not None:
            self.points.of[self.lp.vars[col]] = (int(self.lo_at[col]), int(self.hi_at[col]))


def _intervals(
    rows: list[_Row],
    truth: dict[Var, float],
    report: AuditReport,
    proven: set[Var] | None = None,
    why: dict[Var, set[Ref]] | None = None,
    signed: Collection[Var] = (),
    points: _Points | None = None,
    settle: bool = False,
) -> dict[Var, tuple[float, float]]:
    """The variables whose feasible interval is narrower than their width, with that interval; ``signed`` are those
    that may be negative (``net_change``: floored as far below their truth as they are capped above).

    ``points`` (updated in place) collects the feasible points that prove a variable; its ``carried`` points (the
    last audit's) are checked against these rows first, and those that hold prove what they can without an LP.
    ``settle`` (an audit that started from such points) gives the cells left open in a large block the block's
    pushes before more than ``EXACT`` of them are treated as leaking.

    ``proven`` (updated in place) holds the variables already shown wide enough: hiding more cells only removes
    constraints, so a later round of the same audit need not check them again. ``why`` (filled in) gets, for a
    leak found by an LP, the published cells of the rows that bind at its min and max.
    """
    why = {} if why is None else why
    proven = set() if proven is None else proven
    blocks = _blocks(rows)
    report.blocks = len(blocks)
    # only the blocks with a cell left to check (the others' cells were all proven in an earlier round)
    kept = [block for block in blocks if any(v not in proven for i in block for v, _ in rows[i].terms)]
    rows = [rows[i] for block in kept for i in block]
    if not rows:
        return {}
    ends = np.cumsum([len(block) for block in kept]).tolist()
    blocks = [list(range(end - len(block), end)) for block, end in zip(kept, ends, strict=True)]  # renumbered
    graph = _Graph(rows, truth, signed)
    whole = graph.lp(np.arange(len(rows), dtype=np.int64))  # its columns are the graph's: the pushes solve over
    # regions of it (``_region``)
    todo = np.array([var not in proven for var in whole.vars], dtype=bool) & (whole.need > TOL)
    out: dict[Var, tuple[float, float]] = {}
    box_lo, box_hi = whole.outer()
    for col in np.flatnonzero(todo & (box_hi - box_lo < whole.need - TOL)).tolist():
        out[whole.vars[col]] = (float(box_lo[col]), float(box_hi[col]))  # too narrow already in the outer box
        todo[col] = False
    checking = todo.copy()
    spread = _Spread(whole, points)
    if points is not None and points.carried:
        for variables, delta, cols in _holding(points.carried, whole, points.known):
            spread.take(cols, whole.truth[cols] + delta, variables, todo[cols])
        points.carried = []
        todo &= ~spread.wide()
        report.reused = int((checking & ~todo).sum())
    # Push the cells in random directions (seeded: the audit is deterministic), then the still open ones each way,
    # until a pass proves nothing new: every solution is a point of the feasible set, so its spread is a lower bound.
    # The pushes solve over the region around the open cells (the variables of the ``REGION`` rows nearest each),
    # every other hidden cell held at its truth: its solutions are points of the whole table's feasible set too.
    # After a round's first pushes the open cells are a few hundred in a block of tens of thousands; the LP over
    # their region is a fraction of the block's, and a wider region takes those a narrow one leaves open.
    rng = np.random.default_rng(0)
    for size in REGION:
        if not todo.any():
            break
        # the first region is around the cells the carried points proved too (held at the truth, they would pin
        # what the table leaves free, and the open cells would go to the slower per-cell LPs)
        lp = _region(graph, np.flatnonzero(todo | (checking & (size == REGION[0]))), size)
        lp.steady = True
        at = lp.at  # the region's variables in ``whole``
        for attempt in range(BATCHES):
            mine = todo[at]
            cost = np.where(mine, rng.choice((-1.0, 1.0), len(at)) if attempt % 3 != 2 else -1.0, 0.0)
            if attempt % 3 == 1:
                cost = -cost
            found = lp.solve(cost * rng.uniform(0.5, 1.5, len(at)))
            if found is None:
                raise AuditError("the audit's LP has no solution on the true figures (a relation does not hold)")
            spread.take(at, found, lp.vars, todo[at])
            now = todo & ~spread.wide()
            gained = int(todo.sum() - now.sum())
            todo = now
            if not todo[at].any() or (attempt >= 2 and gained < PUSH_GAIN):
                break
        report.lps += lp.solves
    proven.update(var for var, open_var in zip(whole.vars, todo, strict=True) if not open_var and var not in out)
    for col in np.flatnonzero(checking & ~todo).tolist():
        spread.prove(col)
    undecided = [whole.vars[col] for col in np.flatnonzero(todo).tolist()]  # in row order
    if not undecided:
        return out
    # A neighbourhood's rows are a subset of the constraints: an interval too narrow there is too narrow in the whole.
    near_why: dict[Var, set[Ref]] = {}
    for size in NEAR:
        wide = []
        for var in undecided:
            near = _near(graph, np.array([graph.index[var]]), size)
            lp = graph.lp(near)
            low_end, high_end, bound_by, ends = _extremes(lp, var, report)
            if high_end - low_end < width(truth[var]) - TOL:
                out[var] = (low_end, high_end)
                why[var] = bound_by
            elif len(near) < size:  # the neighbourhood is its whole block: wide there is wide in the table
                proven.add(var)
                if points is not None:  # and its solutions, other blocks at their truth, are points of the table
                    ends_at = [-1 if end is None else points.add(np.array(lp.vars), end - lp.truth) for end in ends]
                    points.of[var] = (ends_at[0], ends_at[1])
            else:
                wide.append(var)
                near_why[var] = bound_by
        undecided = wide
    targets_of: dict[int, list[Var]] = defaultdict(list)
    row_block = np.repeat(np.arange(len(blocks)), [len(block) for block in blocks])  # blocks are runs of rows
    for var in undecided:
        targets_of[int(row_block[graph.col_rows[graph.col_start[graph.index[var]]]])].append(var)

    def leaking(cells: list[Var]) -> None:
        """Treat ``cells`` as leaking (NaN bounds), bound by their neighbourhoods' rows."""
        for var in cells:
            out[var] = (float("nan"), float("nan"))
            why[var] = near_why[var]

    for b, targets in targets_of.items():
        # An LP over a block of thousands of rows takes seconds (one of 58,000 cells over 23 months, ten). The cells
        # wide in their neighbourhood are mostly wide in the table: prove it on neighbourhoods with every other cell
        # held at its truth (their solutions are points of the whole feasible set); the few left get the block's
        # LPs: pushes over the block, then a min and max LP each; in a block of more than LARGE rows, when more than
        # EXACT are left, they are all treated as leaking (NaN bounds): hiding more is safe, proving too much is not.
        # With ``settle`` the pushes come first: after the last audit's points, a refresh's open cells are few and
        # scattered, their regions hold the rest of the block at the truth, and the block's pushes are what settles
        # them (without, a mid-month refresh hid 1,139 cells needlessly); in a first audit, the regions around its
        # many open cells already span the block, and pushes over it cost a quarter more time for 0.5 % fewer cells.
        for size in NEAR:
            targets = [var for var in targets if not _moves(graph, graph.index[var], size, report, proven, points)]
        if not targets:
            continue
        if len(blocks[b]) > LARGE and len(targets) > EXACT and not settle:
            leaking(targets)
            continue
        lp = graph.lp(np.array(blocks[b], dtype=np.int64))
        # every solution is a feasible point: it widens the spread of all the block's cells, not only its target
        block = _Spread(lp, points)
        every = np.arange(len(lp.vars))
        open_cols = np.zeros(len(lp.vars), dtype=bool)
        cols = np.array([lp.index[var] for var in targets])
        open_cols[cols] = True
        for push in range(4 if len(targets) > 2 else 0):  # all up, all down, then two random mixes
            cost = np.zeros(len(lp.vars))
            cost[cols] = (-1.0, 1.0)[push] if push < 2 else rng.choice((-1.0, 1.0), len(cols))
            found = lp.solve(cost)
            if found is not None:
                block.take(every, found, lp.vars, open_cols)
        left = [var for var in targets if not block.wide()[lp.index[var]]]
        if len(blocks[b]) > LARGE and len(left) > EXACT:
            leaking(left)
            targets = [var for var in targets if var not in out]  # proven by the pushes
        for var in targets:
            i = lp.index[var]
            binding: set[Ref] = set()
            for sign in (-1.0, 1.0):
                if block.wide()[i]:
                    break
                cost = np.zeros(len(lp.vars))
                cost[i] = sign
                found = lp.solve(cost)
                if found is not None:
                    block.take(every, found, lp.vars, open_cols)
                    binding |= lp.binding()
            if not block.wide()[i]:
                out[var] = (float(block.lo[i]), float(block.hi[i]))
                why[var] = binding
            else:
                proven.add(var)
                block.prove(i)
        report.lps += lp.solves
    return out


def _holding(
    carried: list[tuple[np.ndarray, np.ndarray]], lp: _LP, known: np.ndarray | None = None
) -> Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """What holds of each carried move (model variables, deltas) as a feasible point of ``lp``'s rows on its truth:
    with its columns in ``lp``.

    A move's variables that share a row of ``lp`` form a component; the rows that hold a component's variables hold
    no other moved variable, so each component is a move of its own. It holds when no count of it goes below 0 and
    every row that holds one of its variables stays within its bounds (to a relative 1e-6, the LPs' own tolerance;
    the other rows hold on the truth); as each of those is linear along the move and holds at the truth, a share of
    the move holds up to the least share they allow (a count whose truth fell since: the move stops at its 0). A
    component whose share is below ``SHARE`` is dropped (a relation it breaks allows next to nothing). A moved
    variable no longer hidden (or in no row) stays at its truth: the rows that needed it to move then stop the rest.
    Before that, an equality the move breaks that has one new variable (not ``known``: a quantity the last table did
    not have, such as a new month's rolling window over moved months) moves that variable by what the relation needs,
    up to ``EXTEND`` times (its other relations are then checked like the rest).
    The union of a move's components that hold, each at its share, is yielded (the components are independent, so it
    is feasible too), if any."""
    if not carried or not lp.vars:
        return
    numbers = np.array(lp.vars, dtype=np.int64)  # the model's variables are numbered (``_Relations``)
    col_of = np.full(max(int(numbers.max()), *(int(v.max(initial=0)) for v, _ in carried)) + 1, -1, dtype=np.int64)
    col_of[numbers] = np.arange(len(lp.vars))
    # the columns the last table did not have (none unless ``known`` is given)
    new = np.zeros(len(numbers), dtype=bool) if known is None else ~np.isin(numbers, known)
    nrows = len(lp.lo)
    sizes = np.bincount(lp.row_of, minlength=nrows)
    order = np.argsort(lp.cols, kind="stable")  # the terms by column
    count = np.bincount(lp.cols, minlength=len(lp.vars))
    first = np.concatenate(([0], np.cumsum(count)[:-1]))
    terms = lp.coefs * lp.truth[lp.cols]
    base = np.bincount(lp.row_of, terms, nrows)
    scale = np.bincount(lp.row_of, np.abs(terms), nrows)
    local = np.full(len(lp.vars), -1, dtype=np.int64)  # a moved column's place in its move
    for variables, delta in carried:
        cols = col_of[variables]
        kept = cols >= 0
        variables, delta, cols = variables[kept], delta[kept], cols[kept]
        if not len(cols):
            continue
        for attempt in range(EXTEND + 1):
            rows = np.unique(lp.row_of[order[_spans(first[cols], count[cols])]])
            span = _spans(lp.starts[rows].astype(np.int64), sizes[rows])
            row_at = np.repeat(np.arange(len(rows)), sizes[rows])
            local[cols] = np.arange(len(cols))
            at = local[lp.cols[span]]  # -1: a term of a column that did not move
            local[cols] = -1
            moved = at >= 0
            step = np.zeros(len(span))
            step[moved] = delta[at[moved]]
            change = lp.coefs[span] * step
            step_act = np.bincount(row_at, change, len(rows))
            slack = 1e-6 * (1.0 + scale[rows] + np.bincount(row_at, np.abs(change), len(rows)))
            # an equality the move breaks with one new variable (the last table had no such quantity, so the move
            # says nothing of it), such as a new month's rolling window over moved months: that variable takes it up
            broken = (lp.lo[rows] == lp.hi[rows]) & (np.abs(step_act) > slack)
            still = ~moved & broken[row_at] & new[lp.cols[span]]
            lone = np.flatnonzero(still & (np.bincount(row_at[still], minlength=len(rows)) == 1)[row_at])
            if attempt == EXTEND or not len(lone):
                break
            extra, where = np.unique(lp.cols[span[lone]], return_index=True)  # one row per variable
            lone = lone[where]
            cols = np.concatenate((cols, extra))
            variables = np.concatenate((variables, numbers[extra]))
            delta = np.concatenate((delta, -step_act[row_at[lone]] / lp.coefs[span[lone]]))
        label = _components(at[moved], row_at[moved], len(cols), len(rows))
        # each row and each floor is linear along the move and holds at the truth, so a component holds for any
        # share of its move up to the least that its rows and floors allow
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(
                step_act > slack,
                (lp.hi[rows] + slack - base[rows]) / step_act,
                np.where(step_act < -slack, (lp.lo[rows] - slack - base[rows]) / step_act, np.inf),
            )
        row_label = np.full(len(rows), len(cols))
        np.minimum.at(row_label, row_at[moved], label[at[moved]])
        share = np.ones(len(cols) + 1)  # per component (its label); the last for no row
        np.minimum.at(share, row_label, room)
        falls = ~lp.below[cols] & (delta < 0)  # a count goes to 0 at most
        np.minimum.at(share, label[falls], lp.truth[cols][falls] / -delta[falls])
        share = share[label]
        good = share >= SHARE
        if good.any():
            yield variables[good], share[good] * delta[good], cols[good]


def _spans(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions ``starts[i] .. starts[i] + lengths[i] - 1`` for every i, concatenated."""
    ends = np.cumsum(lengths)
    return np.repeat(starts - ends + lengths, lengths) + np.arange(int(ends[-1]) if len(ends) else 0)


def _region(graph: _Graph, seeds: np.ndarray, size: int) -> _LP:
    """The LP over the variables of the ``size`` rows nearest each of ``seeds`` (columns; ``_near``): every row that
    holds one of them, every other variable held at its truth and folded into the bounds. Each solution over them, with
    the rest at the truth, is a point of the whole table's feasible set, so an interval found there is inside the true
    one."""
    free = np.zeros(len(graph.vars), dtype=bool)
    free[graph.cols_of(_near(graph, seeds, size))] = True
    return graph.lp(graph.rows_of(np.flatnonzero(free)), free)


def _near(graph: _Graph, seeds: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` rows nearest each column of ``seeds`` (its own rows, then the rows of their other variables, and
    so on; ties in row order), all of them, ascending: for one seed, a subset of the constraints, so an interval too
    narrow over them is too narrow in the table.

    The seeds walk their rings together, as (seed, row) pairs; in chunks, so that a ring of many seeds stays small."""
    nrows, ncols = len(graph.rows), len(graph.vars)
    out = []
    chunk = max(1, NEAR_PAIRS // size)
    for at in range(0, len(seeds), chunk):
        part = seeds[at : at + chunk]
        left = np.full(len(part), size, dtype=np.int64)
        # each pair is the number seed * nrows + row, so sorting them sorts each seed's rows
        ring = np.unique(
            np.repeat(np.arange(len(part)) * nrows, graph.col_count[part])
            + graph.col_rows[_spans(graph.col_start[part], graph.col_count[part])]
        )
        seen = ring
        while len(ring):
            owner = ring // nrows
            rank = np.arange(len(ring)) - np.searchsorted(ring, owner * nrows)  # the row's place in its seed's ring
            out.append(ring[rank < left[owner]] % nrows)
            left -= np.bincount(owner, minlength=len(part))
            ring = ring[left[owner] > 0]  # the seeds that need more rows walk on
            if not len(ring):
                break
            owner, rows = ring // nrows, ring % nrows
            cols = np.unique(
                np.repeat(owner * ncols, graph.sizes[rows]) + graph.cols[_spans(graph.starts[rows], graph.sizes[rows])]
            )
            owner, cols = cols // ncols, cols % ncols
            grown = np.unique(
                np.repeat(owner * nrows, graph.col_count[cols])
                + graph.col_rows[_spans(graph.col_start[cols], graph.col_count[cols])]
            )
            place = np.minimum(np.searchsorted(seen, grown), len(seen) - 1)
            ring = grown[seen[place] != grown]
            seen = np.sort(np.concatenate((seen, ring)), kind="stable")  # two sorted runs: merged
    return np.unique(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)


def _moves(
    graph: _Graph,
    col: int,
    size: int,
    report: AuditReport,
    proven: set[Var],
    points: _Points | None = None,
) -> bool:
    """Whether the variable of column ``col`` moves by its width with only the variables of its ``size`` nearest rows
    free and every other hidden cell at its truth (added to ``proven`` if so): every row that holds a free variable
    is kept, the held ones folded into its bounds, so each solution is a point of the whole table's feasible set and
    the interval found is inside the true one."""
    var = graph.vars[col]
    lp = _region(graph, np.array([col]), size)
    i = lp.index[var]
    low = high = lp.truth[i]
    at = [-1, -1]  # the points giving ``low`` and ``high``
    wide = False
    for sign in (1.0, -1.0):
        cost = np.zeros(len(lp.vars))
        cost[i] = sign
        found = lp.solve(cost)
        if found is not None and (found[i] < low or found[i] > high):
            p = -1 if points is None else points.add(np.array(lp.vars), found - lp.truth)
            at[int(found[i] > high)] = p
            low, high = min(low, found[i]), max(high, found[i])
        wide = bool(high - low >= lp.need[i] - TOL)
        if wide:
            proven.add(var)
            if points is not None:
                points.of[var] = (at[0], at[1])
            break
    report.lps += lp.solves
    return wide


def _extremes(
    lp: _LP, var: Var, report: AuditReport
) -> tuple[float, float, set[Ref], tuple[np.ndarray | None, np.ndarray | None]]:
    """The smallest and largest value of ``var`` over ``lp`` (its truth where a solve fails), the published
    cells of the rows that bind at either, and the two solutions (None where a solve failed)."""
    i = lp.index[var]
    bounds = []
    ends: list[np.ndarray | None] = []
    binding: set[Ref] = set()
    for sign in (1.0, -1.0):
        cost = np.zeros(len(lp.vars))
        cost[i] = sign
        found = lp.solve(cost)
        bounds.append(float(lp.truth[i] if found is None else found[i]))
        ends.append(found)
        if found is not None:
            binding |= lp.binding()
    report.lps += lp.solves
    return bounds[0], bounds[1], binding, (ends[0], ends[1])


def _whole_cells(
    leaks: dict[Var, tuple[float, float]], variables: Iterable[Var], cell_of: np.ndarray
) -> dict[Var, tuple[float, float]]:
    """The leaks of cells all of whose modelled parts (``variables``; ``cell_of`` names each one's cell) are too
    narrow: a rolling window whose denominator is the mean of published months but whose numerator is protected
    gives nobody's figure away."""
    if not leaks:
        return {}
    cells = int(cell_of.max()) + 1
    parts = np.bincount(cell_of[np.fromiter(variables, dtype=np.int64)], minlength=cells)
    of_leak = cell_of[np.fromiter(leaks, dtype=np.int64, count=len(leaks))]
    whole = np.bincount(of_leak, minlength=cells) == parts
    return {var: bounds for (var, bounds), cell in zip(leaks.items(), of_leak.tolist(), strict=True) if whole[cell]}


class AuditError(Exception):
    """The audit could not be carried out or could not protect the table: do not publish."""


def _picks(
    rows: list[_Row],
    leaks: Iterable[Var],
    fams: dict[Family, dict[SliceKey, IndicatorRow]],
    strikes: dict[Var, int],
    why: dict[Var, set[Ref]],
) -> list[Ref]:
    """The published cells to hide: for each leaking variable, the first by ``rank`` of the published cells of the
    rows that bind its interval (``why``, from the LP's duals), else of its relations, else of the nearest rows
    around them that have one; [] when a leak's block has none.

    A variable that leaked in ``strikes[var] - 1`` earlier rounds too gets the first ``2 ** (strikes - 1)`` of its
    relations' cells: one hidden cell a round did not free it (it sits in many relations, or a bound pins it), and
    doubling reaches what frees it in a few rounds rather than one round per relation."""
    by_var: dict[Var, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        for var, _ in row.terms:
            by_var[var].append(i)

    def rank(ref: Ref) -> tuple[bool, bool, int, Family, SliceKey]:
        # derived cells first (years, windows, rates: hiding one starts no cascade of its own), then base months;
        # a cell with a value before a zero (hiding a zero widens nothing); then the smallest population
        row = fams[ref[0]][ref[1]]
        base = ref[0][1] == "month" and ref[0][0] not in RATE_PARTS
        return (base, not (row.value or row.numerator), row.workers, ref[0], ref[1])

    def shown(indices: Iterable[int]) -> set[Ref]:
        return {ref for i in indices for ref in rows[i].shown if not fams[ref[0]][ref[1]].suppressed}

    out: set[Ref] = set()
    for leak in leaks:
        many = 2 ** (strikes.get(leak, 1) - 1)
        certified = {ref for ref in why.get(leak, ()) if not fams[ref[0]][ref[1]].suppressed}
        if certified:
            out.update(sorted(certified, key=rank)[:many])
            continue
        seen = set(by_var[leak])
        ring = set(seen)
        while ring:
            near = shown(ring)
            if near:
                out.update(sorted(near, key=rank)[:many])
                break
            ring = {i for j in ring for var, _ in rows[j].terms for i in by_var[var]} - seen
            seen |= ring
        else:
            return []
    return sorted(out)


def find_leaks(cells: Cells, org: OrgTree, as_of: date) -> tuple[AuditReport, dict[str, tuple[float, float]]]:
    """One audit round without hiding anything: the report and the cells whose feasible interval is narrower than
    their width, described, with that interval (NaN bounds: left open in a block too large to settle per cell)."""
    started = time.perf_counter()
    report = AuditReport(rounds=1)
    model = _Model(cells, org, as_of)
    model.build()
    model.round_rows(cells)
    report.relations = model.kept
    report.cells_checked = len(model.truth)
    names = model.arrays.names
    found = _intervals(model.rows, model.truth, report, signed=model.arrays.signed)
    leaks = _whole_cells(found, model.truth, model.arrays.cell_of)
    report.leaking = len(leaks)
    report.passed = not leaks
    report.seconds = time.perf_counter() - started
    return report, dict(sorted((_describe(names[var]), bounds) for var, bounds in leaks.items()))


def audit_table(
    cells: Cells,
    org: OrgTree,
    as_of: date,
    *,
    max_rounds: int = 30,
    on_round: Callable[[AuditReport], None] | None = None,
    prior: Iterable[Ref] = (),
    proofs: Proofs | None = None,
) -> AuditReport:
    """Audit the table (see the module docstring); hide cells with reason ``audit`` until it passes.

    ``prior`` names the cells the last published table hid for the audit (``audit_hidden``): those still in the
    table and published by the rules are hidden again first (``AuditReport.carried``), so the rounds start where the
    last publish ended. A refresh that adds a month then usually needs a round or two rather than all of them, and a
    cell hidden to protect another is not published by the next table beside what it protected (two tables read
    together would give it away). Hiding more only removes relations, so the audit still proves the table it passes.

    ``proofs`` (the last audit's ``AuditReport.proofs``) are tried first: the points that are still feasible in this
    table prove their cells without an LP (``AuditReport.reused``). A passed audit's report carries its own.

    Returns the report; ``passed`` False when a leak has no published cell left to hide or the rounds run out.
    """
    started = time.perf_counter()
    report = AuditReport()
    for fam, key in sorted(prior):
        row = cells.families.get(fam, {}).get(key)
        if row is not None and not row.suppressed:
            cells.hide(fam, key, AUDIT)
            report.carried += 1
    if report.carried:
        suppress(cells, org, picked=AUDIT)
    proven: set[Var] = set()  # shown wide enough in an earlier round: hiding more cells cannot narrow them
    strikes: dict[Var, int] = defaultdict(int)  # rounds each variable was found leaking
    model = _Model(cells, org, as_of)
    model.build()
    points = _Points()
    if proofs is not None:
        points.load(proofs, model.arrays.ids)
    for round_ in range(1, max_rounds + 1):
        report.rounds = round_
        model.round_rows(cells)
        report.relations = model.kept
        report.cells_checked = len(model.truth)
        try:
            why: dict[Var, set[Ref]] = {}
            found = _intervals(
                model.rows, model.truth, report, proven, why, model.arrays.signed, points, settle=proofs is not None
            )
            leaks = _whole_cells(found, model.truth, model.arrays.cell_of)
        except AuditError as exc:
            report.passed, report.problem = False, str(exc)
            break
        report.leaking = len(leaks)
        if on_round is not None:
            on_round(report)
        if not leaks:
            break
        for var in leaks:
            strikes[var] += 1
        described = sorted(_describe(model.arrays.names[var]) for var in leaks)
        picks = _picks(model.rows, leaks, cells.families, strikes, why)
        if not picks:
            report.passed = False
            report.problem = "no published cell left to hide for " + ", ".join(described[:3])
            break
        report.leaks = described[:20]
        for fam, key in sorted(picks):
            cells.hide(fam, key, AUDIT)
        report.hidden += len(picks)
        suppress(cells, org, picked=AUDIT)
    else:
        report.passed = False
        report.problem = f"still leaking after {max_rounds} rounds"
    if report.passed:
        report.proofs = points.export(model.arrays.names)
    report.seconds = time.perf_counter() - started
    return report


def audit_hidden(rows: Iterable[IndicatorRow]) -> frozenset[Ref]:
    """The cells a table hid for the audit (reason ``audit``), as ``audit_table``'s ``prior`` of the next one."""
    return frozenset(
        ((r.indicator, r.period_kind, r.period, r.category), (r.dimension, r.slice))
        for r in rows
        if r.suppressed and r.reason == AUDIT
    )


def _describe(quantity: Quantity) -> str:
    (ind, kind, period, cat), (dim, value), part = quantity
    return f"{ind}{'/' + cat if cat else ''} {kind} {period.isoformat()} {dim}={value} ({part})"
