"""The warehouse engine against the reference engine (issue 13), at 100 k and 1 M stored events, in one run.

A database is filled with the simulated program through the project's own storage path (``later._fill``); then
``workforce-metrics rebuild`` runs on it with each engine (``METRICS_ENGINE``), each in a process of its own, timed,
its peak RSS (VmHWM, with its load's helper processes: ``later.TreePeak``) read from /proc, and the published cells
counted (the same table: tests/integration prove it):

- reference: the whole log loaded into memory and every cell computed in Python, then published;
- warehouse: the log read ``stream.BATCH`` workers at a time, facts written to ClickHouse and aggregated there,
  the cells written, suppressed and published in Python.

At each scale the warehouse engine also runs on a two-shard cluster: the project's own stack started with two
ClickHouse servers (the cluster ``workforce``, in a folder and on ports of the bench's own, stopped at the end), a
database there filled with the same program through the same storage path, events sharded by worker; its rebuild is
compared with the one-server warehouse rebuild of the same run, and must publish as many cells.

``python -m bench.warehouse --events N [--no-cluster] [--no-reference]`` runs one scale alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from services.common.clickhouse import ConnectClickHouse
from services.common.cluster import INSERT_SETTINGS, local_table
from services.common.migrations import Cluster, migrate
from services.stack.api import StackUrls, down, ensure_up
from services.stack.ports import free_port_block
from services.stack.settings import StackSettings, default_stack_dir

from .later import EVENTS_PER_WORKER, ROOT, Context, TreePeak, _fill, progress
from .report import Figure, Report

AS_OF = date(2026, 10, 31)  # later.END: the filled program's last day
K = 5
SCALES = {True: (20_000,), False: (100_000, 1_000_000)}
SHARDS = 2
REFERENCE, WAREHOUSE, TWO_SHARDS = "reference", "warehouse", "warehouse, two shards"
STACK_PORTS = frozenset({*range(18123, 18131), *range(19000, 19008)})
"""The ports of a stack on its defaults (up to 8 shards: the main stack's and the demo's), never the cluster's."""

Run = Mapping[str, float]
"""One rebuild: ``seconds``, ``rss_mb`` (the rebuild process's peak RSS), ``cells`` published, ``events`` stored."""


class CellCountMismatch(RuntimeError):
    """The two-shard rebuild published another number of cells than the one-server rebuild of the same program."""


@dataclass(frozen=True)
class Filled:
    """A database filled with the simulated program: its name, the events stored, and on a cluster each shard's."""

    database: str
    events: int
    per_shard: tuple[int, ...] = ()


def measure(ctx: Context, report: Report) -> None:
    """Both engines on one server, and the warehouse on two shards, at each scale (a quick run: 20,000 events)."""
    for events in SCALES[ctx.quick]:
        _at_scale(ctx.clickhouse_url, events, report)


def _at_scale(clickhouse_url: str, events: int, report: Report, cluster: bool = True, reference: bool = True) -> None:
    """Fill, rebuild with each engine (without the reference: the warehouse alone, no figures, its run printed)."""
    workers = max(50, events // EVENTS_PER_WORKER)
    one_server = StackUrls(clickhouse_url, broker_url="")
    engines = (REFERENCE, WAREHOUSE) if reference else (WAREHOUSE,)
    with _filled(one_server, workers) as filled:
        runs = {engine: _child(one_server, filled, engine, engine) for engine in engines}
    section = f"warehouse path vs reference engine ({filled.events:,} events)"
    if cluster:
        with two_shards() as urls, _filled(urls, workers) as spread:
            progress(f"warehouse: {spread.events:,} events on {SHARDS} shards: {spread.per_shard}")
            runs[TWO_SHARDS] = _child(urls, spread, WAREHOUSE, f"{WAREHOUSE}-{SHARDS}-shards")
    if reference:
        add_figures(report, section, runs)
    progress(
        f"warehouse: {filled.events:,} events: "
        + ", ".join(
            f"{name} {run['seconds']:.1f}s {run['rss_mb']:.0f} MB {run['cells']:,.0f} cells"
            for name, run in runs.items()
        )
    )


def add_figures(report: Report, section: str, runs: Mapping[str, Run]) -> None:
    """The figures of one scale: the reference engine's rebuild seconds and peak RSS; the one-server warehouse run's
    with their ratios to them; and when `runs` has a two-shard run, its figures with their ratios to the one-server
    warehouse run's. Raises `CellCountMismatch` (before adding its figures) when the two-shard run published another
    number of cells than the one-server warehouse run."""
    ref, one = runs[REFERENCE], runs[WAREHOUSE]
    seconds = report.add(Figure(section, f"{REFERENCE}: workforce-metrics rebuild", ref["seconds"], "s"))
    memory = report.add(Figure(section, f"{REFERENCE}: peak RSS", ref["rss_mb"], "MB"))
    share = f"{one['cells']:,.0f} cells published (the reference: {ref['cells']:,.0f})"
    baselines = _compared(report, section, WAREHOUSE, one, (seconds, memory), share)
    two = runs.get(TWO_SHARDS)
    if two is None:
        return
    if two["cells"] != one["cells"]:
        raise CellCountMismatch(
            f"{section}: the warehouse engine published {two['cells']:,.0f} cells on {SHARDS} shards "
            f"({two['events']:,.0f} events stored) and {one['cells']:,.0f} on one server ({one['events']:,.0f} events)"
        )
    _compared(report, section, TWO_SHARDS, two, baselines, f"{two['cells']:,.0f} cells published, as on one server")


def _compared(
    report: Report, section: str, label: str, run: Run, baselines: tuple[Figure, Figure], note: str
) -> tuple[Figure, Figure]:
    """`run`'s rebuild seconds and peak RSS, each with its ratio to its baseline figure (seconds, RSS)."""
    added = []
    for what, key, baseline in (
        ("workforce-metrics rebuild", "seconds", baselines[0]),
        ("peak RSS", "rss_mb", baselines[1]),
    ):
        ratio = run[key] / baseline.value if baseline.value else None
        added.append(
            report.add(Figure(section, f"{label}: {what}", run[key], baseline.unit, baseline.name, ratio, note))
        )
    return added[0], added[1]


@contextmanager
def two_shards() -> Iterator[StackUrls]:
    """The project's stack with two ClickHouse shards forming the cluster ``workforce`` (and a NATS it does not use)
    in a folder and on ports of its own, never a stack on its default ports; stopped and its folder removed at the
    end, also on error."""
    default_stack_dir().mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-warehouse-", dir=default_stack_dir()))
    http = free_port_block(SHARDS, avoid=STACK_PORTS)
    tcp = free_port_block(SHARDS, avoid=STACK_PORTS | set(range(http, http + SHARDS)))
    nats = free_port_block(1, avoid=STACK_PORTS | set(range(http, http + SHARDS)) | set(range(tcp, tcp + SHARDS)))
    settings = StackSettings(
        dir=folder,
        clickhouse_http_port=http,
        clickhouse_tcp_port=tcp,
        nats_port=nats,
        clickhouse_url=None,
        nats_url=None,
        shards=SHARDS,
    )
    progress(f"warehouse: starting a {SHARDS}-shard cluster in {folder} (HTTP ports {http}-{http + SHARDS - 1})")
    try:
        yield ensure_up(settings)
    finally:
        down(settings)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _filled(urls: StackUrls, workers: int) -> Iterator[Filled]:
    """A database of its own on `urls`' ClickHouse filled with the simulated program of `workers` workers through
    the project's storage path (on a cluster: the ingest tables in their cluster form, events sharded by worker over
    every shard); dropped at the end (on every shard)."""
    database = f"bench_wh_{uuid.uuid4().hex[:8]}"
    on_cluster = bool(urls.clickhouse_cluster)
    home = _connect(urls.clickhouse_url, database, on_cluster)
    shards = [_connect(url, database, on_cluster) for url in urls.clickhouse_shard_urls]
    try:
        migrate(home, "ingest", database=database, cluster=Cluster(urls.clickhouse_cluster, shards) if shards else None)
        progress(f"warehouse: filling {database} with {workers:,} simulated workers ({len(shards) or 1} server(s))")
        stored = _fill(home, workers, shards)
        per_shard = tuple(_count(shard, f"SELECT count() FROM {local_table('events')}") for shard in shards)
        yield Filled(database, stored, per_shard)
    finally:
        servers = {urls.clickhouse_url: home, **dict(zip(urls.clickhouse_shard_urls, shards, strict=True))}
        for store in servers.values():  # once on each server: the home is the first shard
            store.command(f"DROP DATABASE IF EXISTS {database}")
        for store in (home, *shards):
            store.close()


def _connect(url: str, database: str, on_cluster: bool) -> ConnectClickHouse:
    settings = INSERT_SETTINGS if on_cluster else None  # as the services: inserts return once every shard holds them
    return ConnectClickHouse.connect(url, database=database, user="default", password="", settings=settings)


def _count(store: ConnectClickHouse, sql: str) -> int:
    return int(store.query_rows(sql)[0][0])


def _child(urls: StackUrls, filled: Filled, engine: str, label: str) -> dict[str, float]:
    """``workforce-metrics rebuild`` with ``METRICS_ENGINE=engine`` on `urls`' ClickHouse (a cluster's settings as
    ``workforce-stack up`` prints them): seconds, peak RSS, the cells published and the events stored."""
    env = {
        **os.environ,
        "CLICKHOUSE_CLUSTER": "",
        "CLICKHOUSE_SHARD_URLS": "",
        **{name: value for name, value in urls.env().items() if name.startswith("CLICKHOUSE_")},
        "CLICKHOUSE_DATABASE": filled.database,
        "METRICS_AS_OF": AS_OF.isoformat(),
        "METRICS_K": str(K),
        "METRICS_ENGINE": engine,
    }
    log = ROOT / "bench" / "results" / f"warehouse-rebuild-{label}.log"
    returncode, seconds, rss = run_watched([sys.executable, "-m", "services.metrics.cli", "rebuild"], env, log)
    if returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"workforce-metrics rebuild ({label}) failed ({returncode}), see {log}: {tail}")
    store = _connect(urls.clickhouse_url, filled.database, False)
    try:
        cells = float(_count(store, "SELECT count() FROM indicators"))
    finally:
        store.close()
    return {"seconds": seconds, "rss_mb": rss or 0.0, "cells": cells, "events": float(filled.events)}


def run_watched(command: list[str], env: dict[str, str], log: Path) -> tuple[int, float, float | None]:
    """Run `command` to its end with its output in `log` (a file, not a pipe: a child whose log outgrows a pipe's
    64 kB buffer would block on it while this waits for it to end); its return code, seconds and peak RSS (MB: with
    the processes it starts, ``TreePeak``)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    begin = time.perf_counter()
    rss: float | None = None
    with log.open("wb") as out, subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT) as proc:
        tree = TreePeak(proc.pid)
        while proc.poll() is None:
            rss = tree.poll() or rss
            time.sleep(0.2)
    return proc.returncode, time.perf_counter() - begin, rss


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench.warehouse", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--clickhouse-url", default=os.environ.get("CLICKHOUSE_URL", ""))
    parser.add_argument("--no-cluster", action="store_true", help="skip the two-shard cluster's run")
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the reference engine's run (where it does not fit): no ratios"
    )
    parsed = parser.parse_args(args)
    url = parsed.clickhouse_url
    if not url:
        url = ensure_up().clickhouse_url
    report = Report(events=parsed.events, quick=True)
    _at_scale(url, parsed.events, report, cluster=not parsed.no_cluster, reference=not parsed.no_reference)
    for figure in report.figures:
        against = f" ({figure.ratio:.2f}× {figure.baseline})" if figure.ratio is not None else ""
        print(f"{figure.section} | {figure.name}: {figure.value:.3g} {figure.unit}{against} {figure.note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
