"""Headcount, flows and turnover rates (NBS average headcount; SHRM / JOLTS rates)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import get_args

from schemas.turnover import SeparationKind, SeparationReason

from .accumulate import MonthStats, Rolling, SliceStats
from .cells import Cells
from .orgs import SliceKey
from .periods import Period

SEP_KINDS: tuple[str, ...] = get_args(SeparationKind)  # the event contract is the one list
REASONS: tuple[str, ...] = get_args(SeparationReason)
_RATE_OF_KIND = {"voluntary": "voluntary_rate", "involuntary": "involuntary_rate"}


def headcount_avg(period: Period, st: SliceStats) -> float:
    """Month: sum of daily headcounts / days; year: sum of the 12 monthly averages / 12."""
    return st.avg_sum / len(period.months)


def flow_cells(cells: Cells, period: Period, stats: MonthStats, end_counts: Mapping[SliceKey, int]) -> None:
    """headcount_avg/_end, hires, separations (by kind, by reason), net change, transfers and rates."""
    kind, label = period.kind, period.label
    for key, st in stats.items():
        pop = len(st.present)
        avg = headcount_avg(period, st)
        seps = sum(st.seps.values())
        cells.value("headcount_avg", kind, label, key, avg, pop)
        cells.value("headcount_end", kind, label, key, end_counts.get(key, 0), pop)
        cells.value("hires", kind, label, key, st.hires, pop)
        cells.value("separations", kind, label, key, seps, pop)
        for sep_kind in SEP_KINDS:
            cells.value(f"separations_{sep_kind}", kind, label, key, st.seps[sep_kind], pop)
        for reason in REASONS:
            cells.put("separations_by_reason", kind, label, key, reason, st.reasons[reason], None, None, pop)
        cells.value("net_change", kind, label, key, st.hires - seps, pop)
        cells.rate("replacement_ratio", kind, label, key, st.hires, seps, pop, scale=1.0)
        if key[0] == "org":
            cells.value("transfers_in", kind, label, key, st.t_in, pop)
            cells.value("transfers_out", kind, label, key, st.t_out, pop)
        cells.rate("separation_rate", kind, label, key, seps, avg, pop)
        for sep_kind, name in _RATE_OF_KIND.items():
            cells.rate(name, kind, label, key, st.seps[sep_kind], avg, pop)
        cells.rate("hires_rate", kind, label, key, st.hires, avg, pop)


def headcount_end_cells(cells: Cells, period: Period, stats: MonthStats, end_counts: Mapping[SliceKey, int]) -> None:
    """headcount_end alone, as ``flow_cells`` stores it (a month a stability index a year later links to)."""
    for key, st in stats.items():
        cells.value("headcount_end", period.kind, period.label, key, end_counts.get(key, 0), len(st.present))


def rolling_cells(cells: Cells, label: date, stats: dict[SliceKey, Rolling]) -> None:
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
