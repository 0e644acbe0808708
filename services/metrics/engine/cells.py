"""The cell store the indicator families write into, and the small numeric helpers they share.

Rows are built once, at ``put``: a cell below the primary threshold is born suppressed (no value kept), so
suppression later only replaces the few rows that secondary rules hide. Rows live in families (indicator,
period_kind, period, category) keyed by slice, the shape the suppression rules walk.
"""

from __future__ import annotations

from datetime import date

from .model import IndicatorRow
from .orgs import SliceKey

Family = tuple[str, str, date, str]  # indicator, period_kind, period, category


def ratio(num: float, den: float, scale: float = 100.0) -> float | None:
    """``num / den * scale``; a zero denominator gives NULL."""
    return num / den * scale if den else None


def percentile(sorted_values: list[float], pct: int) -> float | None:
    """Inclusive linear interpolation (numpy default, PERCENTILE.INC) on already sorted values."""
    n = len(sorted_values)
    if n == 0:
        return None
    lo, rest = divmod(pct * (n - 1), 100)
    if rest == 0:
        return float(sorted_values[lo])
    a, b = sorted_values[lo], sorted_values[lo + 1]
    return a + (b - a) * (rest / 100)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def hidden(row: IndicatorRow) -> IndicatorRow:
    """The suppressed form of a row: population kept, value, numerator and denominator dropped."""
    return IndicatorRow(*row[:6], None, None, None, row.workers, True)


_row = tuple.__new__  # IndicatorRow from a plain tuple, without the named constructor's argument handling


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
    ) -> None:
        """Store one cell; primary suppression: population (or smallest compared group) below k."""
        fam = (indicator, kind, period, category)
        rows = self.families.get(fam)
        if rows is None:
            rows = self.families[fam] = {}
        row: tuple[object, ...]
        if workers < self.k or (group_min is not None and group_min < self.k):
            row = (indicator, kind, period, key[0], key[1], category, None, None, None, workers, True)
        else:
            row = (
                indicator, kind, period, key[0], key[1], category,
                None if value is None else float(value),
                None if numerator is None else float(numerator),
                None if denominator is None else float(denominator),
                workers, False,
            )  # fmt: skip
        rows[key] = _row(IndicatorRow, row)

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
    ) -> None:
        """A rate or ratio: value = num / den x scale (NULL when den is 0), with numerator and denominator."""
        self.put(indicator, kind, period, key, category, ratio(num, den, scale), num, den, workers)

    def rows(self) -> list[IndicatorRow]:
        """All rows, by (indicator, period_kind, period, category), then (dimension, slice)."""
        out: list[IndicatorRow] = []
        for fam in sorted(self.families):
            rows = self.families[fam]
            out.extend([rows[key] for key in sorted(rows)])  # cells are stored in slice order: a linear sort
        return out
