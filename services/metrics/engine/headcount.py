"""Headcount, flows and turnover rates (NBS average headcount; SHRM / JOLTS rates)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Protocol, get_args

from schemas.turnover import SeparationKind, SeparationReason

from .accumulate import MonthStats
from .cells import Cells
from .orgs import SliceKey
from .periods import Period

SEP_KINDS: tuple[str, ...] = get_args(SeparationKind)  # the event contract is the one list
REASONS: tuple[str, ...] = get_args(SeparationReason)
_RATE_OF_KIND = {"voluntary": "voluntary_rate", "involuntary": "involuntary_rate"}


def headcount_avg(period: Period, avg_sum: float) -> float:
    """Month: sum of daily headcounts / days; year: sum of the 12 monthly averages / 12 (``avg_sum``: the sum of the
    period's monthly averages)."""
    return avg_sum / len(period.months)


@dataclass(frozen=True, slots=True)
class FlowFigures:
    """What the flow family needs of one slice in one period, whichever engine aggregated it: the distinct workers
    employed at any time (the population), the sum of the monthly average headcounts (``avg_sum``), the period-end
    headcount, hires, separations by kind and by reason, and (org slices) transfers in and out."""

    workers: int
    avg_sum: float
    end: int
    hires: int
    seps: Mapping[str, int]
    reasons: Mapping[str, int]
    t_in: int = 0
    t_out: int = 0


def flow_figures(stats: MonthStats, end_counts: Mapping[SliceKey, int]) -> dict[SliceKey, FlowFigures]:
    """The reference engine's accumulators as ``FlowFigures`` (slices in the accumulators' order)."""
    return {
        key: FlowFigures(
            len(st.present), st.avg_sum, end_counts.get(key, 0), st.hires, st.seps, st.reasons, st.t_in, st.t_out
        )
        for key, st in stats.items()
    }


def flow_cells(cells: Cells, period: Period, figures: Mapping[SliceKey, FlowFigures]) -> None:
    """headcount_avg/_end, hires, separations (by kind, by reason), net change, transfers and rates."""
    kind, label = period.kind, period.label
    for key, f in figures.items():
        pop = f.workers
        avg = headcount_avg(period, f.avg_sum)
        seps = sum(f.seps.values())
        cells.value("headcount_avg", kind, label, key, avg, pop)
        cells.value("headcount_end", kind, label, key, f.end, pop)
        cells.value("hires", kind, label, key, f.hires, pop)
        cells.value("separations", kind, label, key, seps, pop)
        for sep_kind in SEP_KINDS:
            cells.value(f"separations_{sep_kind}", kind, label, key, f.seps.get(sep_kind, 0), pop)
        for reason in REASONS:
            cells.put("separations_by_reason", kind, label, key, reason, f.reasons.get(reason, 0), None, None, pop)
        cells.value("net_change", kind, label, key, f.hires - seps, pop)
        cells.rate("replacement_ratio", kind, label, key, f.hires, seps, pop, scale=1.0)
        if key[0] == "org":
            cells.value("transfers_in", kind, label, key, f.t_in, pop)
            cells.value("transfers_out", kind, label, key, f.t_out, pop)
        cells.rate("separation_rate", kind, label, key, seps, avg, pop)
        for sep_kind, name in _RATE_OF_KIND.items():
            cells.rate(name, kind, label, key, f.seps.get(sep_kind, 0), avg, pop)
        cells.rate("hires_rate", kind, label, key, f.hires, avg, pop)


def headcount_end_cells(cells: Cells, period: Period, stats: MonthStats, end_counts: Mapping[SliceKey, int]) -> None:
    """headcount_end alone, as ``flow_cells`` stores it (a month a stability index a year later links to)."""
    for key, st in stats.items():
        cells.value("headcount_end", period.kind, period.label, key, end_counts.get(key, 0), len(st.present))


class WindowFigures(Protocol):
    """What the rolling-12 rows need of one slice in one window (``accumulate.Rolling``, or the warehouse's)."""

    @property
    def seps(self) -> int: ...
    @property
    def voluntary(self) -> int: ...
    @property
    def involuntary(self) -> int: ...
    @property
    def hires(self) -> int: ...
    @property
    def promotions(self) -> int: ...
    @property
    def workers(self) -> int: ...
    @property
    def headcount_avg(self) -> float: ...


def rolling_cells(cells: Cells, label: date, stats: Mapping[SliceKey, WindowFigures]) -> None:
    """Rolling 12 months ending with the month ``label``: the window's flows / its average headcount (v5: the
    separation, voluntary, involuntary and hires rates alike; issue 16: the promotion rate)."""
    for key, r in stats.items():
        avg = r.headcount_avg
        for name, flow in (
            ("separation_rate", r.seps),
            ("voluntary_rate", r.voluntary),
            ("involuntary_rate", r.involuntary),
            ("hires_rate", r.hires),
            ("promotion_rate", r.promotions),
        ):
            cells.rate(name, "rolling12", label, key, flow, avg, r.workers)
