"""What a run measured: figures (each with the baseline it is divided by) and targets, as JSON and Markdown."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True, slots=True)
class Figure:
    """One measurement; `baseline` names the figure of the same section it is compared with."""

    section: str
    name: str
    value: float | None
    unit: str
    baseline: str | None = None
    ratio: float | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    """A goal from the issue, reported (never asserted): `measured op threshold`."""

    name: str
    measured: float | None
    op: Literal[">=", "<="]
    threshold: float
    unit: str
    missing: str = ""
    """Why `measured` is None (e.g. "not measured: no broker")."""

    @property
    def status(self) -> str:
        if self.measured is None:
            return self.missing or "not measured"
        ok = self.measured >= self.threshold if self.op == ">=" else self.measured <= self.threshold
        if ok:
            return "met"
        gap = abs(self.measured - self.threshold) / self.threshold
        return f"missed by {gap:.0%} ({fmt(self.measured)} vs {self.op} {fmt(self.threshold)} {self.unit})"


@dataclass
class Report:
    events: int
    quick: bool
    figures: list[Figure] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def compare(self, section: str, name: str, value: float | None, unit: str, *, baseline: Figure | None) -> Figure:
        """Add `value` with its ratio to `baseline` (None when either is missing)."""
        ratio = None
        if value is not None and baseline is not None and baseline.value:
            ratio = value / baseline.value
        return self.add(Figure(section, name, value, unit, baseline.name if baseline else None, ratio))

    def as_json(self) -> dict[str, object]:
        return {
            "started": self.started,
            "machine": machine(),
            "events": self.events,
            "quick": self.quick,
            "figures": [asdict(f) for f in self.figures],
            "targets": [{**asdict(t), "status": t.status} for t in self.targets],
            "notes": self.notes,
        }

    def markdown(self) -> str:
        m = machine()
        lines = [
            f"# Benchmark {self.started}",
            "",
            f"{self.events:,} events{' (--quick)' if self.quick else ''}; {m['cpus']} CPUs, Python {m['python']}.",
            "Ratios are against the baseline named in the same row, measured in this run on this machine.",
            "",
            "| section | measurement | value | baseline | ratio | note |",
            "| --- | --- | ---: | --- | ---: | --- |",
        ]
        for f in self.figures:
            value = "—" if f.value is None else f"{fmt(f.value)} {f.unit}"
            ratio = "" if f.ratio is None else f"{f.ratio:.2f}×"
            lines.append(f"| {f.section} | {f.name} | {value} | {f.baseline or ''} | {ratio} | {f.note} |")
        lines += ["", "| target | measured | goal | status |", "| --- | ---: | ---: | --- |"]
        for t in self.targets:
            measured = "—" if t.measured is None else f"{fmt(t.measured)} {t.unit}"
            lines.append(f"| {t.name} | {measured} | {t.op} {fmt(t.threshold)} {t.unit} | {t.status} |")
        if self.notes:
            lines += ["", *[f"- {n}" for n in self.notes]]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path = RESULTS) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        js, md = folder / "latest.json", folder / "latest.md"
        js.write_text(json.dumps(self.as_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        md.write_text(self.markdown(), encoding="utf-8")
        return js, md


def fmt(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
