"""An attacker of the published indicator table, independent of the engine's suppression and audit.

``attack(published, truth, ancestors)`` reads the published rows as an analyst would, builds its own linear
relations between the figures (METRICS.md, Suppression, "Relations the audit models"), and rebuilds every
suppressed cell it can: exactly, by a chain of relations with one unknown each (routes a-f), or to within the
protection width max(2, 20 % of the true value) by linear programming (route g). It also solves individual pays
from each published pay cell's percentiles and mean (route h).

The true values serve twice: to judge whether a cell is rebuilt, and to keep only the relations that hold exactly
on this log (an attacker who knows which relations hold is stronger, never weaker, than one who guesses).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import numpy as np
from scipy.optimize import linprog  # type: ignore[import-untyped]  # scipy ships no stubs
from scipy.sparse import coo_matrix  # type: ignore[import-untyped]

Key = tuple[str, str, date, str, str, str]  # indicator, period_kind, period, dimension, slice, category
Terms = tuple[tuple[Key, float], ...]

ADDITIVE = frozenset(
    {
        "headcount_avg",
        "headcount_end",
        "hires",
        "separations",
        "separations_voluntary",
        "separations_involuntary",
        "separations_other",
        "separations_by_reason",
        "transfers_in",
        "transfers_out",
        "trainee_times",
        "training_hours",
        "promotions",
        "demotions",
        "regrades_lateral",
    }
)
MONTH_SUMS = ADDITIVE - {"headcount_avg", "headcount_end"}
ROLLING_SUMS = frozenset({"hires", "separations", "separations_voluntary", "separations_involuntary", "promotions"})
RATES: Mapping[str, tuple[str, str, str]] = {  # rate -> numerator figure, its category, denominator figure
    "separation_rate": ("separations", "", "headcount_avg"),
    "voluntary_rate": ("separations_voluntary", "", "headcount_avg"),
    "involuntary_rate": ("separations_involuntary", "", "headcount_avg"),
    "hires_rate": ("hires", "", "headcount_avg"),
    "promotion_rate": ("promotions", "", "headcount_avg"),
    "replacement_ratio": ("hires", "", "separations"),
    "training_hours_per_worker": ("training_hours", "all", "headcount_avg"),
}
COHORT_ROWS = frozenset({"cohort_retention", "initial_training_on_time", "promoted_within"})
PERCENTILES: Mapping[str, int] = {"pay_p10": 10, "pay_p25": 25, "pay_median": 50, "pay_p75": 75, "pay_p90": 90}
PAY_N, PAY_TOTAL = "pay_n", "pay_total"  # the paid workers of a pay cell, and mean x paid workers
ROUTES = {
    "a": "year minus its months",
    "b": "year-end = December",
    "c": "rolling-12 windows",
    "d": "cohort / stability denominators",
    "e": "parent minus siblings, category totals",
    "f": "rate x published denominator",
    "g": "linear programming",
    "h": "pay",
    "6": "headcount flow (end = previous end + in - out)",
}


class Row(Protocol):
    """What the attacker reads of a row: the columns of the published ``indicators`` table."""

    @property
    def indicator(self) -> str: ...
    @property
    def period_kind(self) -> str: ...
    @property
    def period(self) -> date: ...
    @property
    def dimension(self) -> str: ...
    @property
    def slice(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def value(self) -> float | None: ...
    @property
    def numerator(self) -> float | None: ...
    @property
    def denominator(self) -> float | None: ...
    @property
    def workers(self) -> int: ...
    @property
    def suppressed(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """A suppressed cell the attacker rebuilt: by which route, its true value and the interval it found."""

    key: Key
    route: str
    true: float
    low: float
    high: float

    def __str__(self) -> str:
        ind, kind, period, dim, value, cat = self.key
        return (
            f"{ind} {kind} {period} cat={cat!r} {dim}={value}: true {self.true:g}, "
            f"interval [{self.low:g}, {self.high:g}] ({self.route})"
        )


@dataclass
class Report:
    """What the attack found: rebuilt cells, workers whose pay was solved, relations dropped as not exact."""

    rebuilt: list[Rebuilt] = field(default_factory=list)
    pay_workers: list[str] = field(default_factory=list)
    hidden: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    blocks: int = 0
    lps: int = 0
    zeros: int = 0  # hidden cells pinned to their true value 0: no worker in them (docs/contract.md, "Zeros")

    def by_route(self) -> Counter[str]:
        return Counter(r.route for r in self.rebuilt)

    def summary(self, examples: int = 3) -> str:
        exact = sum(1 for r in self.rebuilt if r.high - r.low < 1e-6)
        lines = [
            f"{len(self.rebuilt)} of {self.hidden} suppressed cells rebuilt ({exact} exactly; besides {self.zeros} "
            "zeros pinned to 0, which the contract does not protect); "
            f"{len(self.pay_workers)} pays solved; relations not exact on this log, left out: {dict(self.dropped)}"
        ]
        for route, count in sorted(self.by_route().items()):
            lines.append(f"  route {route} ({ROUTES[route]}): {count} cells, e.g.")
            lines += [f"    {r}" for r in [r for r in self.rebuilt if r.route == route][:examples]]
        if self.pay_workers:
            lines.append(f"  route h (pay): {len(self.pay_workers)} pays, e.g.")
            lines += [f"    {p}" for p in self.pay_workers[:examples]]
        return "\n".join(lines)


def _key(row: Row) -> Key:
    return (row.indicator, row.period_kind, row.period, row.dimension, row.slice, row.category)


def _add_months(m: date, n: int) -> date:
    index = m.year * 12 + m.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def figures(row: Row) -> Iterator[tuple[Key, float | None, str]]:
    """The additive figures a row shows (None when suppressed), each with the route that reads it."""
    ind, kind, period, dim, value, cat = _key(row)
    hidden = row.suppressed
    if ind in ADDITIVE:
        yield _key(row), None if hidden else row.value, "e"
    elif ind in RATES:
        num, num_cat, den = RATES[ind]
        yield (num, kind, period, dim, value, num_cat), None if hidden else row.numerator, "f"
        yield (den, kind, period, dim, value, ""), None if hidden else row.denominator, "f"
    elif ind == "stability_index":
        year_ago = (_add_months(period, -12) if kind == "month" else period).replace(day=1)
        yield ("headcount_end", "month", year_ago, dim, value, ""), None if hidden else row.denominator, "d"
    elif ind == "pay_mean":
        n = None if hidden else float(row.workers)
        total = None if hidden or row.value is None else row.value * row.workers
        yield (PAY_N, kind, period, dim, value, ""), n, "h"
        yield (PAY_TOTAL, kind, period, dim, value, cat), total, "h"


@dataclass
class _Equation:
    route: str
    terms: Terms
    rhs: float


class _Model:
    """The attacker's relations over the figures of one published table."""

    def __init__(self, rows: Sequence[Row], ancestors: Mapping[str, Sequence[str]]) -> None:
        self.known: dict[Key, tuple[float, str]] = {}
        self.universe: set[Key] = set()
        for row in rows:
            for key, value, route in figures(row):
                self.universe.add(key)
                if value is not None and key not in self.known:
                    self.known[key] = (value, route)
        units = {key[4] for key in self.universe if key[3] == "org"}
        self.parent = {u: next((a for a in ancestors.get(u, ())[1:] if a in units), None) for u in units}
        self.equations: list[_Equation] = []
        self._relations(rows)

    def _eq(self, route: str, terms: Iterable[tuple[Key, float]], rhs: float = 0.0) -> None:
        self.equations.append(_Equation(route, tuple(terms), rhs))

    def _relations(self, rows: Sequence[Row]) -> None:
        families: dict[tuple[str, str, date, str], list[Key]] = defaultdict(list)
        for key in self.universe:
            families[(key[0], key[1], key[2], key[5])].append(key)
        for (ind, kind, period, cat), keys in families.items():
            self._slices(keys, (ind, kind, period, "all", "all", cat))
        for key in self.universe:
            self._across_periods(key)
            self._categories(key)
        for row in rows:
            if row.indicator == "net_change" and not row.suppressed and row.value is not None:
                ind, kind, period, dim, value, _ = _key(row)
                hires, seps = (("hires", kind, period, dim, value, ""), ("separations", kind, period, dim, value, ""))
                self._eq("f", ((hires, 1.0), (seps, -1.0)), row.value)
        self._cohorts(rows)

    def _slices(self, keys: list[Key], total: Key) -> None:
        route = "h" if total[0] in (PAY_N, PAY_TOTAL) else "e"
        by_dim: dict[str, list[Key]] = defaultdict(list)
        children: dict[str, list[Key]] = defaultdict(list)
        for key in keys:
            if key[3] == "org":
                parent = self.parent[key[4]]
                children["" if parent is None else parent].append(key)
            elif key[3] != "all":
                by_dim[key[3]].append(key)
        if total in self.universe:
            for group in [*by_dim.values(), children.get("", [])]:
                if group:
                    self._eq(route, [(total, 1.0), *((k, -1.0) for k in group)])
        for parent, group in children.items():
            parent_key = (*total[:3], "org", parent, total[5])
            if parent and parent_key in self.universe:
                self._eq(route, [(parent_key, 1.0), *((k, -1.0) for k in group)])

    def _across_periods(self, key: Key) -> None:
        ind, kind, period, dim, value, cat = key

        def months(first: date, n: int, name: str = ind) -> list[tuple[Key, float]]:
            return [((name, "month", _add_months(first, i), dim, value, cat), -1.0) for i in range(n)]

        if kind == "year" and ind in MONTH_SUMS:
            self._eq("a", [(key, 1.0), *months(period, 12)])
        elif kind == "year" and ind == "headcount_avg":
            self._eq("a", [(key, 12.0), *months(period, 12)])
        elif kind == "year" and ind == "headcount_end":
            self._eq("b", [(key, 1.0), ((ind, "month", _add_months(period, 11), dim, value, cat), -1.0)])
        elif kind == "rolling12" and ind in ROLLING_SUMS:
            self._eq("c", [(key, 1.0), *months(_add_months(period, -11), 12)])
        elif kind == "rolling12" and ind == "headcount_avg":
            self._eq("c", [(key, 12.0), *months(_add_months(period, -11), 12)])
        elif kind == "month" and ind == "headcount_end" and dim in ("all", "org", "service_model"):
            before = _add_months(period, -1)
            terms = [(key, 1.0), ((ind, kind, before, dim, value, cat), -1.0)]
            flows = [("hires", -1.0), ("separations", 1.0)]
            if dim == "org":
                flows += [("transfers_in", -1.0), ("transfers_out", 1.0)]
            terms += [((name, kind, period, dim, value, ""), sign) for name, sign in flows]
            self._eq("6", terms)

    def _categories(self, key: Key) -> None:
        ind, kind, period, dim, value, cat = key

        def parts(name: str, categories: Iterable[str]) -> list[tuple[Key, float]]:
            return [((name, kind, period, dim, value, c), -1.0) for c in categories]

        if ind == "separations":
            kinds = [((f"separations_{k}", kind, period, dim, value, ""), -1.0) for k in _SEPARATION_KINDS]
            self._eq("e", [(key, 1.0), *kinds])
            self._eq("e", [(key, 1.0), *parts("separations_by_reason", _REASONS)])
        elif (ind, cat) in (("trainee_times", ""), ("training_hours", "all")):
            self._eq("e", [(key, 1.0), *parts(ind, _COURSE_KINDS)])
        elif ind == PAY_TOTAL and cat == "total":
            self._eq("h", [(key, 1.0), *parts(ind, ("base", "allowances"))])

    def _cohorts(self, rows: Sequence[Row]) -> None:
        """Route d: a cohort or on-time row's denominator against its period's hires in the slice (kept if exact)."""
        best: dict[Key, float] = {}
        for row in rows:
            if row.indicator in COHORT_ROWS and not row.suppressed and row.denominator is not None:
                kind = "month" if row.period_kind == "cohort" else row.period_kind
                hires = ("hires", kind, row.period, row.dimension, row.slice, "")
                best[hires] = max(best.get(hires, 0.0), row.denominator)
        for hires, den in best.items():
            self._eq("d", [(hires, 1.0)], den)


_SEPARATION_KINDS = ("voluntary", "involuntary", "other")
_REASONS = (
    "pay",
    "career_development",
    "workload",
    "relocation",
    "family",
    "further_study",
    "contract_end",
    "dismissal",
    "retirement",
    "death",
    "other",
)
_COURSE_KINDS = ("initial", "rotation", "site_visit", "skills_competition", "other")


def _truth(rows: Iterable[Row]) -> dict[Key, float]:
    out: dict[Key, float] = {}
    for row in rows:
        for key, value, _ in figures(row):
            if value is not None:
                out.setdefault(key, value)
    return out


def _holds(eq: _Equation, truth: Mapping[Key, float]) -> bool:
    total = sum(coef * truth.get(k, 0.0) for k, coef in eq.terms)
    scale = max(1.0, abs(eq.rhs), *(abs(coef * truth.get(k, 0.0)) for k, coef in eq.terms))
    return abs(total - eq.rhs) <= 1e-7 * scale


def width(true: float) -> float:
    """METRICS.md protection width: a suppressed cell's feasible interval must be at least this wide (less the LP's
    rounding, 1e-9 of it: an interval of 2 solved as 1.9999999999999982 is 2)."""
    return max(2.0, 0.2 * abs(true)) * (1 - 1e-9)


class _Solver:
    """Exact substitution (one unknown left in a relation), then min/max LPs per connected block."""

    def __init__(self, model: _Model, truth: Mapping[Key, float], report: Report) -> None:
        self.truth = truth
        self.report = report
        self.value: dict[Key, float] = {}
        self.route: dict[Key, str] = {}
        for k, (v, route) in model.known.items():
            if _holds(_Equation(route, ((k, 1.0),), v), truth):
                self.value[k], self.route[k] = v, route
            else:  # a figure read through a relation that is not exact on this log (e.g. stability by age band)
                report.dropped[route] += 1
        self.equations: list[_Equation] = []
        for eq in model.equations:
            # a figure with no row is 0 (no row: empty population); keep relations that hold on this log
            terms = tuple((k, c) for k, c in eq.terms if k in model.universe)
            kept = _Equation(eq.route, terms, eq.rhs)
            if terms and _holds(kept, truth):
                self.equations.append(kept)
            else:
                report.dropped[eq.route] += 1
        self.interval: dict[Key, tuple[float, float]] = {}

    def substitute(self) -> None:
        uses: dict[Key, list[int]] = defaultdict(list)
        for i, eq in enumerate(self.equations):
            for k, _ in eq.terms:
                uses[k].append(i)
        queue = list(range(len(self.equations)))
        while queue:
            eq = self.equations[queue.pop()]
            unknown = [(k, c) for k, c in eq.terms if k not in self.value]
            if len(unknown) != 1:
                continue
            (target, coef), rest = unknown[0], sum(c * self.value[k] for k, c in eq.terms if k in self.value)
            self.value[target] = (eq.rhs - rest) / coef
            self.route[target] = eq.route
            queue.extend(uses[target])

    def blocks(self) -> list[tuple[list[Key], list[_Equation]]]:
        parent: dict[Key, Key] = {}

        def find(k: Key) -> Key:
            while parent.setdefault(k, k) != k:
                parent[k] = parent[parent[k]]
                k = parent[k]
            return k

        open_eqs = []
        for eq in self.equations:
            unknown = [k for k, _ in eq.terms if k not in self.value]
            if not unknown or eq.terms[0][0][0] in (PAY_N, PAY_TOTAL):
                continue
            open_eqs.append(eq)
            for k in unknown[1:]:
                parent[find(k)] = find(unknown[0])
        members: dict[Key, list[Key]] = defaultdict(list)
        for k in parent:
            members[find(k)].append(k)
        eqs: dict[Key, list[_Equation]] = defaultdict(list)
        for eq in open_eqs:
            first = next(k for k, _ in eq.terms if k not in self.value)
            eqs[find(first)].append(eq)
        return [(members[root], eqs[root]) for root in members]

    def solve_block(self, variables: list[Key], eqs: list[_Equation], targets: set[Key]) -> None:
        index = {k: i for i, k in enumerate(variables)}
        rows, cols, data, rhs = [], [], [], []
        for r, eq in enumerate(eqs):
            b = eq.rhs
            for k, c in eq.terms:
                if k in index:
                    rows.append(r)
                    cols.append(index[k])
                    data.append(c)
                else:
                    b -= c * self.value[k]
            rhs.append(b)
        a_eq = coo_matrix((data, (rows, cols)), shape=(len(eqs), len(variables))).tocsr()
        outer = _propagate(variables, [(eq.terms, b) for eq, b in zip(eqs, rhs, strict=True)], self.value)
        low = {k: self.truth.get(k, 0.0) for k in variables}
        high = dict(low)
        pending = set()
        for k in variables:
            if k not in targets:
                continue
            if outer[k][1] - outer[k][0] < width(self.truth.get(k, 0.0)):
                self.interval[k] = outer[k]  # narrower already than the width: no LP needed
            else:
                pending.add(k)

        def run(objective: dict[Key, float]) -> None:
            c = np.zeros(len(variables))
            for k, w in objective.items():
                c[index[k]] = w
            self.report.lps += 1
            res = linprog(c, A_eq=a_eq, b_eq=np.array(rhs), bounds=(0, None), method="highs")
            if res.status == 3:  # unbounded: every variable with a positive weight can grow without end
                for k, w in objective.items():
                    if w < 0:
                        high[k] = math.inf
                return
            if res.status != 0:
                raise RuntimeError(f"attacker LP failed ({res.message}); a relation does not hold on the truth")
            for k, x in zip(variables, res.x, strict=True):
                low[k], high[k] = min(low[k], float(x)), max(high[k], float(x))

        def settle() -> None:
            for k in [k for k in pending if high[k] - low[k] >= width(self.truth.get(k, 0.0))]:
                pending.discard(k)

        rng = np.random.default_rng(0)
        for sign in (-1.0, 1.0, -1.0, 1.0, -1.0, 1.0):  # push the open figures up, then down, at random weights
            settle()
            if pending:
                weights = rng.uniform(0.5, 1.5, len(pending))
                run({k: sign * float(w) for k, w in zip(sorted(pending), weights, strict=True)})
        settle()
        for k in sorted(pending):
            for sign in (-1.0, 1.0):
                if k in pending:
                    run({k: sign})
                    settle()
        for k in variables:
            self.interval.setdefault(k, (low[k], high[k]))


def _propagate(
    variables: list[Key], eqs: list[tuple[Terms, float]], known: Mapping[Key, float], passes: int = 8
) -> dict[Key, tuple[float, float]]:
    """Outer bounds of each unknown (counts >= 0) by interval propagation through the relations (an LP presolve)."""
    bounds = {k: (0.0, math.inf) for k in variables}
    open_terms = [([(k, c) for k, c in terms if k not in known], b) for terms, b in eqs]
    for _ in range(passes):
        changed = False
        for terms, b in open_terms:
            lows = [c * (bounds[k][0] if c > 0 else bounds[k][1]) for k, c in terms]
            highs = [c * (bounds[k][1] if c > 0 else bounds[k][0]) for k, c in terms]
            low_sum, high_sum = _finite_sum(lows), _finite_sum(highs)
            for (k, c), lo_k, hi_k in zip(terms, lows, highs, strict=True):
                # c x_k = b - (others); others within [low_sum - lo_k, high_sum - hi_k]
                rest_low, rest_high = _less(low_sum, lo_k, -math.inf), _less(high_sum, hi_k, math.inf)
                a, z = (b - rest_high) / c, (b - rest_low) / c
                new_lo, new_hi = (a, z) if c > 0 else (z, a)
                lo, hi = bounds[k]
                new = (max(lo, new_lo), min(hi, new_hi))
                if new[0] > lo + 1e-9 or new[1] < hi - 1e-9:
                    bounds[k] = new
                    changed = True
        if not changed:
            break
    return bounds


def _finite_sum(values: list[float]) -> tuple[float, int]:
    """The sum of the finite values and how many are infinite (same sign within one call)."""
    infinite = sum(1 for v in values if math.isinf(v))
    return sum(v for v in values if not math.isinf(v)), infinite


def _less(total: tuple[float, int], part: float, infinity: float) -> float:
    """The sum without one of its terms; ``infinity`` while another infinite term remains."""
    finite, infinite = total
    if math.isinf(part):
        return finite if infinite == 1 else infinity
    return finite - part if infinite == 0 else infinity


def _pay_cells(rows: Sequence[Row]) -> dict[tuple[str, date, str, str, str], dict[str, Row]]:
    cells: dict[tuple[str, date, str, str, str], dict[str, Row]] = defaultdict(dict)
    for row in rows:
        if (row.indicator in PERCENTILES or row.indicator == "pay_mean") and not row.suppressed:
            cells[(row.period_kind, row.period, row.dimension, row.slice, row.category)][row.indicator] = row
    return cells


def solved_pays(rows: Sequence[Row]) -> list[str]:
    """Route h: workers whose pay follows from one cell's published percentiles (inclusive method) and mean.

    A pay counts as solved when it is the lowest or the highest of the cell, or when every pay of the cell
    follows: those are a worker's own figure. A median of 2k or more workers at a whole rank is one pay too, but
    of an unnamed worker in the middle of the cell, and METRICS.md v5 publishes it from 2k by design."""
    out = []
    for (kind, period, dim, value, cat), figures_ in _pay_cells(rows).items():
        n = max(r.workers for r in figures_.values())
        if n < 1:
            continue
        pays: dict[int, float] = {}
        links: list[tuple[int, float, float]] = []  # (rank, fraction, value): pay[r] + f (pay[r+1] - pay[r])
        for name, pct in PERCENTILES.items():
            row = figures_.get(name)
            if row is None or row.value is None:
                continue
            rank, rest = divmod(pct * (n - 1), 100)
            if rest == 0:
                pays[rank] = row.value
            else:
                links.append((rank, rest / 100, row.value))
        mean = figures_.get("pay_mean")
        changed = True
        while changed:
            changed = False
            for rank, f, v in links:
                if rank in pays and rank + 1 not in pays:
                    pays[rank + 1] = pays[rank] + (v - pays[rank]) / f
                    changed = True
                elif rank + 1 in pays and rank not in pays and f < 1:
                    pays[rank] = (v - f * pays[rank + 1]) / (1 - f)
                    changed = True
            if mean is not None and mean.value is not None and len(pays) == n - 1:
                missing = next(r for r in range(n) if r not in pays)
                pays[missing] = mean.value * n - sum(pays.values())
                changed = True
        named = sorted(pays) if len(pays) == n else [r for r in (0, n - 1) if r in pays]
        out += [f"pay_mean/percentiles {kind} {period} cat={cat!r} {dim}={value}: rank {r + 1} of {n}" for r in named]
    return out


def attack(
    published: Iterable[Row],
    truth: Iterable[Row],
    ancestors: Mapping[str, Sequence[str]],
) -> Report:
    """Rebuild what can be rebuilt of the suppressed cells of ``published``.

    ``truth``: every cell unsuppressed (the independent oracle's values). ``ancestors``: each org unit with its
    ancestors, nearest first (the /org-units tree); an org cell's parent is its nearest ancestor with cells.
    """
    rows = list(published)
    truth = list(truth)
    true_values = _truth(truth)
    populated = {_key(row) for row in truth if row.workers > 0}
    report = Report()
    model = _Model(rows, ancestors)
    solver = _Solver(model, true_values, report)
    solver.substitute()
    targets = {k for row in rows if row.suppressed for k, _, _ in figures(row)}
    for variables, eqs in solver.blocks():
        report.blocks += 1
        solver.solve_block(variables, eqs, targets)
    for row in rows:
        if row.suppressed and _key(row) in populated:  # an empty program row discloses nobody
            _judge(row, solver, true_values, report)
    report.pay_workers = solved_pays(rows)
    return report


def _judge(row: Row, solver: _Solver, truth: Mapping[Key, float], report: Report) -> None:
    if row.indicator not in _JUDGED:
        return
    keys = [k for k, _, _ in figures(row)]
    if row.indicator == "net_change":
        kind, period, dim, value = row.period_kind, row.period, row.dimension, row.slice
        keys = [("hires", kind, period, dim, value, ""), ("separations", kind, period, dim, value, "")]
    report.hidden += 1
    routes, intervals = [], []
    for k in keys:
        if k in solver.value:
            routes.append(solver.route[k])
            intervals.append((solver.value[k], solver.value[k]))
        elif k in solver.interval and solver.interval[k][1] - solver.interval[k][0] < width(truth.get(k, 0.0)):
            routes.append("g")
            intervals.append(solver.interval[k])
        else:
            return
    true = _row_truth(row, keys, truth)
    if true == 0 or math.isnan(true):  # nobody counted, or a ratio of two zeros: it discloses nobody
        report.zeros += 1
        return
    exact = all(low == high for low, high in intervals)
    low, high = intervals[0] if len(keys) == 1 else (true, true) if exact else (math.nan, math.nan)
    report.rebuilt.append(Rebuilt(_key(row), max(routes, key=_route_rank), true, low, high))


def _route_rank(route: str) -> int:
    return "edfcab6hg".index(route)  # name the least direct route a cell needed


def _row_truth(row: Row, keys: list[Key], truth: Mapping[Key, float]) -> float:
    values = [truth.get(k, 0.0) for k in keys]
    if row.indicator == "net_change":
        return values[0] - values[1]
    if row.indicator == "pay_mean":
        return values[1] / values[0] if values[0] else math.nan
    if row.indicator in RATES:
        return values[0] / values[1] * (1.0 if row.indicator in _UNSCALED else 100.0) if values[1] else math.nan
    return values[0]


_UNSCALED = frozenset({"replacement_ratio", "training_hours_per_worker"})
_JUDGED = ADDITIVE | set(RATES) | {"net_change", "pay_mean"}
