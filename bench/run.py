"""`python -m bench.run [--events N] [--brokers nats,redis,rabbit,kafka] [--quick] [--no-profile]`.

Measures, in this order, with progress on stderr: ingest throughput per broker against the raw client and
FastStream baselines (and the ingest process's peak RSS), the insert path against a bare clickhouse-connect
insert, the measurements still waiting for their pieces (bench.later), the indicator API under 50 concurrent
clients (bench.api_load), the suppressed share per indicator family before and after the publish audit and the
audit's time against the compute (bench.disclosure), and a py-spy profile of NATS ingest when it is below target.
Prints the Markdown report and writes bench/results/latest.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path

from devtools import tansu

from . import api_load, corpus, disclosure, later, profile, warehouse
from .brokers import BENCHES, BrokerBench, reachable
from .ingest import IngestRun, run_ingest
from .insert import measure_inserts
from .report import RESULTS, Figure, Report, Target

TARGET_RATE = 30_000.0
TARGET_RSS_MB = 250.0
RAW_SHARE = {"rabbit": 0.8}  # ingest ÷ raw baseline; 0.5 for every other broker
FASTSTREAM_MULTIPLE = 2.0
DEFAULT_URLS = {
    "redis": "redis://127.0.0.1:6379/0",
    "rabbit": "amqp://guest:guest@127.0.0.1:5672/",
}
URL_ENV = {"nats": "NATS_URL", "redis": "REDIS_URL", "rabbit": "RABBITMQ_URL", "kafka": "KAFKA_URL"}
STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def broker_url(name: str, nats_url: str) -> str | None:
    if name == "nats":
        return os.environ.get("NATS_URL", nats_url)
    return os.environ.get(URL_ENV[name], DEFAULT_URLS.get(name, "")) or None


async def measure_broker(bench: BrokerBench, bodies: list[bytes], clickhouse_url: str, report: Report) -> float | None:
    """Raw, FastStream and ingest runs on fresh queues; adds figures and targets, returns ingest events/s."""
    section, n = f"ingest {bench.name}", len(bodies)
    raw = await _consume(bench, bodies, "raw")
    raw_fig = report.compare(section, f"raw {bench.name} client + validate_many", raw, "events/s", baseline=None)
    fs = await _consume(bench, bodies, "faststream") if bench.has_faststream else None
    fs_fig = None
    if fs is not None:
        fs_fig = report.compare(
            section, "FastStream batch subscriber + validate_many", fs, "events/s", baseline=raw_fig
        )
    progress(f"{bench.name}: project ingest subprocess")
    queue = await bench.fill(bodies)
    try:
        run = await asyncio.to_thread(
            run_ingest, clickhouse_url, bench.url, queue.settings, n, log=RESULTS / f"ingest-{bench.name}.log"
        )
    finally:
        await bench.remove(queue)
    progress(f"{bench.name}: ingest {run.rate:,.0f} events/s, peak RSS {run.peak_rss_mb:.0f} MB")
    fig = report.compare(section, "project ingest (subprocess, to ClickHouse)", run.rate, "events/s", baseline=raw_fig)
    if fs_fig is not None:
        report.compare(section, "project ingest ÷ FastStream baseline", run.rate, "events/s", baseline=fs_fig)
    report.add(_ingest_detail(section, run))
    _broker_targets(report, bench.name, fig.ratio, run, fs_fig.value if fs_fig else None)
    return run.rate


def _ingest_detail(section: str, run: IngestRun) -> Figure:
    note = f"startup {run.startup_seconds:.1f}s before the first message; {run.rejected} recorded as rejects"
    return Figure(section, "project ingest peak RSS (VmHWM)", run.peak_rss_mb, "MB", note=note)


async def _consume(bench: BrokerBench, bodies: list[bytes], kind: str) -> float | None:
    progress(f"{bench.name}: filling a fresh queue with {len(bodies):,} messages for the {kind} baseline")
    queue = await bench.fill(bodies)
    try:
        progress(f"{bench.name}: {kind} baseline consuming")
        consumed = await (bench.raw(queue, len(bodies)) if kind == "raw" else bench.faststream(queue, len(bodies)))
    finally:
        await bench.remove(queue)
    if consumed is None:
        return None
    if consumed.invalid:
        raise RuntimeError(f"{kind} {bench.name}: {consumed.invalid} messages failed validation")
    progress(f"{bench.name}: {kind} baseline {consumed.rate:,.0f} events/s")
    return consumed.rate


def _broker_targets(report: Report, name: str, raw_ratio: float | None, run: IngestRun, fs: float | None) -> None:
    share = RAW_SHARE.get(name, 0.5)
    t = report.targets
    if name != "rabbit":
        t.append(Target(f"{name}: ingest events/s", run.rate, ">=", TARGET_RATE, "events/s"))
    t.append(Target(f"{name}: ingest ÷ raw baseline", raw_ratio, ">=", share, "×"))
    if name != "rabbit":
        ratio = run.rate / fs if fs else None
        t.append(Target(f"{name}: ingest ÷ FastStream batch", ratio, ">=", FASTSTREAM_MULTIPLE, "×", "not measured"))
    t.append(Target(f"{name}: ingest peak RSS", run.peak_rss_mb, "<=", TARGET_RSS_MB, "MB"))


def unmeasured_broker(report: Report, name: str, why: str) -> None:
    report.notes.append(f"{name}: {why}")
    share = RAW_SHARE.get(name, 0.5)
    report.targets.append(Target(f"{name}: ingest ÷ raw baseline", None, ">=", share, "×", why))
    if name != "rabbit":
        report.targets.append(Target(f"{name}: ingest events/s", None, ">=", TARGET_RATE, "events/s", why))


def measure_insert_path(clickhouse_url: str, bodies: list[bytes], quick: bool, report: Report) -> None:
    rows = bodies[: 10_000 if quick else 20_000]
    progress(f"insert path: {len(rows):,} rows, {2 if quick else 3} repeats of each variant")
    f = measure_inserts(clickhouse_url, rows, repeats=2 if quick else 3)
    section = "insert path"
    bare = report.compare(section, "bare clickhouse_connect insert (tuples)", f.bare_tuples, "rows/s", baseline=None)
    report.compare(
        section, "bare raw_insert JSONEachRow (incl. json.dumps)", f.bare_json_each_row, "rows/s", baseline=bare
    )
    report.compare(section, "EventWriter.write_events", f.writer, "rows/s", baseline=bare)
    report.compare(section, "Pipeline.store (validate, resolve, write)", f.pipeline_store, "rows/s", baseline=bare)
    report.compare(section, "Pipeline.validate only (no I/O)", f.validate_only, "rows/s", baseline=bare)


def profile_nats(
    clickhouse_url: str, nats: BrokerBench, bodies: list[bytes], report: Report, folder: Path = RESULTS
) -> None:
    if not profile.available():
        report.notes.append("profile skipped: py-spy is not installed (`.venv/bin/pip install py-spy`)")
        return
    progress(f"profiling NATS ingest with py-spy on {len(bodies):,} events")
    raw = RESULTS / "profile-nats.txt"

    async def run() -> IngestRun:
        queue = await nats.fill(bodies)
        try:
            log = RESULTS / "ingest-nats-profiled.log"
            return await asyncio.to_thread(
                run_ingest, clickhouse_url, nats.url, queue.settings, len(bodies), log=log, profile=raw
            )
        finally:
            await nats.remove(queue)

    measured = asyncio.run(run())
    path = profile.write_markdown(
        profile.read(raw), rate=measured.rate, events=len(bodies), broker="NATS", out=folder / "PROFILE.md"
    )
    report.notes.append(f"NATS ingest profile: {path.relative_to(RESULTS.parent.parent)}")


def _start_tansu(stack: contextlib.ExitStack, report: Report) -> str | None:
    """With no KAFKA_URL, the Kafka-protocol figures come from Tansu (in memory) started for this broker's runs."""
    try:
        url = stack.enter_context(tansu.running(RESULTS / "tansu.log"))
    except tansu.TansuUnavailable as exc:
        report.notes.append(f"kafka: {exc}")
        return None
    progress(f"kafka: no KAFKA_URL, started Tansu at {url}")
    report.notes.append("kafka: measured on Tansu 0.6 (Kafka protocol, in-memory storage), started by the bench")
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--events", type=int, default=None, help="messages per run (default 100,000; quick 20,000)")
    parser.add_argument("--brokers", default="nats,redis,rabbit,kafka", help="comma-separated subset")
    parser.add_argument("--quick", action="store_true", help="20,000 events, fewer insert repeats")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy run even when below target")
    parser.add_argument(
        "--panel-events",
        default="1000000,10000000",
        help="comma-separated event counts for panel latency over computed indicators (default 1 M and 10 M; 10 M"
        " takes ~30 min and ~13 GB: the rebuild peaks at 12.6 GB)",
    )
    parser.add_argument(
        "--panels-only", action="store_true", help="measure only panel latency at --panel-events (no ingest runs)"
    )
    args = parser.parse_args(argv)
    n = args.events or (20_000 if args.quick else 100_000)
    names = [b.strip() for b in args.brokers.split(",") if b.strip()]
    unknown = [b for b in names if b not in BENCHES]
    if unknown:
        parser.error(f"unknown brokers: {', '.join(unknown)} (known: {', '.join(BENCHES)})")
    scales = tuple(int(v) for v in args.panel_events.split(",") if v.strip())
    if args.panels_only:
        report = panels_only(scales)
        js, md = report.write(RESULTS / "panels")
        print(report.markdown())
        progress(f"wrote {js} and {md}")
        return 0
    report = run(n, names, quick=args.quick, profile_below_target=not args.no_profile, panel_events=scales)
    js, md = report.write(RESULTS / "quick" if args.quick else RESULTS)  # a quick run keeps the full run's report
    print(report.markdown())
    progress(f"wrote {js} and {md}")
    return 0


def panels_only(scales: tuple[int, ...]) -> Report:
    """Panel latency over the indicators computed from each scale of simulated events, nothing else."""
    from services.stack.api import ensure_up

    report = Report(events=0, quick=False)
    urls = ensure_up()
    clickhouse_url = os.environ.get("CLICKHOUSE_URL", urls.clickhouse_url)
    later.panels_at_scale(later.Context(clickhouse_url, urls.broker_url, 0, False, scales), report)
    return report


def run(
    n: int,
    names: list[str],
    *,
    quick: bool,
    profile_below_target: bool,
    panel_events: tuple[int, ...] = (1_000_000, 10_000_000),
) -> Report:
    from services.stack.api import ensure_up

    report = Report(events=n, quick=quick)
    load_before = os.getloadavg()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    progress("local stack: ClickHouse and NATS")
    urls = ensure_up()
    clickhouse_url = os.environ.get("CLICKHOUSE_URL", urls.clickhouse_url)
    progress(f"generating {n:,} simulator events")
    bodies = corpus.bodies(n)
    rates: dict[str, float | None] = {}
    for name in names:
        with contextlib.ExitStack() as stack:
            url = broker_url(name, urls.broker_url)
            if url is None and name == "kafka":
                url = _start_tansu(stack, report)
            if url is None:
                unmeasured_broker(report, name, f"not measured: no broker ({URL_ENV[name]} is not set)")
                continue
            bench = BENCHES[name](url)
            why = asyncio.run(reachable(bench))
            if why is not None:
                unmeasured_broker(report, name, why)
                continue
            rates[name] = asyncio.run(measure_broker(bench, bodies, clickhouse_url, report))
    measure_insert_path(clickhouse_url, bodies, quick, report)
    ctx = later.Context(clickhouse_url, urls.broker_url, n, quick, panel_events)
    for measurement in later.MEASUREMENTS:
        measurement(ctx, report)
    api_load.api_suite(ctx, report)
    progress("warehouse: the warehouse path against the reference engine (issue 13)")
    warehouse.measure(ctx, report)
    progress("disclosure: suppressed shares per family, before and after the publish audit, and the audit's time")
    # the current year only: the audit's time grows fast with the history (docs/contract.md, "Audit")
    disclosure.measure(report, 150 if quick else 300, disclosure.AS_OF.year)
    nats_rate = rates.get("nats")
    if profile_below_target and nats_rate is not None and nats_rate < TARGET_RATE:
        nats_url = broker_url("nats", urls.broker_url) or urls.broker_url
        folder = RESULTS / "quick" if quick else RESULTS
        profile_nats(clickhouse_url, BENCHES["nats"](nats_url), bodies[: min(n, 50_000)], report, folder)
    report.notes.append(
        f"1-minute load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end on {os.cpu_count()} CPUs;"
        " ClickHouse, the brokers, ingest and the baselines share them, so compare ratios, not absolutes"
    )
    return report


if __name__ == "__main__":
    raise SystemExit(main())
