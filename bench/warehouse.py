"""The warehouse path against the reference engine (issue 13), at 100 k and 1 M stored events, in one run.

A database is filled with the simulated program through the project's own storage path (``later._fill``); each
engine then runs in a process of its own on that database, timed, its peak RSS (VmHWM) read from /proc:

- reference: the whole log loaded into memory (``loader.load_events``) and every cell computed in Python
  (``engine.compute``), as ``workforce-metrics rebuild`` does before publishing;
- warehouse: the log read ``stream.BATCH`` workers at a time, facts written to ClickHouse and the families it
  covers so far aggregated there (``warehouse.compute.stream_table``).

The warehouse path does not cover every family yet: the report says how many of the reference's cells it computes,
so the ratio is read as "this much of the work, in this much time and memory".

``python -m bench.warehouse --events N`` runs one scale alone; ``python -m bench.warehouse run ...`` is the child.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

from services.common.clickhouse import ConnectClickHouse
from services.common.migrations import migrate

from .later import EVENTS_PER_WORKER, Context, _fill, _peak_rss_mb, progress
from .report import Figure, Report

AS_OF = date(2026, 10, 31)  # later.END: the filled program's last day
LEVELS = frozenset({"district", "street"})  # the service's default published org levels
K = 5
SCALES = {True: (20_000,), False: (100_000, 1_000_000)}


def measure(ctx: Context, report: Report) -> None:
    """Both engines at each scale (a quick run: 20,000 events)."""
    for events in SCALES[ctx.quick]:
        _at_scale(ctx.clickhouse_url, events, report)


def _at_scale(clickhouse_url: str, events: int, report: Report) -> None:
    database = f"bench_wh_{uuid.uuid4().hex[:8]}"
    store = ConnectClickHouse.connect(clickhouse_url, database=database, user="default", password="")
    try:
        migrate(store, "ingest", database=database)
        workers = max(50, events // EVENTS_PER_WORKER)
        progress(f"warehouse: filling a database with {workers:,} simulated workers (~{events:,} events)")
        stored = _fill(store, workers)
        section = f"warehouse path vs reference engine ({stored:,} events)"
        runs = {engine: _child(clickhouse_url, database, engine) for engine in ("reference", "warehouse")}
        ref, wh = runs["reference"], runs["warehouse"]
        share = f"{wh['cells']:,.0f} of the reference's {ref['cells']:,.0f} cells ({wh['cells'] / ref['cells']:.0%})"
        seconds = report.add(Figure(section, "reference: load + compute every cell", ref["seconds"], "s"))
        memory = report.add(Figure(section, "reference: peak RSS", ref["rss_mb"], "MB"))
        for name, key, baseline in (
            ("warehouse: stream + facts + SQL", "seconds", seconds),
            ("warehouse: peak RSS", "rss_mb", memory),
        ):
            ratio = wh[key] / baseline.value if baseline.value else None
            report.add(Figure(section, name, wh[key], baseline.unit, baseline.name, ratio, share))
        progress(
            f"warehouse: {stored:,} events: reference {ref['seconds']:.1f}s {ref['rss_mb']:.0f} MB, "
            f"warehouse {wh['seconds']:.1f}s {wh['rss_mb']:.0f} MB ({share})"
        )
    finally:
        store.command(f"DROP DATABASE IF EXISTS {database}")
        store.close()


def _child(clickhouse_url: str, database: str, engine: str) -> dict[str, float]:
    out = Path(f"/tmp/bench-warehouse-{uuid.uuid4().hex[:8]}.json")
    cmd = [sys.executable, "-m", "bench.warehouse", "run", engine, clickhouse_url, database, str(out)]
    begin = time.perf_counter()
    proc = subprocess.Popen(cmd, env=os.environ.copy())
    rss: float | None = None
    while proc.poll() is None:
        rss = _peak_rss_mb(proc.pid) or rss
        time.sleep(0.2)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.warehouse run {engine} failed ({proc.returncode})")
    result = json.loads(out.read_text())
    out.unlink()
    return {"seconds": time.perf_counter() - begin, "rss_mb": rss or 0.0, "cells": float(result["cells"])}


def _run(engine: str, clickhouse_url: str, database: str, out: Path) -> None:
    store = ConnectClickHouse.connect(clickhouse_url, database=database, user="default", password="")
    if engine == "reference":
        from services.metrics.engine import compute
        from services.metrics.loader import load_events

        rows = compute((record for _, record in load_events(store)), as_of=AS_OF, k=K, org_levels=LEVELS).rows
        cells = len(rows)
    else:
        from services.metrics.warehouse.compute import stream_table

        table = stream_table(store, AS_OF, K, LEVELS)
        cells = sum(len(rows) for rows in table.families.values())
    out.write_text(json.dumps({"cells": cells}))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["run"]:
        _run(args[1], args[2], args[3], Path(args[4]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.warehouse", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--clickhouse-url", default=os.environ.get("CLICKHOUSE_URL", ""))
    parsed = parser.parse_args(args)
    url = parsed.clickhouse_url
    if not url:
        from services.stack.api import ensure_up

        url = ensure_up().clickhouse_url
    report = Report(events=parsed.events, quick=True)
    _at_scale(url, parsed.events, report)
    for figure in report.figures:
        print(f"{figure.section} | {figure.name}: {figure.value:.3g} {figure.unit} {figure.note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
