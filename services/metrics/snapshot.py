"""The published indicators held in memory for the read API: a compact copy of the `indicators` table, read once
the table has settled after a publish, answers `GET /indicators` pages without asking ClickHouse.

Why (issue 15, measured in `bench.api_load` at demo scale): ClickHouse spends 5-7 ms of CPU on any filtered query
however few rows it reads, and the driver ~3 ms more in the service, so 50 clients asking pages nobody asked
before queue for ClickHouse; the snapshot finds a page by binary search over the table's own order and writes it
in about 1 ms. Bounded: a table above `max_bytes` (ROW.itemsize bytes a row, 44 B; 3.07 M rows, 129 MiB at demo
scale) is not held, and every page asks ClickHouse as before.

Each text column is held as codes into its distinct values sorted as ClickHouse sorts them (bytes; the code point
order of their UTF-8 is the same), so the codes sort as the strings do and rows loaded in the table's ORDER BY are
in the codes' order: the rows of an indicator, period kind, dimension, ... are one run found by binary search.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from services.common.errors import StoreRejected, StoreUnavailable

from .publish import COLUMNS
from .queries import KEY, IndicatorsQuery

log = logging.getLogger("workforce.metrics.snapshot")
T = TypeVar("T")

TEXT: Final = ("indicator", "period_kind", "dimension", "slice", "category", "reason")
"""The text columns, held as UInt16 codes."""
ROW: Final = np.dtype(
    [(column, "<u2") for column in TEXT]
    + [
        ("period", "<u2"),  # a ClickHouse Date: days since 1970-01-01
        ("value", "<f8"),
        ("numerator", "<f8"),
        ("denominator", "<f8"),
        ("nulls", "u1"),  # bit 0 value, 1 numerator, 2 denominator is NULL
        ("workers", "<u4"),
        ("suppressed", "u1"),
    ]
)
"""One row as ClickHouse writes it in RowBinary for `_rows_sql` (packed, little-endian)."""
MAX_CODES: Final = 2**16 - 1
NUMBERS: Final = ("value", "numerator", "denominator")
FIELD_ORDER: Final = COLUMNS[:-1]
"""The order of the API's fields (the table's columns but `computed_at`)."""
EPOCH: Final = date(1970, 1, 1)
SETTLE_SECONDS: Final = 3.0
"""How long the table must stay unpublished before it is read (a burst of publishes is read once)."""

Column = npt.NDArray[Any]


class Store(Protocol):
    def query_rows(self, sql: str, parameters: Any = None) -> list[tuple[Any, ...]]: ...

    def query_bytes(self, sql: str, parameters: Any = None, *, fmt: str, settings: Any = None) -> bytes: ...


def _rows_sql(dictionaries: dict[str, list[str]]) -> str:
    codes = ", ".join(
        f"transform({c}, %({c})s, range(toUInt16({len(dictionaries[c])})), toUInt16({MAX_CODES})) AS {c}_code"
        for c in TEXT
    )
    nulls = " + ".join(f"{1 << i} * isNull({c})" for i, c in enumerate(NUMBERS))
    numbers = ", ".join(f"ifNull({c}, 0) AS {c}_or_0" for c in NUMBERS)
    return (
        f"SELECT {codes}, period, {numbers}, toUInt8({nulls}) AS nulls, workers, suppressed FROM indicators "
        f"WHERE indicator = %(one)s ORDER BY {', '.join(KEY)}"
    )


def load(store: Store, max_bytes: int) -> Snapshot | None:
    """Read the published table into a Snapshot, one indicator at a time (the peak is the snapshot and one
    indicator's rows); None when it would take more than `max_bytes`, when a column has more distinct values
    than codes, or when the table changed while it was read."""
    count = int(store.query_rows("SELECT count() FROM indicators")[0][0])
    if count * ROW.itemsize > max_bytes:
        return None
    dictionaries = {
        c: [str(r[0]) for r in store.query_rows(f"SELECT DISTINCT {c} FROM indicators ORDER BY {c}")] for c in TEXT
    }
    if any(len(v) > MAX_CODES or v != sorted(v) for v in dictionaries.values()):
        return None
    columns = {name: np.empty(count, ROW[name]) for name in ROW.names or ()}
    at = 0
    sql = _rows_sql(dictionaries)
    for indicator in dictionaries["indicator"]:
        raw = store.query_bytes(sql, {**dictionaries, "one": indicator}, fmt="RowBinary")
        rows = np.frombuffer(raw, ROW)
        if at + len(rows) > count:
            return None
        for name in columns:
            columns[name][at : at + len(rows)] = rows[name]
        at += len(rows)
    return Snapshot(dictionaries, columns) if at == count else None


def of_rows(rows: Sequence[Sequence[Any]]) -> Snapshot:
    """A Snapshot of rows in FIELD_ORDER (the period a date), as `load` would read them from a table holding them."""
    dictionaries = {c: sorted({str(row[FIELD_ORDER.index(c)]) for row in rows}) for c in TEXT}
    ordered = sorted(rows, key=lambda row: tuple(row[FIELD_ORDER.index(c)] for c in KEY))
    columns = {name: np.zeros(len(ordered), ROW[name]) for name in ROW.names or ()}
    for at, row in enumerate(ordered):
        record = dict(zip(FIELD_ORDER, row, strict=True))
        for c in TEXT:
            columns[c][at] = dictionaries[c].index(record[c])
        columns["period"][at] = (record["period"] - EPOCH).days
        for bit, c in enumerate(NUMBERS):
            if record[c] is None:
                columns["nulls"][at] |= 1 << bit
            else:
                columns[c][at] = record[c]
        columns["workers"][at], columns["suppressed"][at] = record["workers"], record["suppressed"]
    return Snapshot(dictionaries, columns)


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The table as codes and numbers (`columns`, one array per ROW field, rows in KEY order)."""

    dictionaries: dict[str, list[str]]
    columns: dict[str, Column]
    _json: dict[str, list[str]] = field(init=False)
    _days: dict[int, str] = field(init=False, default_factory=dict)
    _derived: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        quoted = {c: [json.dumps(v, ensure_ascii=False) for v in values] for c, values in self.dictionaries.items()}
        object.__setattr__(self, "_json", quoted)

    @property
    def rows(self) -> int:
        return len(self.columns["period"])

    @property
    def nbytes(self) -> int:
        return sum(column.nbytes for column in self.columns.values())

    def select(self, query: IndicatorsQuery) -> npt.NDArray[np.intp]:
        """The positions of the first `query.limit + 1` rows the query asks for, in KEY order."""
        spans = [(self._after(query.after()), self.rows)]
        narrowing = True
        masks: list[tuple[str, list[int]]] = []
        for column in KEY[:-1]:
            wanted = getattr(query, column)
            if not wanted:
                narrowing = False
                continue
            codes = self._codes(column, wanted)
            if narrowing:
                spans = [s for lo, hi in spans for s in self._runs(column, lo, hi, codes)]
            else:
                masks.append((column, codes))
        spans = [(lo, hi) for lo, hi in spans if hi > lo]
        rows = np.concatenate([np.arange(lo, hi) for lo, hi in spans]) if spans else np.empty(0, np.intp)
        keep = np.ones(len(rows), bool)
        for column, codes in masks:
            keep &= np.isin(self.columns[column][rows], codes)
        period = self.columns["period"][rows]
        if query.from_ is not None:
            keep &= period >= (query.from_ - EPOCH).days
        if query.to is not None:
            keep &= period <= (query.to - EPOCH).days
        return rows[keep][: query.limit + 1]

    def _codes(self, column: str, values: Sequence[str]) -> list[int]:
        known = self.dictionaries[column]
        found = (bisect.bisect_left(known, v) for v in values)
        return sorted({i for i, v in zip(found, values, strict=True) if i < len(known) and known[i] == v})

    def _runs(self, column: str, lo: int, hi: int, codes: list[int]) -> list[tuple[int, int]]:
        """The rows of [lo, hi) (sorted by `column` there) holding each code, in code order."""
        within = self.columns[column][lo:hi]
        kind = within.dtype.type
        return [
            (lo + int(np.searchsorted(within, kind(c), "left")), lo + int(np.searchsorted(within, kind(c), "right")))
            for c in codes
        ]

    def _after(self, key: tuple[Any, ...] | None) -> int:
        """The first row whose KEY is above `key` (0 without one): a binary search one key column at a time."""
        lo, hi = 0, self.rows
        if key is None:
            return lo
        for column, value in zip(KEY, key, strict=True):
            within = self.columns[column][lo:hi]
            kind = within.dtype.type
            if column == "period":
                code, exact = (value - EPOCH).days, True
            else:
                known = self.dictionaries[column]
                code = bisect.bisect_left(known, value)
                exact = code < len(known) and known[code] == value
            if not 0 <= code <= MAX_CODES:
                return lo if code < 0 else hi
            first = lo + int(np.searchsorted(within, kind(code), "left"))
            if not exact:
                return first
            lo, hi = first, lo + int(np.searchsorted(within, kind(code), "right"))
        return hi

    def key(self, row: int) -> tuple[Any, ...]:
        """The KEY of the row at `row` (a cursor's content)."""
        return (*(self.dictionaries[c][int(self.columns[c][row])] for c in KEY[:-1]), self._day(row))

    def _day(self, row: int) -> date:
        return EPOCH + timedelta(days=int(self.columns["period"][row]))

    def _iso(self, days: int) -> str:
        text = self._days.get(days)
        if text is None:
            text = self._days[days] = (EPOCH + timedelta(days=days)).isoformat()
        return text

    def _values(self, rows: npt.NDArray[np.intp]) -> dict[str, list[Any]]:
        """Per ROW field but `nulls`, the rows' values as Python objects (a NULL or non-finite number is None)."""
        nulls = self.columns["nulls"][rows].tolist()
        out = {name: self.columns[name][rows].tolist() for name in ROW.names or () if name != "nulls"}
        for bit, name in enumerate(NUMBERS):
            out[name] = [
                None if n >> bit & 1 or not math.isfinite(v) else v for v, n in zip(out[name], nulls, strict=True)
            ]
        return out

    def derived(self, name: str, make: Callable[[], T]) -> T:
        """`make()`, made once per snapshot (renderings of its dictionaries)."""
        if name not in self._derived:
            self._derived[name] = make()
        value: T = self._derived[name]
        return value

    def fields(self, rows: npt.NDArray[np.intp]) -> zip[tuple[Any, ...]]:
        """The rows in FIELD_ORDER: codes for text, the period ISO, numbers (None for NULL), `suppressed` 0/1."""
        values = self._values(rows)
        values["period"] = [self._iso(days) for days in values["period"]]
        return _fields(values)

    def json_rows(self, rows: npt.NDArray[np.intp]) -> str:
        """The rows as the JSON objects of a page, comma-separated, their fields in FIELD_ORDER."""
        q = self._json
        i, k, d, s, c, r = (q[name] for name in TEXT)
        return ",".join(
            f'{{"indicator":{i[a]},"period_kind":{k[b]},"period":"{e}","dimension":{d[f]},"slice":{s[g]},'
            f'"category":{c[h]},"value":{_number(x)},"numerator":{_number(y)},"denominator":{_number(z)},'
            f'"workers":{o},"suppressed":{"true" if t else "false"},"reason":{r[u]}}}'
            for a, b, e, f, g, h, x, y, z, o, t, u in self.fields(rows)
        )


def _fields(values: dict[str, list[Any]]) -> zip[tuple[Any, ...]]:
    """The rows' values in FIELDS order (codes for text)."""
    return zip(*(values[name] for name in FIELD_ORDER), strict=True)


def _number(value: float | None) -> str:
    return "null" if value is None else repr(value)


@dataclass(eq=False)
class Snapshots:
    """The snapshot in service, if any: dropped at every publish (`invalidate`, which the service calls with the
    answer cache's), read again by `keep` once the table has stayed unpublished for `settle` seconds. A snapshot
    read across a publish is never served. Used from the event loop only."""

    max_bytes: int
    settle: float = SETTLE_SECONDS
    current: Snapshot | None = None
    read_done: asyncio.Event = field(default_factory=asyncio.Event)
    """Set after each read, served or not (for whoever waits for one)."""
    _generation: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def invalidate(self) -> None:
        self.current = None
        self._generation += 1
        self._changed.set()

    async def keep(self, read: Callable[[], Snapshot | None]) -> None:
        """Until cancelled: after each publish, wait for the table to settle, then `read` it (off the loop)."""
        if self.max_bytes <= 0:
            log.info("indicators never held in memory; pages ask ClickHouse", extra={"event": "snapshot_skipped"})
            return
        while True:
            await self._changed.wait()
            self._changed.clear()
            generation = self._generation
            await asyncio.sleep(self.settle)
            if generation != self._generation:
                continue
            try:
                await self._read(read, generation)
            finally:
                self.read_done.set()

    async def _read(self, read: Callable[[], Snapshot | None], generation: int) -> None:
        try:
            snapshot = await asyncio.to_thread(read)
        except StoreUnavailable as exc:
            log.warning("indicators not held in memory: %s", exc, extra={"event": "snapshot_failed"})
            self._changed.set()  # try again after another settle
            return
        except (StoreRejected, ValueError) as exc:  # ValueError: rows not in the layout of ROW
            log.error("indicators not held in memory: %s", exc, extra={"event": "snapshot_failed"})
            return
        if generation == self._generation:
            self.current = snapshot
            _logged(snapshot, self.max_bytes)


def _logged(snapshot: Snapshot | None, max_bytes: int) -> None:
    if snapshot is None:
        log.info(
            "indicators not held in memory: above %d MiB or changed while read; pages ask ClickHouse",
            max_bytes // 2**20,
            extra={"event": "snapshot_skipped"},
        )
        return
    log.info(
        "indicators held in memory: %d rows, %.0f MiB",
        snapshot.rows,
        snapshot.nbytes / 2**20,
        extra={"event": "snapshot_loaded", "counts": {"rows": snapshot.rows, "bytes": snapshot.nbytes}},
    )
