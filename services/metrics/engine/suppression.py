"""Statistical disclosure control (METRICS.md v5, Suppression; contract section 4).

Primary suppression happens when a cell is stored (``Cells.put``, reason ``primary``). Then:
  * linked rule - a cell whose numerator or denominator is a hidden cell is hidden at once (reason ``linked``):
    a rate, ratio or derived count with a hidden count or average-headcount cell; a cohort row (retention at a
    mark, half-life, initial training on time; by hire month, and on time by hire year) whose population equals
    the hidden hires of its period and slice; a stability index whose population (its denominator) equals the
    hidden period-end headcount of the month a year before; a pay figure (mean and percentiles, each component)
    whose population, the paid workers on the period's last day, equals the hidden period-end headcount of its
    period and slice (published beside it, the population would give that headcount away);
  * rounds, each judged on the flags as they stood at its start, until a round hides nothing (reason
    ``secondary``):
      - sibling rule: a published parent with exactly one suppressed child gets its smallest published child
        (by population, ties by slice) suppressed; per indicator, period kind, period and category; the parent
        of an org unit is its nearest published ancestor (none: ``all``), of any other dimension's value the
        ``all`` cell;
      - month-in-year rule: for flow counts, a published year cell with exactly one suppressed month gets its
        smallest published month (by population, ties by month) suppressed;
      - route rule (issue 12): a published cell that, with published months, gives a hidden month of its slice
        away exactly is suppressed itself: a rolling-12 window (of a rate in ``WINDOW_FLOWS``) whose 12 months
        hold a hidden cell of its flow or of ``headcount_avg`` (two overlapping windows differ by one month a
        year apart); a year's ``headcount_end`` whose December is hidden (they are equal); a year's
        ``headcount_avg`` or ``training_hours`` (per category) with exactly one hidden month (the year minus its
        published months);
    and after each round the linked rule again, before the next round is judged.

Only groups whose children changed in the previous round are judged again: flags only ever turn on, so a group
judged without effect stays without effect until one of its children is hidden. ``suppress`` starts from the flags
it finds, so a later pass that hides more cells (an audit) can run it again.

The route rule hides only windows and years, and nothing hides a month through them (no rule reads a window, and
a year is read only by its rates and its slice siblings): the month flags a window reads are those the other rules
give, which ``compute(since=...)`` relies on.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from .career import PROMOTED_MARKS
from .cells import LINKED, SECONDARY, Cells, Family
from .model import IndicatorRow
from .orgs import OrgTree, SliceKey
from .pay import PERCENTILES
from .retention import MARKS
from .slices import ALL

FLOW_COUNTS = frozenset(
    {
        "hires",
        "separations",
        "separations_voluntary",
        "separations_involuntary",
        "separations_other",
        "separations_by_reason",
        "trainee_times",
        "transfers_in",
        "transfers_out",
        "promotions",
        "demotions",
        "regrades_lateral",
    }
)
_HC = ("headcount_avg", "")
# A rate (or derived cell) -> the (indicator, category) cells of the same period and slice it is computed from.
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "separation_rate": (("separations", ""), _HC),
    "voluntary_rate": (("separations_voluntary", ""), _HC),
    "involuntary_rate": (("separations_involuntary", ""), _HC),
    "hires_rate": (("hires", ""), _HC),
    "promotion_rate": (("promotions", ""), _HC),
    "training_hours_per_worker": (("training_hours", "all"), _HC),
    "share_trained": (("trainees", ""),),
    "replacement_ratio": (("hires", ""), ("separations", "")),
    "net_change": (("hires", ""), ("separations", "")),
}
DEPENDENTS: dict[tuple[str, str], tuple[str, ...]] = {}
for _rate, _refs in REFERENCES.items():
    for _ref in _refs:
        DEPENDENTS[_ref] = (*DEPENDENTS.get(_ref, ()), _rate)

# The cohort cells of a hire month whose population is at most the month's hires in the slice (distinct workers).
COHORT_CELLS = (*(("cohort_retention", str(mark)) for mark in MARKS), ("cohort_half_life", ""))
_COHORT_NAMES = frozenset(name for name, _ in COHORT_CELLS)
ON_TIME = "initial_training_on_time"
# Hire-year cohort cells whose population is at most the year's hires in the slice (each worker's first hire).
YEAR_COHORT_CELLS = ((ON_TIME, ""), *(("promoted_within", str(mark)) for mark in PROMOTED_MARKS))
_YEAR_COHORT_NAMES = frozenset(name for name, _ in YEAR_COHORT_CELLS)
GRADE_MIX = "grade_mix"  # its denominator is the period-end headcount; its categories are the levels held
# Pay figures on the period's last day: their population, the paid workers employed then, is published with them and
# is often the period-end headcount of the slice (value link).
PAY_FIGURES = tuple(
    (name, comp) for name in ("pay_mean", *(p[0] for p in PERCENTILES)) for comp in ("total", "base", "allowances")
)
_PAY_NAMES = frozenset(name for name, _ in PAY_FIGURES)
# Route rule: a rolling-12 rate -> the flow (category "") whose 12 months sum to its numerator; its denominator is
# the mean of the 12 months' headcount_avg.
WINDOW_FLOWS = {
    "separation_rate": "separations",
    "voluntary_rate": "separations_voluntary",
    "involuntary_rate": "separations_involuntary",
    "hires_rate": "hires",
    "promotion_rate": "promotions",
}
WINDOW_SOURCES = frozenset({*WINDOW_FLOWS.values(), "headcount_avg"})  # the month cells the windows read
_WINDOWS_OF = {src: tuple(r for r, f in WINDOW_FLOWS.items() if src in (f, "headcount_avg")) for src in WINDOW_SOURCES}
YEAR_END = "headcount_end"  # a year's is its December's
ONE_MONTH_YEARS = frozenset({"headcount_avg", "training_hours"})  # a year with one hidden month gives it away

SUPPRESSED = IndicatorRow._fields.index("suppressed")
Ref = tuple[Family, SliceKey]
Source = tuple[Family, bool]  # the family of the same slice, and whether the link holds only on equal values
Siblings = tuple[SliceKey, str]  # parent slice, children's dimension
# ("slice", family, (parent slice, dimension)), ("month", year family, (slice, dimension)), or a route: ("window" |
# "year_end" | "one_month", the window or year family, (slice, dimension))
GroupKey = tuple[str, Family, Siblings]
ROUTES = frozenset({"window", "year_end", "one_month"})


def _year_of(fam: Family) -> Family | None:
    """The year family whose 12 month cells the month-in-year rule compares (flow counts only)."""
    ind, kind, period, cat = fam
    if kind != "month" or ind not in FLOW_COUNTS:
        return None
    return (ind, "year", date(period.year, 1, 1), cat)


def _month_at(mi: int) -> date:
    return date(mi // 12, mi % 12 + 1, 1)


def routes(fam: Family) -> list[tuple[str, Family]]:
    """The route-rule groups a month cell of ``fam`` is a part of: (how, the window or year family)."""
    ind, kind, period, cat = fam
    if kind != "month":
        return []
    out: list[tuple[str, Family]] = []
    if ind in WINDOW_SOURCES and not cat:
        first = period.year * 12 + period.month - 1
        out += [
            ("window", (r, "rolling12", _month_at(mi), "")) for r in _WINDOWS_OF[ind] for mi in range(first, first + 12)
        ]
    year = date(period.year, 1, 1)
    if ind == YEAR_END and period.month == 12 and not cat:
        out.append(("year_end", (ind, "year", year, cat)))
    elif ind in ONE_MONTH_YEARS:
        out.append(("one_month", (ind, "year", year, cat)))
    return out


def _year_before(month: date) -> date:
    return month.replace(year=month.year - 1)


def _year_after(month: date) -> date:
    return month.replace(year=month.year + 1)


def sources(fam: Family) -> list[Source]:
    """The families of the same slice whose hidden cell hides a cell of ``fam`` (linked rule); a value link hides
    it only when the cell's population equals the hidden cell's (true) value."""
    ind, kind, period, _ = fam
    refs = REFERENCES.get(ind)
    if refs is not None:
        return [((name, kind, period, cat), False) for name, cat in refs]
    if kind == "cohort" and (ind == ON_TIME or ind in _COHORT_NAMES):
        return [(("hires", "month", period, ""), True)]
    if kind == "year" and ind in _YEAR_COHORT_NAMES:
        return [(("hires", "year", period, ""), True)]
    if ind == GRADE_MIX:
        return [(("headcount_end", kind, period, ""), False)]
    if ind in _PAY_NAMES and kind in ("month", "year"):
        return [(("headcount_end", kind, period, ""), True)]
    if kind == "month" and ind == "stability_index":
        return [(("headcount_end", "month", _year_before(period), ""), True)]
    return []


def dependents(fam: Family) -> list[Family]:
    """The families of the same slice that ``sources`` names ``fam`` for (``grade_mix`` with category ``*``:
    whichever levels exist)."""
    ind, kind, period, cat = fam
    out = [(rate, kind, period, "") for rate in DEPENDENTS.get((ind, cat), ())]
    if ind == "hires" and not cat and kind == "month":
        out += [(name, "cohort", period, mark) for name, mark in COHORT_CELLS]
        out.append((ON_TIME, "cohort", period, ""))
    elif ind == "hires" and not cat and kind == "year":
        out += [(name, "year", period, mark) for name, mark in YEAR_COHORT_CELLS]
    elif ind == "headcount_end":
        out.append((GRADE_MIX, kind, period, "*"))
        out += [(name, kind, period, comp) for name, comp in PAY_FIGURES]
        if kind == "month":
            out.append(("stability_index", "month", _year_after(period), ""))
    return out


def _hits(row: IndicatorRow, src: IndicatorRow | None, by_value: bool) -> bool:
    return src is not None and src.suppressed and (not by_value or src.value == row.workers)


class _Rules:
    def __init__(self, cells: Cells, org: OrgTree) -> None:
        self.cells = cells
        self.fams = cells.families
        slices: set[SliceKey] = set()
        for rows in self.fams.values():
            slices.update(rows)
        # slice -> (parent slice, dimension); parent (slice, dimension) -> children sorted by slice
        self.parent: dict[SliceKey, Siblings] = {}
        children: dict[Siblings, list[SliceKey]] = {}
        for key in slices:
            if key[0] == "org":
                up = org.published_parent(key[1])
                parent = ("org", up) if up is not None else ALL
            elif key != ALL:
                parent = ALL
            else:
                continue
            self.parent[key] = (parent, key[0])
            children.setdefault((parent, key[0]), []).append(key)
        self.children = {group: sorted(kids) for group, kids in children.items()}
        self.levels: dict[tuple[str, date], list[str]] = {}  # (kind, period) -> the grade mix's categories
        for ind, kind, period, cat in self.fams:
            if ind == GRADE_MIX:
                self.levels.setdefault((kind, period), []).append(cat)

    def first_round(self) -> set[GroupKey]:
        """The groups with exactly one suppressed child (the others cannot act)."""
        out: set[GroupKey] = set()
        months: dict[Family, Counter[SliceKey]] = {}
        for fam, rows in self.fams.items():
            hid = [key for key, row in rows.items() if row[SUPPRESSED]]
            if not hid:
                continue
            per_parent = Counter(map(self.parent.get, hid))
            out.update(("slice", fam, sib) for sib, n in per_parent.items() if n == 1 and sib is not None)
            year = _year_of(fam)
            if year is not None and year in self.fams:
                months.setdefault(year, Counter()).update(hid)
            out.update(self.route_groups(fam, hid))
        for year, per_key in months.items():
            out.update(("month", year, (key, key[0])) for key, n in per_key.items() if n == 1)
        return out

    def route_groups(self, fam: Family, hidden: list[SliceKey]) -> list[GroupKey]:
        """The route-rule groups of the hidden month cells ``hidden`` of ``fam`` whose window or year is published:
        a window or year-end group exists only for a hidden part, so ``route_pick`` needs no other."""
        out: list[GroupKey] = []
        for how, target in routes(fam):
            rows = self.fams.get(target)
            if rows is not None:
                for key in hidden:
                    row = rows.get(key)
                    if row is not None and not row[SUPPRESSED]:
                        out.append((how, target, (key, key[0])))
        return out

    def groups_of(self, ref: Ref) -> list[GroupKey]:
        """The groups in which (fam, key) is a child."""
        fam, key = ref
        out: list[GroupKey] = []
        sib = self.parent.get(key)
        if sib is not None:
            out.append(("slice", fam, sib))
        year = _year_of(fam)
        if year is not None:
            out.append(("month", year, (key, key[0])))
        out += self.route_groups(fam, [key])
        return out

    def _members(self, group: GroupKey) -> tuple[IndicatorRow | None, list[tuple[int, str | date, Ref, bool]]]:
        """The parent row and the children as (population, tie-break, ref, suppressed)."""
        how, fam, (key, dim) = group
        rows = self.fams.get(fam, {})
        kids: list[tuple[int, str | date, Ref, bool]] = []
        if how == "slice":
            up = rows.get(key)
            for child in self.children.get((key, dim), ()):
                row = rows.get(child)
                if row is not None:
                    kids.append((row.workers, child[1], (fam, child), row.suppressed))
            return up, kids
        ind, _, period, cat = fam
        for month in range(1, 13):
            month_fam: Family = (ind, "month", date(period.year, month, 1), cat)
            row = self.fams.get(month_fam, {}).get(key)
            if row is not None:
                kids.append((row.workers, month_fam[2], (month_fam, key), row.suppressed))
        return rows.get(key), kids

    def _hidden(self, fam: Family, key: SliceKey) -> bool:
        row = self.fams.get(fam, {}).get(key)
        return row is not None and row.suppressed

    def route_pick(self, group: GroupKey) -> Ref | None:
        """The window or year itself when it is published and gives a hidden month of its slice away (a window or
        year-end group is made only for a hidden part: ``route_groups``)."""
        how, fam, (key, _) = group
        row = self.fams[fam].get(key)
        if row is None or row.suppressed:
            return None
        if how == "one_month":
            ind, _, period, cat = fam
            months = [(ind, "month", date(period.year, month, 1), cat) for month in range(1, 13)]
            if sum(self._hidden(month, key) for month in months) != 1:
                return None
        return (fam, key)

    def pick(self, group: GroupKey) -> Ref | None:
        """The cell a secondary rule hides for ``group`` this round, if any."""
        return self.route_pick(group) if group[0] in ROUTES else self.sibling_pick(group)

    def sibling_pick(self, group: GroupKey) -> Ref | None:
        """The child to hide when the published parent has exactly one suppressed child."""
        up, kids = self._members(group)
        if up is None or up.suppressed or sum(1 for kid in kids if kid[3]) != 1:
            return None
        shown = [kid for kid in kids if not kid[3]]
        return min(shown, key=lambda kid: kid[:2])[2] if shown else None

    def linked(self, ref: Ref) -> bool:
        """A published cell with a hidden source cell."""
        fam, key = ref
        row = self.fams.get(fam, {}).get(key)
        if row is None or row.suppressed:
            return False
        return any(_hits(row, self.fams.get(src, {}).get(key), by_value) for src, by_value in sources(fam))

    def initial_hits(self) -> set[Ref]:
        """Every published cell with a hidden source cell (after primary suppression)."""
        out: set[Ref] = set()
        for fam, rows in self.fams.items():
            srcs = [(self.fams.get(src, {}), by_value) for src, by_value in sources(fam)]
            if srcs:
                out.update((fam, key) for key, row in rows.items() if not row.suppressed and _any_hit(row, srcs, key))
        return out

    def dependents(self, ref: Ref) -> list[Ref]:
        fam, key = ref
        out: list[Ref] = []
        for dep in dependents(fam):
            if dep[3] == "*":
                out += [((dep[0], dep[1], dep[2], cat), key) for cat in self.levels.get((dep[1], dep[2]), ())]
            else:
                out.append((dep, key))
        return out

    def link(self, hits: set[Ref]) -> set[Ref]:
        """Hide the cells the linked rule hits, and what that hides in turn; return them all."""
        done: set[Ref] = set()
        while hits:
            for fam, key in hits:
                self.cells.hide(fam, key, LINKED)
            done |= hits
            hits = {dep for ref in hits for dep in self.dependents(ref) if self.linked(dep)}
        return done


def _any_hit(row: IndicatorRow, srcs: list[tuple[dict[SliceKey, IndicatorRow], bool]], key: SliceKey) -> bool:
    return any(_hits(row, src.get(key), by_value) for src, by_value in srcs)


def suppress(cells: Cells, org: OrgTree, *, picked: str = SECONDARY) -> int:
    """Apply the linked rule, then secondary rounds (sibling, month-in-year and route rules, each round followed by
    the linked rule) to a fixed point; return the number of cells hidden.

    ``picked`` is the reason the secondary rounds give the cells they pick: the audit, which hides cells of its own
    and then runs the rules again, passes ``audit``, since what the rules hide then is hidden because of its cells
    (and is carried to the next table with them, ``audit.audit_hidden``)."""
    rules = _Rules(cells, org)
    total = len(rules.link(rules.initial_hits()))
    groups = rules.first_round()
    while True:
        picks = {pick for group in groups if (pick := rules.pick(group)) is not None}
        if not picks:
            return total
        for fam, key in picks:
            cells.hide(fam, key, picked)
        linked = rules.link({dep for ref in picks for dep in rules.dependents(ref) if rules.linked(dep)})
        total += len(picks) + len(linked)
        groups = {group for ref in picks | linked for group in rules.groups_of(ref)}
