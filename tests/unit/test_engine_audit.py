"""The publish audit's check (engine.audit): LP bounds over the METRICS.md relations on hand-made tables."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from services.metrics.engine import audit
from services.metrics.engine.audit import (
    _LP,
    AUDIT,
    AuditReport,
    Var,
    _blocks,
    _Graph,
    _holding,
    _intervals,
    _moves,
    _Points,
    _region,
    _Row,
    audit_hidden,
    audit_table,
    find_leaks,
    width,
)
from services.metrics.engine.cells import SECONDARY, Cells
from services.metrics.engine.orgs import build_org_tree
from services.metrics.engine.suppression import suppress

AS_OF = date(2024, 12, 31)
JAN = date(2024, 1, 1)
ORG = build_org_tree([])


def _hires(female: int, male: int, total: int, *, k: int = 5) -> Cells:
    """One month's hires by gender; populations chosen so that women's cell is below k and men's is not."""
    cells = Cells(k)
    cells.value("hires", "month", JAN, ("all", "all"), total, 20)
    cells.value("hires", "month", JAN, ("gender", "female"), female, 3)
    cells.value("hires", "month", JAN, ("gender", "male"), male, 17)
    return cells


def test_the_width_is_two_or_a_fifth_and_nothing_for_a_zero() -> None:
    assert width(1) == 2
    assert width(40) == 8
    assert width(0) == 0


def test_the_cells_the_last_table_hid_for_the_audit_are_hidden_again_first() -> None:
    first = _hires(female=1, male=4, total=5)
    assert audit_table(first, ORG, AS_OF).hidden == 1
    prior = audit_hidden(first.rows())
    assert prior == {(("hires", "month", JAN, ""), ("gender", "male"))}
    again = _hires(female=1, male=4, total=5)
    report = audit_table(again, ORG, AS_OF, prior=prior | {(("hires", "month", JAN, ""), ("gender", "other"))})
    assert report.passed and report.carried == 1 and report.hidden == 0 and report.rounds == 1  # no row: skipped
    assert again.families[("hires", "month", JAN, "")][("gender", "male")].reason == AUDIT


def test_a_hidden_child_beside_a_published_sibling_is_found_exactly() -> None:
    cells = _hires(female=1, male=4, total=5)
    report, leaks = find_leaks(cells, ORG, AS_OF)
    assert not report.passed
    assert leaks == {"hires month 2024-01-01 gender=female (v)": (1.0, 1.0)}


def test_two_hidden_children_with_room_between_them_pass() -> None:
    cells = _hires(female=1, male=4, total=5)
    cells.hide(("hires", "month", JAN, ""), ("gender", "male"), "secondary")
    report, leaks = find_leaks(cells, ORG, AS_OF)
    assert report.passed and not leaks
    assert report.cells_checked == 2


def test_a_zero_pinned_to_zero_needs_no_protection() -> None:
    report, leaks = find_leaks(_hires(female=0, male=5, total=5), ORG, AS_OF)
    assert report.passed and not leaks


def test_a_year_minus_its_published_months_is_found() -> None:
    cells = Cells(5)
    for month in range(1, 13):
        cells.value(
            "training_hours", "month", date(2024, month, 1), ("all", "all"), 10.0 * month, 30 if month > 1 else 2
        )
    cells.value("training_hours", "year", JAN, ("all", "all"), 780.0, 30)
    _, leaks = find_leaks(cells, ORG, AS_OF)
    assert leaks == {"training_hours month 2024-01-01 all=all (v)": (10.0, 10.0)}  # January: 2 workers, hidden


def test_the_loop_hides_the_published_sibling_and_then_passes() -> None:
    cells = _hires(female=1, male=4, total=5)
    report = audit_table(cells, ORG, AS_OF)
    assert report.passed and report.hidden == 1 and report.rounds == 2
    male = cells.families[("hires", "month", JAN, "")][("gender", "male")]
    assert male.suppressed and male.reason == AUDIT
    assert not math.isnan(report.seconds)


def _window_table(hidden_month: int) -> Cells:
    """Twelve months of hires in one slice (one of them below k) and the rolling-12 window ending in December."""
    cells = Cells(5)
    for month in range(1, 13):
        workers = 2 if month == hidden_month else 9
        for key in (("all", "all"), ("gender", "female")):
            cells.value("hires", "month", date(2024, month, 1), key, 1, 20 if key[0] == "all" else workers)
            cells.value("headcount_avg", "month", date(2024, month, 1), key, 9.0, 20 if key[0] == "all" else workers)
    for key in (("all", "all"), ("gender", "female")):
        cells.rate("hires_rate", "rolling12", date(2024, 12, 1), key, 12, 9.0, 20 if key[0] == "all" else 12)
    return cells


def test_a_window_over_a_hidden_month_is_hidden_by_the_rules_before_any_lp() -> None:
    # issue 12: the rules close this known route themselves, before any audit
    cells = _window_table(hidden_month=3)
    suppress(cells, ORG)
    window = cells.families[("hires_rate", "rolling12", date(2024, 12, 1), "")]
    assert window[("gender", "female")].reason == SECONDARY and not window[("all", "all")].suppressed


def test_a_year_end_headcount_equal_to_a_hidden_december_is_hidden_by_the_rules() -> None:
    cells = Cells(5)
    cells.value("headcount_end", "month", date(2024, 12, 1), ("all", "all"), 3, 3)
    cells.value("headcount_end", "year", JAN, ("all", "all"), 3, 6)
    assert suppress(cells, ORG) == 1
    assert cells.families[("headcount_end", "year", JAN, "")][("all", "all")].reason == SECONDARY


def test_a_slice_value_without_a_row_is_a_known_zero() -> None:
    # men have no row (nobody): the female cell is the total, whatever its population
    cells = Cells(5)
    cells.value("hires", "month", JAN, ("all", "all"), 2, 20)
    cells.value("hires", "month", JAN, ("gender", "female"), 2, 3)
    cells.value("hires", "month", JAN, ("gender", "male"), 0, 0)  # empty population: no row is stored
    assert ("gender", "male") not in cells.families[("hires", "month", JAN, "")]
    _, leaks = find_leaks(cells, ORG, AS_OF)
    assert leaks == {"hires month 2024-01-01 gender=female (v)": (2.0, 2.0)}


def test_a_window_whose_denominator_alone_is_known_does_not_leak() -> None:
    # the window is hidden; its average headcount is the mean of twelve published months, its hires are not known
    cells = _window_table(hidden_month=3)
    suppress(cells, ORG)
    march = cells.families[("hires", "month", date(2024, 3, 1), "")]
    assert march[("gender", "female")].suppressed
    cells.hide(("hires", "month", date(2024, 4, 1), ""), ("gender", "female"), "secondary")
    cells.hide(("hires", "month", date(2024, 3, 1), ""), ("all", "all"), "secondary")
    cells.hide(("hires", "month", date(2024, 4, 1), ""), ("all", "all"), "secondary")
    del cells.families[("hires_rate", "rolling12", date(2024, 12, 1), "")][("all", "all")]  # else women's = all's
    report, leaks = find_leaks(cells, ORG, AS_OF)
    window = "hires_rate rolling12 2024-12-01 gender=female"
    assert report.cells_checked >= 6 and not [leak for leak in leaks if leak.startswith(window)]


def test_a_year_average_is_the_mean_of_its_monthly_averages() -> None:
    cells = Cells(5)
    for month in range(1, 13):
        cells.value("headcount_avg", "month", date(2024, month, 1), ("all", "all"), 6.0 + month, 2 if month == 5 else 9)
    cells.value("headcount_avg", "year", JAN, ("all", "all"), sum(6.0 + m for m in range(1, 13)) / 12, 9)
    _, leaks = find_leaks(cells, ORG, AS_OF)
    assert leaks == {"headcount_avg month 2024-05-01 all=all (v)": (11.0, 11.0)}  # May: 2 workers, hidden


def test_a_hidden_net_change_is_its_parent_minus_its_published_siblings() -> None:
    # net_change sums across slices like a count and may be negative; the hidden women's -1 follows from 2 - 3
    cells = Cells(5)
    for key, hires, leavers, workers in ((("all", "all"), 4, 2, 20), (("gender", "female"), 1, 2, 3)):
        cells.value("hires", "month", JAN, key, hires, workers)
        cells.value("separations", "month", JAN, key, leavers, workers)
        cells.value("net_change", "month", JAN, key, hires - leavers, workers)
    cells.value("hires", "month", JAN, ("gender", "male"), 3, 17)
    cells.value("separations", "month", JAN, ("gender", "male"), 0, 17)
    cells.value("net_change", "month", JAN, ("gender", "male"), 3, 17)
    _, leaks = find_leaks(cells, ORG, AS_OF)
    assert leaks["net_change month 2024-01-01 gender=female (v)"] == (-1.0, -1.0)


def test_the_first_month_starts_from_nobody() -> None:
    # the table's first month: its end headcount is its hires minus its leavers (nobody before), though hidden
    cells = Cells(5)
    cells.value("hires", "month", JAN, ("all", "all"), 4, 9)
    cells.value("separations", "month", JAN, ("all", "all"), 1, 9)
    cells.value("headcount_end", "month", JAN, ("all", "all"), 3, 9)
    cells.hide(("headcount_end", "month", JAN, ""), ("all", "all"), "secondary")
    _, leaks = find_leaks(cells, ORG, AS_OF)
    assert leaks == {"headcount_end month 2024-01-01 all=all (v)": (3.0, 3.0)}


# ---- the neighbourhood proofs of a large block ---------------------------------------------------------------------
def _chain(pinned: bool) -> tuple[list[_Row], dict[Var, float]]:
    """x + y = 10, y + z = 12, z + w = 9, w + u = 5 over hidden cells (x, y, z, w, u) = (4, 6, 6, 3, 2): x can be
    anything in [2, 7] (u in [0, 5]); with ``pinned``, a published cell gives u = 2 and so every one of them."""
    names = "xyzwu"
    var: dict[str, Var] = {n: (("hires", "month", JAN, ""), ("org", n), "v") for n in names}
    truth = dict(zip(var.values(), (4.0, 6.0, 6.0, 3.0, 2.0), strict=True))
    rows = [
        _Row(((var[a], 1.0), (var[b], 1.0)), total, total, ())
        for a, b, total in (("x", "y", 10.0), ("y", "z", 12.0), ("z", "w", 9.0), ("w", "u", 5.0))
    ]
    if pinned:
        rows.append(_Row(((var["u"], 1.0),), 2.0, 2.0, ()))
    return rows, truth


def test_a_neighbourhood_proof_holds_the_rest_at_the_truth_and_so_proves_only_what_the_table_allows() -> None:
    rows, truth = _chain(pinned=False)
    x = next(iter(truth))
    graph = _Graph(rows, truth)
    proven: set[Var] = set()
    # x's own row frees y, but y's other row holds z at 6: y and x stay put; only the whole chain lets u move x
    assert not _moves(graph, graph.index[x], 1, AuditReport(), proven)
    assert not _moves(graph, graph.index[x], 3, AuditReport(), proven)
    assert not proven
    assert _moves(graph, graph.index[x], 4, AuditReport(), proven)
    assert proven == {x}
    assert _intervals(rows, truth, AuditReport()) == {}  # and the whole table's LP agrees: x is 5 wide


def test_a_neighbourhood_never_proves_a_cell_the_table_pins() -> None:
    rows, truth = _chain(pinned=True)
    x = next(iter(truth))
    graph = _Graph(rows, truth)
    for size in (1, 3, 4, 5):
        assert not _moves(graph, graph.index[x], size, AuditReport(), set())
    assert _intervals(rows, truth, AuditReport())[x] == (4.0, 4.0)


def test_a_large_block_the_neighbourhoods_do_not_settle_is_treated_as_leaking(monkeypatch: pytest.MonkeyPatch) -> None:
    # a + b = 10, a - b = 2, a + c = 9 over hidden a = 6, b = 4, c = 3: each pinned, which interval propagation
    # alone does not see (a, b in [0, 10], c in [0, 9] there)
    rows = [
        _Row(((0, 1.0), (1, 1.0)), 10.0, 10.0, ()),
        _Row(((0, 1.0), (1, -1.0)), 2.0, 2.0, ()),
        _Row(((0, 1.0), (2, 1.0)), 9.0, 9.0, ()),
    ]
    truth: dict[Var, float] = {0: 6.0, 1: 4.0, 2: 3.0}
    monkeypatch.setattr(audit, "LARGE", 0)  # every block is large
    monkeypatch.setattr(audit, "NEAR", (1,))  # and its neighbourhoods too small to prove anything
    monkeypatch.setattr(audit, "BATCHES", 0)  # no push over the whole table either
    monkeypatch.setattr(audit, "EXACT", 0)
    leaks = _intervals(rows, truth, AuditReport())
    assert set(leaks) == set(truth) and all(math.isnan(low) for low, _ in leaks.values())
    monkeypatch.setattr(audit, "EXACT", 12)  # a few left: the block's own LPs settle them
    assert _intervals(rows, truth, AuditReport()) == {0: (6.0, 6.0), 1: (4.0, 4.0), 2: (3.0, 3.0)}


def test_after_carried_points_a_large_block_s_pushes_prove_what_its_neighbourhoods_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows, truth = _chain(pinned=False)  # x..u each wide, but only through the whole chain
    monkeypatch.setattr(audit, "LARGE", 0)
    monkeypatch.setattr(audit, "NEAR", (1,))
    monkeypatch.setattr(audit, "BATCHES", 0)
    monkeypatch.setattr(audit, "EXACT", 0)  # more cells left than a large block's own min and max LPs are for
    assert _intervals(rows, truth, AuditReport(), settle=True) == {}  # an audit that started from carried points
    assert set(_intervals(rows, truth, AuditReport())) == set(truth)  # a first audit: treated as leaking


def test_a_region_holds_the_cells_beyond_it_at_their_truth() -> None:
    """The pushes' region (the variables of the rows nearest each open cell): a held cell's terms fold into the
    bounds, so the region's solutions are points of the whole table and prove no more than the table allows."""
    rows, truth = _chain(pinned=False)
    x, y, z = list(truth)[:3]
    graph = _Graph(rows, truth)
    region = _region(graph, np.array([graph.index[x]]), 2)  # x's two nearest rows: x + y = 10, y + z = 12
    assert region.vars == [x, y, z]
    # z + w = 9 holds z with w at its truth (3): z = 6, so y = 6 and x = 4, pinned within the region
    lone = np.bincount(region.row_of) == 1
    assert [(lo, hi) for lo, hi, one in zip(region.lo, region.hi, lone, strict=True) if one] == [(6.0, 6.0)]
    rows, truth = _chain(pinned=True)
    assert _intervals(rows, truth, AuditReport())[x] == (4.0, 4.0)  # pinned in the table: no region proves it wide


def test_blocks_are_the_connected_rows_in_the_order_of_their_first_row() -> None:
    var = {n: (("hires", "month", JAN, ""), ("org", n), "v") for n in "abcdef"}
    pairs = ("ab", "cd", "ef", "bc", "ff")  # a-b-c-d joined through b + c; e-f apart
    rows = [_Row(tuple((var[n], 1.0) for n in pair), 0.0, 0.0, ()) for pair in pairs]
    assert _blocks(rows) == [[0, 1, 3], [2, 4]]


# ---- the last audit's points, carried to the next ------------------------------------------------------------------
def _numbered(rows: list[_Row], truth: dict[Var, float], first: int = 0) -> tuple[list[_Row], dict[Var, float]]:
    """The same rows over variables numbered from ``first`` (a model numbers its quantities; points hold numbers)."""
    number = {var: first + i for i, var in enumerate(truth)}
    renamed = [_Row(tuple((number[v], c) for v, c in row.terms), row.lo, row.hi, row.shown) for row in rows]
    return renamed, {number[v]: t for v, t in truth.items()}


def test_a_carried_point_proves_its_cells_again_without_an_lp() -> None:
    rows, truth = _numbered(*_chain(pinned=False))
    first = _Points()
    assert _intervals(rows, truth, AuditReport(), points=first) == {}
    assert set(first.of) == set(truth)  # every cell has the points that prove it
    carried = _Points()
    carried.carried = [first.moves[p] for p in sorted({p for pair in first.of.values() for p in pair if p >= 0})]
    report = AuditReport()
    assert _intervals(rows, truth, report, points=carried) == {}
    assert report.reused == len(truth) and report.lps == 0
    assert set(carried.of) == set(truth)  # and they are this audit's proofs in turn


def test_a_carried_point_that_no_longer_holds_proves_nothing() -> None:
    # a + b = 10 over hidden a = 6, b = 4: each is 0 to 10
    rows = [_Row(((0, 1.0), (1, 1.0)), 10.0, 10.0, ())]
    truth: dict[Var, float] = {0: 6.0, 1: 4.0}
    first = _Points()
    assert _intervals(rows, truth, AuditReport(), points=first) == {}
    # the next table also gives a - b = 2 (interval propagation alone does not see that it pins both)
    pinned = [*rows, _Row(((0, 1.0), (1, -1.0)), 2.0, 2.0, ())]
    carried = _Points()
    carried.carried = list(first.moves)
    report = AuditReport()
    assert _intervals(pinned, truth, report, points=carried) == {0: (6.0, 6.0), 1: (4.0, 4.0)}
    assert report.reused == 0


def test_a_carried_move_goes_as_far_as_the_new_truth_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    # a + b = 10 over hidden a = 6, b = 4; a point moved a by -6 (to 0) and b by +6
    rows = [_Row(((0, 1.0), (1, 1.0)), 10.0, 10.0, ())]
    move = (np.array([0, 1], dtype=np.int64), np.array([-6.0, 6.0]))
    # the next table: a = 3, b = 7; the full move would take a to -3, half of it takes a to 0 and b to 10
    [(_, delta, _)] = list(_holding([move], _LP.of(rows, {0: 3.0, 1: 7.0})))
    assert delta.tolist() == [-3.0, 3.0]
    carried = _Points()
    carried.carried = [move]
    report = AuditReport()
    monkeypatch.setattr(audit, "BATCHES", 0)  # no push of its own
    assert _intervals(rows, {0: 3.0, 1: 7.0}, report, points=carried) == {}
    assert report.reused == 2 and report.lps == 0  # each 3 wide, more than its width (2), without an LP


def test_a_carried_move_moves_a_new_quantity_its_relation_alone_fixes() -> None:
    # the last table: a + b = 10 (a = 6, b = 4), a point moved a by +4 and b by -4; the next table also has n, a new
    # quantity with n = a (such as a new month's rolling window over a moved month)
    rows = [_Row(((0, 1.0), (1, 1.0)), 10.0, 10.0, ()), _Row(((2, 1.0), (0, -1.0)), 0.0, 0.0, ())]
    lp = _LP.of(rows, {0: 6.0, 1: 4.0, 2: 6.0})
    move = (np.array([0, 1], dtype=np.int64), np.array([4.0, -4.0]))
    [(variables, delta, _)] = list(_holding([move], lp, known=np.array([0, 1])))
    assert variables.tolist() == [0, 1, 2] and delta.tolist() == [4.0, -4.0, 4.0]
    # had the last table known n (and so held it at its truth), the point would say n stays: it breaks n = a
    assert list(_holding([move], lp, known=np.array([0, 1, 2]))) == []


def test_a_carried_move_keeps_the_parts_that_still_hold() -> None:
    """Two independent chains moved by one point: in the next table one of its cells is published (no longer a
    variable), which breaks that chain's part; the other chain's part is a feasible point on its own."""
    rows, truth = _numbered(*_chain(pinned=False))  # variables 0 to 4
    other, other_truth = _numbered(*_chain(pinned=False), first=5)  # 5 to 9
    both = rows + other
    truth2 = truth | other_truth
    # x..u = 4, 6, 6, 3, 2 -> 6, 4, 8, 1, 4 (x + y = 10, y + z = 12, z + w = 9, w + u = 5 still hold)
    step = np.array([2.0, -2.0, 2.0, -2.0, 2.0])
    move = (np.arange(10, dtype=np.int64), np.concatenate((step, step)))
    lp = _LP.of(both, truth2)
    [(variables, delta, _)] = list(_holding([move], lp))
    assert variables.tolist() == list(range(10))
    published = []  # u of the second chain (variable 9, truth 2) published: a constant folded into its row
    for row in both:
        held = sum(c * truth2[v] for v, c in row.terms if v == 9)
        published.append(_Row(tuple((v, c) for v, c in row.terms if v != 9), row.lo - held, row.hi - held, ()))
    lp = _LP.of(published, {v: t for v, t in truth2.items() if v != 9})
    [(variables, delta, _)] = list(_holding([move], lp))
    assert variables.tolist() == list(range(5)) and delta.tolist() == step.tolist()


def test_an_audit_hands_its_proofs_to_the_next() -> None:
    first = _hires(female=1, male=4, total=5)
    report = audit_table(first, ORG, AS_OF)
    assert report.passed and report.proofs is not None and report.proofs.moves
    again = _hires(female=1, male=4, total=5)
    next_report = audit_table(again, ORG, AS_OF, prior=audit_hidden(first.rows()), proofs=report.proofs)
    assert next_report.passed and next_report.hidden == 0 and next_report.lps == 0
    assert next_report.reused == 2  # women's and men's hires, each 1 to 5 wide
    assert [r.suppressed for r in again.rows()] == [r.suppressed for r in first.rows()]
    changed = _hires(female=1, male=2, total=3)  # the figures moved: the points are checked on the new truth
    later = audit_table(changed, ORG, AS_OF, prior=audit_hidden(first.rows()), proofs=report.proofs)
    assert later.passed


class _Spy:
    """A HiGHS model that counts the calls it gets to clear its solver and records the options it is given (then
    does them)."""

    def __init__(self, h: object) -> None:
        self.h, self.cleared = h, 0
        self.given: list[tuple[str, object]] = []

    def clearSolver(self) -> object:  # HiGHS's name
        self.cleared += 1
        return self.h.clearSolver()  # type: ignore[attr-defined]

    def setOptionValue(self, name: str, value: object) -> object:  # HiGHS's name
        self.given.append((name, value))
        return self.h.setOptionValue(name, value)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.h, name)


def _spied_chain(*, steady: bool = False, presolve: bool = True) -> tuple[_Spy, int, list[np.ndarray]]:
    """The chain's LP with a ``_Spy`` on its model, solved for x's least and greatest value (x in [2, 7]): the spy,
    x's column and the two costs."""
    rows, truth = _chain(pinned=False)
    lp = _LP.of(rows, truth)
    lp.steady = steady
    if not presolve:
        lp.h.setOptionValue("presolve", "off")  # so that the chain needs simplex iterations at all
    spy = _Spy(lp.h)
    lp._h = spy  # type: ignore[assignment]
    x = lp.index[next(iter(truth))]
    costs = []
    for sign, end in ((1.0, 2.0), (-1.0, 7.0)):
        cost = np.zeros(len(lp.vars))
        cost[x] = sign
        found = lp.solve(cost)
        assert found is not None and found[x] == pytest.approx(end, abs=1e-6)
        costs.append(cost)
    return spy, x, costs


@pytest.mark.parametrize(("cold", "cleared"), [(0, 2), (1_000, 0)], ids=["large", "small"])
def test_a_large_lp_is_solved_afresh_each_time_a_small_one_from_its_last_basis(
    monkeypatch: pytest.MonkeyPatch, cold: int, cleared: int
) -> None:
    """Beyond ``COLD`` variables each solve drops the last basis (HiGHS then presolves the model again); the optima
    are those of a model built for each cost."""
    monkeypatch.setattr(audit, "COLD", cold)
    spy, x, costs = _spied_chain()
    assert spy.cleared == cleared
    for cost, end in zip(costs, (2.0, 7.0), strict=True):
        fresh = _LP.of(*_chain(pinned=False)).solve(cost)
        assert fresh is not None and fresh[x] == pytest.approx(end)


@pytest.mark.parametrize(("iterations", "ipm"), [(1, True), (50_000, False)], ids=["out of iterations", "within"])
def test_a_push_out_of_simplex_iterations_is_finished_by_the_interior_point_method(
    monkeypatch: pytest.MonkeyPatch, iterations: int, ipm: bool
) -> None:
    """A push (a steady LP) that needs more than ``SIMPLEX_ITERATIONS`` simplex iterations is solved again by the
    interior-point method, to the same optimum; the switch counts iterations, never seconds, so the same table takes
    the same path on any machine (HiGHS's time limit also counted every earlier run of the model)."""
    monkeypatch.setattr(audit, "SIMPLEX_ITERATIONS", iterations)
    spy, _, _ = _spied_chain(steady=True, presolve=False)
    assert (("solver", "ipm") in spy.given) is ipm
    assert not any(name == "time_limit" for name, _ in spy.given)
