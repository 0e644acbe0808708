"""Freshness, publish → indicator API: the figures and target from timed publishes, and the metrics service's
incremental refresh split read from its own `refresh_done` log lines. No I/O beyond reading that log;
`bench.later` runs the services and times the publishes."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .report import Figure, Report, Target

TARGET_SECONDS = 10.0
DEMO = "demo scale"


@dataclass(frozen=True, slots=True)
class Summary:
    samples: int
    p50: float
    p99: float
    """The maximum below 100 samples."""


def summarise(samples: Sequence[float]) -> Summary:
    p99 = max(samples) if len(samples) < 100 else statistics.quantiles(samples, n=100)[98]
    return Summary(len(samples), statistics.median(samples), p99)


def target_name(scale: str) -> str:
    """The demo's row keeps the name it had before the 1 M row (earlier reports compare by name)."""
    name = "freshness p99 (publish → indicator API)"
    return name if scale == DEMO else f"{name} ({scale})"


def add(report: Report, samples: Sequence[float], scale: str) -> Summary:
    """p50 and p99 as figures of section `freshness, <scale>`, the p99 target, and the note."""
    s = summarise(samples)
    section, note = f"freshness, {scale}", f"{s.samples} publishes, one at a time"
    report.add(Figure(section, "publish → indicator API p50", s.p50, "s", note=note))
    report.add(Figure(section, "publish → indicator API p99", s.p99, "s", note=f"{note}; the maximum below 100"))
    report.targets.append(Target(target_name(scale), s.p99, "<=", TARGET_SECONDS, "s"))
    report.notes.append(
        f"freshness ({scale}) over {s.samples} publishes: p50 {s.p50:.2f}s, p99 {s.p99:.2f}s "
        f"(p99 is the maximum below 100 samples)"
    )
    return s


def unmeasured(report: Report, scale: str, why: str) -> None:
    report.targets.append(Target(target_name(scale), None, "<=", TARGET_SECONDS, "s", why))


def refresh_phases(lines: Iterable[str]) -> list[dict[str, float]]:
    """`seconds` and each phase of every refresh that took in new events, from the service's JSON log lines
    (other lines, and refreshes with nothing new, are skipped)."""
    found = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("event") != "refresh_done":
            continue
        if not entry.get("counts", {}).get("new_events"):
            continue
        found.append({"seconds": float(entry["seconds"]), **{k: float(v) for k, v in entry["phases"].items()}})
    return found


def split_note(refreshes: Sequence[dict[str, float]], scale: str) -> str:
    if not refreshes:
        return f"metrics incremental refresh ({scale}): no refresh_done line with new events in its log"
    medians = {k: statistics.median(r[k] for r in refreshes) for k in refreshes[0]}
    audit = medians.pop("audit", 0.0)  # within compute, as the service logs it
    within = {"compute": f" (of which audit {audit:.2f}s)"} if audit else {}
    phases = ", ".join(f"{k} {v:.2f}s{within.get(k, '')}" for k, v in medians.items() if k != "seconds")
    worst = max(r["seconds"] for r in refreshes)
    return (
        f"metrics incremental refresh ({scale}, from its log) over {len(refreshes)} refreshes with new events:"
        f" median {medians['seconds']:.2f}s ({phases}), slowest {worst:.2f}s"
    )


def add_split(report: Report, log: Path, offset: int, scale: str) -> None:
    """The split of the refreshes the service logged after byte `offset` of `log` (where the publishes began)."""
    with log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", errors="replace")
    report.notes.append(split_note(refresh_phases(text.splitlines()), scale))
