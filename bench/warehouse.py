"""The warehouse engine against the reference engine (issue 13), at 100 k and 1 M stored events, in one run.

A database is filled with the simulated program through the project's own storage path (``later._fill``); then
``workforce-metrics rebuild`` runs on it with each engine (``METRICS_ENGINE``), each in a process of its own, timed,
its peak RSS (VmHWM) read from /proc, and the published cells counted (the same table: tests/integration prove it):

- reference: the whole log loaded into memory and every cell computed in Python, then published;
- warehouse: the log read ``stream.BATCH`` workers at a time, facts written to ClickHouse and aggregated there,
  the cells written, suppressed and published in Python.

``python -m bench.warehouse --events N`` runs one scale alone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

from services.common.clickhouse import ConnectClickHouse
from services.common.migrations import migrate

from .later import EVENTS_PER_WORKER, ROOT, Context, _fill, _peak_rss_mb, progress
from .report import Figure, Report

AS_OF = date(2026, 10, 31)  # later.END: the filled program's last day
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
        share = f"{wh['cells']:,.0f} cells published (the reference: {ref['cells']:,.0f})"
        seconds = report.add(Figure(section, "reference: workforce-metrics rebuild", ref["seconds"], "s"))
        memory = report.add(Figure(section, "reference: peak RSS", ref["rss_mb"], "MB"))
        for name, key, baseline in (
            ("warehouse: workforce-metrics rebuild", "seconds", seconds),
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
    """``workforce-metrics rebuild`` with ``METRICS_ENGINE=engine``: seconds, peak RSS and the cells published."""
    env = {
        **os.environ,
        "CLICKHOUSE_URL": clickhouse_url,
        "CLICKHOUSE_DATABASE": database,
        "METRICS_AS_OF": AS_OF.isoformat(),
        "METRICS_K": str(K),
        "METRICS_ENGINE": engine,
    }
    log = ROOT / "bench" / "results" / f"warehouse-rebuild-{engine}.log"
    returncode, seconds, rss = run_watched([sys.executable, "-m", "services.metrics.cli", "rebuild"], env, log)
    if returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"workforce-metrics rebuild ({engine}) failed ({returncode}), see {log}: {tail}")
    store = ConnectClickHouse.connect(clickhouse_url, database=database, user="default", password="")
    try:
        cells = float(store.query_rows("SELECT count() FROM indicators")[0][0])
    finally:
        store.close()
    return {"seconds": seconds, "rss_mb": rss or 0.0, "cells": cells}


def run_watched(command: list[str], env: dict[str, str], log: Path) -> tuple[int, float, float | None]:
    """Run `command` to its end with its output in `log` (a file, not a pipe: a child whose log outgrows a pipe's
    64 kB buffer would block on it while this waits for it to end); its return code, seconds and peak RSS (MB)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    begin = time.perf_counter()
    rss: float | None = None
    with log.open("wb") as out, subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT) as proc:
        while proc.poll() is None:
            rss = _peak_rss_mb(proc.pid) or rss
            time.sleep(0.2)
    return proc.returncode, time.perf_counter() - begin, rss


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
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
