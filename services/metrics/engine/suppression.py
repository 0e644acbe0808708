"""Statistical disclosure control (METRICS.md, Suppression; contract section 4).

Primary suppression happens when a cell is stored (``Cells.put``). Then rounds, each judged on the flags as
they stood at its start, until nothing changes:
  * sibling rule - a published parent with exactly one suppressed child gets its smallest published child
    (by population, ties by slice) suppressed; per indicator, period kind, period and category; the parent of
    an org unit is its nearest published ancestor (none: ``all``), of any other dimension's value the ``all`` cell;
  * month-in-year rule - for flow counts, a published year cell with exactly one suppressed month gets its
    smallest published month (by population, ties by month) suppressed;
  * reference rule - a rate, ratio or derived count is suppressed when a cell it is computed from is.
"""

from __future__ import annotations

from datetime import date

from .cells import Cells, Family, hidden
from .model import IndicatorRow
from .orgs import OrgTree, SliceKey
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
    }
)
_HC = ("headcount_avg", "")
# A rate (or derived cell) -> the (indicator, category) cells of the same period and slice it is computed from.
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "separation_rate": (("separations", ""), _HC),
    "voluntary_rate": (("separations_voluntary", ""), _HC),
    "involuntary_rate": (("separations_involuntary", ""), _HC),
    "hires_rate": (("hires", ""), _HC),
    "training_hours_per_worker": (("training_hours", "all"), _HC),
    "share_trained": (("trainees", ""),),
    "replacement_ratio": (("hires", ""), ("separations", "")),
    "net_change": (("hires", ""), ("separations", "")),
}
DEPENDENTS: dict[tuple[str, str], tuple[str, ...]] = {}
for _rate, _refs in REFERENCES.items():
    for _ref in _refs:
        DEPENDENTS[_ref] = (*DEPENDENTS.get(_ref, ()), _rate)

Ref = tuple[Family, SliceKey]
# ("slice" | "month", parent family, parent slice, children's dimension)
GroupKey = tuple[str, Family, SliceKey, str]
DIMENSIONS = ("org", "service_model", "source_channel", "gender", "age_band")


class _Rules:
    def __init__(self, cells: Cells, org: OrgTree) -> None:
        self.fams = cells.families
        self.org = org
        self._parents: dict[SliceKey, SliceKey | None] = {}
        sortable: dict[GroupKey, list[tuple[int, str | date, Family, SliceKey]]] = {}
        for fam, rows in self.fams.items():
            ind, kind, period, cat = fam
            year_rows = self.fams.get((ind, "year", date(period.year, 1, 1), cat)) if kind == "month" else None
            year_fam: Family = (ind, "year", date(period.year, 1, 1), cat)
            check_year = year_rows is not None and ind in FLOW_COUNTS
            for key, row in rows.items():
                # A group whose parent is already suppressed can never act: it is not built.
                parent = self.slice_parent(key)
                if parent is not None:
                    up = rows.get(parent)
                    if up is not None and not up.suppressed:
                        group = ("slice", fam, parent, key[0])
                        sortable.setdefault(group, []).append((row.workers, key[1], fam, key))
                if check_year:
                    assert year_rows is not None
                    up = year_rows.get(key)
                    if up is not None and not up.suppressed:
                        group = ("month", year_fam, key, key[0])
                        sortable.setdefault(group, []).append((row.workers, period, fam, key))
        self.groups: dict[GroupKey, list[Ref]] = {}
        for group, kids in sortable.items():
            kids.sort()
            self.groups[group] = [(fam, key) for _, _, fam, key in kids]

    def row(self, ref: Ref) -> IndicatorRow:
        return self.fams[ref[0]][ref[1]]

    def slice_parent(self, key: SliceKey) -> SliceKey | None:
        if key in self._parents:
            return self._parents[key]
        parent: SliceKey | None = None
        if key[0] == "org":
            up = self.org.published_parent(key[1])
            parent = ("org", up) if up is not None else ALL
        elif key != ALL:
            parent = ALL
        self._parents[key] = parent
        return parent

    def child_of(self, fam: Family, key: SliceKey) -> list[GroupKey]:
        """The groups in which (fam, key) is a child and whose parent cell exists."""
        out: list[GroupKey] = []
        parent = self.slice_parent(key)
        if parent is not None and parent in self.fams[fam]:
            out.append(("slice", fam, parent, key[0]))
        ind, kind, period, cat = fam
        if kind == "month" and ind in FLOW_COUNTS:
            year: Family = (ind, "year", date(period.year, 1, 1), cat)
            if key in self.fams.get(year, {}):
                out.append(("month", year, key, key[0]))
        return out

    def touched(self, ref: Ref) -> list[GroupKey]:
        fam, key = ref
        return [*self.child_of(fam, key), ("month", fam, key, key[0])] + [("slice", fam, key, d) for d in DIMENSIONS]

    def sibling_pick(self, group: GroupKey) -> Ref | None:
        """The child to hide when the published parent has exactly one suppressed child."""
        kids = self.groups.get(group)
        if kids is None or self.fams[group[1]][group[2]].suppressed:
            return None
        flagged = 0
        pick: Ref | None = None
        for ref in kids:
            if self.row(ref).suppressed:
                flagged += 1
                if flagged > 1:
                    return None
            elif pick is None:
                pick = ref
        return pick if flagged == 1 else None

    def reference_hit(self, ref: Ref) -> bool:
        (ind, kind, period, _), key = ref
        row = self.fams.get(ref[0], {}).get(key)
        if row is None or row.suppressed:
            return False
        for name, cat in REFERENCES.get(ind, ()):
            other = self.fams.get((name, kind, period, cat), {}).get(key)
            if other is not None and other.suppressed:
                return True
        return False

    def dependents(self, ref: Ref) -> list[Ref]:
        (ind, kind, period, cat), key = ref
        return [((rate, kind, period, ""), key) for rate in DEPENDENTS.get((ind, cat), ())]


def suppress(cells: Cells, org: OrgTree) -> int:
    """Apply secondary suppression in rounds to a fixed point; return the number of cells it hid."""
    rules = _Rules(cells, org)
    groups: set[GroupKey] = set(rules.groups)
    rates: list[Ref] = [(fam, key) for fam, rows in cells.families.items() if fam[0] in REFERENCES for key in rows]
    total = 0
    while True:
        added: set[Ref] = set()
        for group in groups:
            pick = rules.sibling_pick(group)
            if pick is not None:
                added.add(pick)
        added.update(ref for ref in rates if rules.reference_hit(ref))
        if not added:
            return total
        total += len(added)
        for fam, key in added:
            rows = cells.families[fam]
            rows[key] = hidden(rows[key])
        groups = {g for ref in added for g in rules.touched(ref)}
        rates = [dep for ref in added for dep in rules.dependents(ref)]
