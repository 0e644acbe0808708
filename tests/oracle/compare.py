"""Cell-by-cell comparison of two indicator outputs, to the unit (relative 1e-9 on floats)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

Key = tuple[str, str, str, str, str, str]
Cell = tuple[float | None, float | None, float | None, int, bool, str]


def cells(rows: Iterable[Any]) -> dict[Key, Cell]:
    """IndicatorRow-like objects → {key: (value, numerator, denominator, workers, suppressed, reason)}."""
    out: dict[Key, Cell] = {}
    for r in rows:
        key = (r.indicator, r.period_kind, str(r.period), r.dimension, r.slice, r.category)
        out[key] = (r.value, r.numerator, r.denominator, int(r.workers), bool(r.suppressed), str(r.reason))
    return out


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def differences(expected: dict[Key, Cell], actual: dict[Key, Cell], *, limit: int = 25) -> list[str]:
    """Readable lines for every missing, extra or differing cell (at most `limit`, then a count)."""
    lines: list[str] = []
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    differing = [
        k
        for k in sorted(set(expected) & set(actual))
        if not (
            all(_same(x, y) for x, y in zip(expected[k][:3], actual[k][:3], strict=True))
            and expected[k][3:] == actual[k][3:]
        )
    ]
    lines += [f"missing {k}: expected {expected[k]}" for k in missing]
    lines += [f"extra {k}: got {actual[k]}" for k in extra]
    lines += [f"differs {k}: expected {expected[k]} got {actual[k]}" for k in differing]
    if len(lines) > limit:
        return [
            *lines[:limit],
            f"... {len(lines) - limit} more ({len(missing)} missing, {len(extra)} extra, {len(differing)} differing)",
        ]
    return lines
