"""The project's ingest as a real process (`python -m services.ingest.cli run`) consuming a filled queue.

Throughput runs from the first message consumed (its `ingest_messages_consumed_total` turns non-zero) to
the moment every published message is accounted for in its fresh database: `count()` of `events` plus
`ingest_rejects` (the simulator's stream is valid, but a broker that reorders deliveries can make a
correction arrive before its target, which ingest refuses and records). Peak RSS is
the process's VmHWM read from /proc just before it is stopped.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.clickhouse import ConnectClickHouse
from services.common.migrations import migrate
from services.ingest.settings import IngestSettings
from services.stack.ports import free_port
from services.stack.process import memory_bytes
from tests.integration.harness import settings_env

POLL = 0.05
ACCOUNTED = "SELECT (SELECT count() FROM events), (SELECT count() FROM ingest_rejects)"


@dataclass(frozen=True, slots=True)
class IngestRun:
    stored: int
    rejected: int
    seconds: float
    startup_seconds: float
    peak_rss_mb: float

    @property
    def rate(self) -> float:
        return (self.stored + self.rejected) / self.seconds


def peak_rss_mb(pid: int) -> float:
    """The process's VmHWM in MB; an unreadable value fails the run rather than report a made-up peak."""
    peak = memory_bytes(pid, "VmHWM")
    if peak is None:
        raise KeyError(f"VmHWM of pid {pid}")
    return peak / 2**20


def consumed_total(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as response:
            text: str = response.read().decode()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("ingest_messages_consumed_total "):
            return float(line.split()[1])
    return 0.0


@contextmanager
def fresh_database(clickhouse_url: str) -> Iterator[tuple[str, ConnectClickHouse]]:
    """A new database holding the ingest tables; dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    store = ConnectClickHouse.connect(clickhouse_url, database=name, user="default", password="")
    migrate(store, "ingest", database=name)
    try:
        yield name, store
    finally:
        store.command(f"DROP DATABASE IF EXISTS {name}")
        store.close()


def ingest_env(clickhouse_url: str, database: str, broker_url: str, names: dict[str, str], port: int) -> dict[str, str]:
    """The project's default batching; only names, database, port and a random key are the benchmark's."""
    values: dict[str, Any] = {
        "pseudonym_key": secrets.token_hex(32),
        "clickhouse_url": clickhouse_url,
        "clickhouse_database": database,
        "broker_url": broker_url,
        "ingest_http_port": port,
        "log_level": "WARNING",
        **names,
    }
    return settings_env(IngestSettings(**values))


def run_ingest(
    clickhouse_url: str,
    broker_url: str,
    names: dict[str, str],
    expected: int,
    *,
    log: Path,
    profile: Path | None = None,
) -> IngestRun:
    """Start ingest on the filled queue `names`, wait until `expected` are accounted for, stop it.

    With `profile`, py-spy attaches when the first message is consumed (start-up imports stay out of the
    profile) and writes its raw collapsed stacks there when ingest exits.
    """
    port = free_port()
    spy: list[subprocess.Popen[bytes]] = []
    with fresh_database(clickhouse_url) as (database, store), log.open("wb") as out:
        env = ingest_env(clickhouse_url, database, broker_url, names, port)
        launched = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "services.ingest.cli", "run"], env=env, stdout=out, stderr=subprocess.STDOUT
        )

        def consuming() -> None:
            if profile is not None:
                spy.append(_attach_profiler(process.pid, profile))

        try:
            return _measure(process, store, port, expected, launched, log, consuming)
        finally:
            _stop(process)
            for p in spy:
                p.wait(timeout=60)


def _measure(
    process: subprocess.Popen[bytes],
    store: ConnectClickHouse,
    port: int,
    expected: int,
    launched: float,
    log: Path,
    consuming: Callable[[], None],
) -> IngestRun:
    limit = time.monotonic() + 60 + expected / 1_000
    first: float | None = None
    stored = rejected = 0
    while time.monotonic() < limit:
        if process.poll() is not None:
            raise RuntimeError(f"ingest exited with {process.returncode}; see {log}")
        if first is None:
            if consumed_total(port) > 0:
                first = time.perf_counter()
                consuming()
        else:
            stored, rejected = (int(n) for n in store.query_rows(ACCOUNTED)[0])
            if stored + rejected >= expected:
                end = time.perf_counter()
                peak = peak_rss_mb(process.pid)
                return IngestRun(stored, rejected, end - first, first - launched, peak)
        time.sleep(POLL)
    raise TimeoutError(f"ingest accounted for {stored + rejected} of {expected} in time; see {log}")


def _attach_profiler(pid: int, out: Path) -> subprocess.Popen[bytes]:
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [str(spy), "record", "--pid", str(pid), "--format", "raw", "--rate", "200", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            process.wait()
