"""The cell store the indicator families write into, and the small numeric helpers they share.

Rows are built once, at ``put``: a cell below the primary threshold is born suppressed (reason ``primary``), so
suppression later only replaces the few rows that secondary and linked rules hide. Rows live in families
(indicator, period_kind, period, category) keyed by slice, the shape the suppression rules walk. A hidden row keeps
its figures and population here (the rules compare populations, and the linked rule values); ``rows`` gives the
published form, which drops them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from .model import IndicatorRow
from .orgs import SliceKey
from .slices import ALL

Family = tuple[str, str, date, str]  # indicator, period_kind, period, category


def ratio(num: float, den: float, scale: float = 100.0) -> float | None:
    """``num / den * scale``; a zero denominator gives NULL."""
    return num / den * scale if den else None


def percentile(sorted_values: Sequence[float], pct: int) -> float | None:
    """Inclusive linear interpolation (numpy default, PERCENTILE.INC) on already sorted values."""
    n = len(sorted_values)
    if n == 0:
        return None
    lo = pct * (n - 1) // 100
    return interpolate(sorted_values[lo], sorted_values[min(lo + 1, n - 1)], n, pct)


def interpolate(a: float, b: float, n: int, pct: int) -> float:
    """The ``pct`` percentile of ``n`` sorted values from the two it lies between: ``a`` at 0-based rank
    floor(pct (n - 1) / 100) and ``b`` at the next (the last rank itself when there is none)."""
    rest = pct * (n - 1) % 100
    if rest == 0:
        return float(a)
    return a + (b - a) * (rest / 100)


PERCENTS: Final = (10, 25, 50, 75, 90)
"""The percentiles a ``Sample`` answers: those any cell is published at."""


@dataclass(frozen=True, slots=True)
class Sample:
    """What a figure reads of a set of values: their number, their sum, and for each of ``PERCENTS`` the two sorted
    values the percentile lies between (``interpolate``). The reference engine takes it of its sorted lists
    (``sample``); the warehouse path has ClickHouse send it instead of the values, so no process holds a slice's
    values (its memory grows with the slices, not with the workers)."""

    n: int
    total: float
    bounds: tuple[tuple[float, float], ...]

    def mean(self) -> float | None:
        """The sum over the number; None for no values."""
        return self.total / self.n if self.n else None

    def percentile(self, pct: int) -> float | None:
        """``percentile`` of the values (one of ``PERCENTS``); None for no values."""
        if not self.n:
            return None
        a, b = self.bounds[PERCENTS.index(pct)]
        return interpolate(a, b, self.n, pct)


def sample(sorted_values: Sequence[float]) -> Sample:
    """The ``Sample`` of already sorted values (summed in that order)."""
    n = len(sorted_values)
    if not n:
        return Sample(0, 0.0, ())
    bounds = tuple(
        (sorted_values[lo], sorted_values[min(lo + 1, n - 1)]) for lo in (pct * (n - 1) // 100 for pct in PERCENTS)
    )
    return Sample(n, sum(sorted_values), bounds)


EMPTY: Final = sample([])
"""No values."""


PRIMARY, SECONDARY, LINKED = "primary", "secondary", "linked"  # model.SUPPRESSION_REASONS; "audit" comes later
_SUPPRESSED = IndicatorRow._fields.index("suppressed")
_row = tuple.__new__  # IndicatorRow from a plain tuple, without the named constructor's argument handling


def hidden(row: IndicatorRow, reason: str) -> IndicatorRow:
    """The row flagged suppressed for ``reason``; figures and population kept until it is published."""
    return _row(IndicatorRow, (*row[:10], True, reason))


def published(row: IndicatorRow) -> IndicatorRow:
    """The row as published: a suppressed cell has no value, numerator, denominator or population."""
    if not row[_SUPPRESSED]:
        return row
    return _row(IndicatorRow, (*row[:6], None, None, None, 0, True, row.reason))


class Cells:
    """Indicator rows by family and slice; ``period`` is the first day of the month/year/last month/cohort."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.families: dict[Family, dict[SliceKey, IndicatorRow]] = {}

    def put(
        self,
        indicator: str,
        kind: str,
        period: date,
        key: SliceKey,
        category: str,
        value: float | None,
        numerator: float | None,
        denominator: float | None,
        workers: int,
        group_min: int | None = None,
        need: int = 1,
    ) -> None:
        """Store one cell; primary suppression: population (or smallest compared group) below ``need`` x k.

        A slice value with an empty population gets no row; the program row (``all``) always does.
        """
        if not workers and key != ALL:
            return
        fam = (indicator, kind, period, category)
        rows = self.families.get(fam)
        if rows is None:
            rows = self.families[fam] = {}
        threshold = need * self.k
        primary = workers < threshold or (group_min is not None and group_min < threshold)
        row = (
            indicator, kind, period, key[0], key[1], category,
            None if value is None else float(value),
            None if numerator is None else float(numerator),
            None if denominator is None else float(denominator),
            workers, primary, PRIMARY if primary else "",
        )  # fmt: skip
        rows[key] = _row(IndicatorRow, row)

    def hide(self, fam: Family, key: SliceKey, reason: str) -> None:
        """Suppress a stored cell for ``reason`` (secondary rules, and any later pass such as an audit)."""
        rows = self.families[fam]
        rows[key] = hidden(rows[key], reason)

    def value(self, indicator: str, kind: str, period: date, key: SliceKey, value: float | None, workers: int) -> None:
        """A count, sum, mean or percentile: value only."""
        self.put(indicator, kind, period, key, "", value, None, None, workers)

    def rate(
        self,
        indicator: str,
        kind: str,
        period: date,
        key: SliceKey,
        num: float,
        den: float,
        workers: int,
        *,
        category: str = "",
        scale: float = 100.0,
        group_min: int | None = None,
    ) -> None:
        """A rate or ratio: value = num / den x scale (NULL when den is 0), with numerator and denominator."""
        self.put(indicator, kind, period, key, category, ratio(num, den, scale), num, den, workers, group_min)

    def rows(self) -> list[IndicatorRow]:
        """All rows as published, by (indicator, period_kind, period, category), then (dimension, slice)."""
        out: list[IndicatorRow] = []
        for fam in sorted(self.families):
            rows = self.families[fam]
            # cells are stored in slice order: a linear sort
            out.extend([published(row) if row[_SUPPRESSED] else row for row in map(rows.__getitem__, sorted(rows))])
        return out
