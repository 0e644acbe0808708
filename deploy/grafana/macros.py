"""Expand a panel's SQL as Grafana and the ClickHouse plugin would for a fixed range and variable values.

Shared by the dashboard tests (every panel must run and return its columns) and the benchmark (panel latency).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from urllib.parse import quote


def formatted(value: str, fmt: str) -> str:
    """A value in Grafana's `${var:fmt}` format (only the formats the dashboards use)."""
    if fmt == "percentencode":  # Grafana's encodeURIComponentStrict: every byte but A-Z a-z 0-9 - _ . ~ as %XX
        return quote(value, safe="")
    raise ValueError(f"variable format {fmt!r} is not one the dashboards use")


def expand(sql: str, values: Mapping[str, str], start: date, end: date) -> str:
    """The SQL the plugin sends for the range start..end (whole days) with these variable values."""
    first = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    last = int(datetime(end.year, end.month, end.day, 23, 59, 59, tzinfo=UTC).timestamp())
    sql = re.sub(
        r"\$__dateFilter\(([^)]+)\)", rf"\1 >= toDate('{start.isoformat()}') AND \1 <= toDate('{end.isoformat()}')", sql
    )
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 >= toDateTime({first}) AND \1 <= toDateTime({last})", sql)
    sql = sql.replace("$__fromTime", f"toDateTime({first})").replace("$__toTime", f"toDateTime({last})")
    for name, value in values.items():
        for fmt in set(re.findall(rf"\$\{{{name}:(\w+)\}}", sql)):
            sql = sql.replace(f"${{{name}:{fmt}}}", formatted(value, fmt))
        sql = sql.replace(f"${{{name}}}", value).replace(f"${name}", value)
    if "$" in sql:
        raise ValueError(f"unexpanded macro or variable in:\n{sql}")
    return sql
