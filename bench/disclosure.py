"""Disclosure control in `make bench` (issue 12): how much of each indicator family the rules hide, and what one
round of the publish audit's check costs against computing the table.

`python -m bench.disclosure [--workers N] [--since YEAR]` prints the figures for one simulated program.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from schemas import parse_event
from services.ingest.pseudonymise import Pseudonymiser
from services.metrics.engine import EventRecord, compute
from services.metrics.engine.audit import find_leaks
from services.metrics.engine.compute import suppressed_table
from services.sim import SimConfig, generate

from .report import Figure, Report, Target

AS_OF = date(2026, 11, 30)
LEVELS = frozenset({"district", "street"})  # the service's default published org levels
AUDIT_SHARE = 0.2  # issue 12: the audit under 20 % of the refresh time


def simulated(workers: int, since: int) -> list[EventRecord]:
    """The simulator's program as the engine reads it back: validated, pseudonymised."""
    now = datetime.combine(AS_OF + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    pseudonymise = Pseudonymiser(b"bench-disclosure-" * 3)
    out = []
    for envelope in generate(SimConfig(workers=workers, start_year=since, end=AS_OF, seed=1)):
        event = parse_event(json.dumps(envelope, ensure_ascii=False), now=now)
        worker = pseudonymise(getattr(event, "worker_id", None))
        data = event.data.model_dump(mode="json")
        out.append(
            EventRecord(str(event.event_id), event.event_type, event.occurred_at, event.emitted_at, worker, data)
        )
    return out


def measure(report: Report, workers: int, since: int) -> None:
    """Shares suppressed per family and reason; the audit check's seconds against the compute's."""
    section = f"disclosure ({workers} workers since {since}, k = 5)"
    events = simulated(workers, since)
    started = time.perf_counter()
    rows = compute(events, as_of=AS_OF, org_levels=LEVELS).rows
    computed = time.perf_counter() - started
    base = report.compare(section, "compute (the refresh's engine work)", computed, "s", baseline=None)
    cells: Counter[str] = Counter()
    hidden: Counter[tuple[str, str]] = Counter()
    for row in rows:
        cells[row.indicator] += 1
        if row.suppressed:
            hidden[(row.indicator, row.reason)] += 1
    for indicator in sorted(cells):
        by_reason = {reason: hidden[(indicator, reason)] for reason in ("primary", "secondary", "linked", "audit")}
        share = sum(by_reason.values()) / cells[indicator] * 100
        note = ", ".join(f"{reason} {n / cells[indicator]:.1%}" for reason, n in by_reason.items() if n)
        report.add(Figure(section, f"suppressed share: {indicator}", share, "%", note=note))
    table, org = suppressed_table(events, as_of=AS_OF, org_levels=LEVELS)
    audit, leaks = find_leaks(table, org, AS_OF)
    note = (
        f"{audit.cells_checked:,} hidden cells checked over {audit.relations:,} relations, {audit.lps:,} LPs, "
        f"{len(leaks):,} narrower than the width (not yet protected: docs/contract.md)"
    )
    figure = Figure(section, "audit check, one round (find_leaks)", audit.seconds, "s", base.name, None, note)
    figure = report.add(replace(figure, ratio=audit.seconds / computed if computed else None))
    report.targets.append(Target(f"{section}: audit check <= 20 % of compute", figure.ratio, "<=", AUDIT_SHARE, "x"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.disclosure", description=__doc__)
    parser.add_argument("--workers", type=int, default=150)
    parser.add_argument("--since", type=int, default=2024)
    args = parser.parse_args(argv)
    report = Report(events=0, quick=True)
    measure(report, args.workers, args.since)
    for figure in report.figures:
        ratio = f" ({figure.ratio:.2f}x {figure.baseline})" if figure.ratio is not None else ""
        print(f"{figure.name}: {figure.value:.3g} {figure.unit}{ratio} {figure.note}")
    for target in report.targets:
        print(f"target {target.name}: {target.status}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
