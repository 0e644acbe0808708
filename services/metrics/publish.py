"""Write indicator rows: only the year partitions whose content changed, each swapped in atomically; a year
recomputed from one of its months keeps its published rows of the periods before that month."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Final

from services.common.clickhouse import ClickHouse

from .catalog import CATALOG
from .engine import IndicatorRow

COLUMNS: Final = (
    "indicator",
    "period_kind",
    "period",
    "dimension",
    "slice",
    "category",
    "value",
    "numerator",
    "denominator",
    "workers",
    "suppressed",
    "reason",
    "computed_at",
)

INSERT_ROWS: Final = 100_000
RECOMPUTED: Final = "if(period_kind = 'year', toYear(period) >= %(year)s, period >= %(since)s)"
"""`engine.compute.kept` in SQL: the rows `compute(since=...)` computes again."""
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

ORG_UNIT_FIELDS: Final = (
    "unit_id",
    "parent_id",
    "level",
    "name_zh",
    "name_en",
    "service_model",
    "district_id",
    "street_id",
)
"""The columns of `org_units` as the API reads them (the refresh also writes `computed_at`)."""


def by_year(rows: Iterable[IndicatorRow]) -> dict[int, list[IndicatorRow]]:
    groups: dict[int, list[IndicatorRow]] = defaultdict(list)
    for period, run in groupby(rows, key=itemgetter(2)):  # any order is right; the engine emits long runs
        groups[period.year].extend(run)
    return dict(groups)


def fingerprint(rows: Sequence[IndicatorRow]) -> tuple[int, int]:
    """Same rows (in any order) → same fingerprint, within one process (str hashes are salted per process, which
    is fine: fingerprints are only compared with the ones this process published)."""
    mask = (1 << 64) - 1
    return len(rows), sum(map(hash, rows)) & mask  # the same as summing each hash masked: equal modulo 2**64


class IndicatorPublisher:
    """Owns the `indicators` table; one metrics process publishes at a time (it uses a staging table)."""

    def __init__(self, store: ClickHouse) -> None:
        self._store = store

    def stored_years(self) -> set[int]:
        rows = self._store.query_rows("SELECT DISTINCT toYear(period) FROM indicators")
        return {int(r[0]) for r in rows}

    def replace_years(
        self, groups: dict[int, list[IndicatorRow]], drop: Iterable[int], at: datetime, since: date | None = None
    ) -> int:
        """Swap in the given years' rows and drop `drop` years; returns rows written. With `since`, the rows of
        `since`'s year are those `compute(since=since)` gave: the year's published rows of the periods it did not
        compute are kept (copied within ClickHouse into the year swapped in)."""
        self.start()
        if since is not None and since.year in groups:
            self._store.command(
                "INSERT INTO indicators_staging SELECT * FROM indicators "
                f"WHERE toYear(period) = %(year)s AND NOT {RECOMPUTED}",
                {"year": since.year, "since": since},
            )
        written = sum(self.stage(rows, at) for _year, rows in sorted(groups.items()))
        self.swap(groups, drop)
        return written

    def start(self) -> None:
        """Empty the staging table before staging years (``stage``) to swap in (``swap``)."""
        self._store.command("TRUNCATE TABLE indicators_staging")

    def stage(self, rows: Sequence[IndicatorRow], at: datetime) -> int:
        """Write rows (whole years) into the staging table, stamped ``at``; returns how many."""
        stamp = (_ticks(at),) if at.tzinfo is not None else (at,)
        for start in range(0, len(rows), INSERT_ROWS):
            # an IndicatorRow is a tuple of COLUMNS but the last: `suppressed` goes as a bool (UInt8 takes it)
            chunk = [row + stamp for row in rows[start : start + INSERT_ROWS]]
            self._store.insert_rows("indicators_staging", chunk, COLUMNS)
        return len(rows)

    def swap(self, years: Iterable[int], drop: Iterable[int]) -> None:
        """Swap the staged ``years`` in (each partition atomically), drop the ``drop`` years, empty the staging."""
        for year in sorted(years):
            self._store.command(f"ALTER TABLE indicators REPLACE PARTITION {int(year)} FROM indicators_staging")
        for year in sorted(drop):
            self._store.command(f"ALTER TABLE indicators DROP PARTITION {int(year)}")
        self._store.command("TRUNCATE TABLE indicators_staging")

    def write_catalog(self, at: datetime) -> None:
        rows = [(i.name, i.name_zh, i.name_en, i.unit, i.formula, i.standard, at) for i in CATALOG]
        self._store.insert_rows(
            "indicator_catalog", rows, ("indicator", "name_zh", "name_en", "unit", "formula", "standard", "computed_at")
        )


def _ticks(at: datetime) -> int:
    """``computed_at`` as DateTime64(3) ticks (milliseconds since the epoch, floored, as clickhouse-connect writes
    an aware datetime): one int for every row instead of a datetime the driver converts row by row."""
    return (at - _EPOCH) // timedelta(milliseconds=1)
