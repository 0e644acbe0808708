"""`make demo` end to end at a small scale (issue 11): `python -m devtools.demo` as a subprocess on today and on a
few fixed days, on the session's servers, its own database, stream and free ports, beside any developer's demo."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from devtools.demo import TITLE, Channels, reset_streams
from schemas import PROGRAM_TZ
from services.common.clickhouse import ConnectClickHouse
from services.metrics.catalog import BY_NAME, CATEGORIES, PERIOD_KINDS, PUBLISHED_FACTS
from services.stack.ports import free_port

from .servers import Servers

ROOT = Path(__file__).resolve().parents[2]
TODAY = datetime.now(PROGRAM_TZ).date()
AS_OF = (TODAY, date(2024, 2, 29), date(2025, 12, 31), date(2026, 1, 1))
TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    def explain(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"


def run_demo(args: list[str], env: dict[str, str], timeout_s: float = TIMEOUT_S) -> Run:
    """Run the demo; past the timeout, SIGTERM it (it stops the services it started) before failing."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.demo", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        pytest.fail(f"the demo ran past {timeout_s:.0f} s\n{Run(-1, out.decode(), err.decode()).explain()}")
    return Run(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


@pytest.fixture(scope="module")
def demo_env(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The demo on the session's servers, given by URL (so it neither starts nor stops a server), with a stack
    folder of its own for its key and logs."""
    env = dict(os.environ)
    env.update(
        STACK_CLICKHOUSE_URL=servers.clickhouse_url,
        STACK_NATS_URL=servers.nats_url,
        BROKER_URL=servers.nats_url,
        STACK_DIR=str(tmp_path_factory.mktemp("demo-stack")),
    )
    return env


@pytest.fixture
def database(servers: Servers) -> Iterator[str]:
    """A demo database and NATS streams of this test's own, removed afterwards."""
    name = f"demo_test_{uuid.uuid4().hex[:10]}"
    yield name
    store = ConnectClickHouse.connect(servers.clickhouse_url, database="default", user="default", password="")
    store.command(f"DROP DATABASE IF EXISTS {name}")
    store.close()
    asyncio.run(reset_streams(servers.nats_url, Channels.of(name)))


@pytest.mark.parametrize("as_of", AS_OF, ids=lambda day: day.isoformat())
def test_the_demo_prints_the_headline_table(as_of: date, database: str, demo_env: dict[str, str]) -> None:
    ingest_port, metrics_port = free_port(), free_port()
    args = ["--workers", "50", "--no-wait", "--as-of", as_of.isoformat(), "--database", database]
    args += ["--ingest-port", str(ingest_port), "--metrics-port", str(metrics_port)]
    run = run_demo(args, demo_env)
    assert run.returncode == 0, run.explain()
    assert f"{TITLE} · {as_of}" in run.stdout, run.explain()
    labels = [
        BY_NAME["headcount_end"].name_zh,
        BY_NAME["separation_rate"].name_en,
        BY_NAME["pay_median"].name_en,
        BY_NAME["promotion_rate"].name_zh,
        PERIOD_KINDS["rolling12"].en,
        CATEGORIES["rotation"].zh,
        PUBLISHED_FACTS[0][3].en,
    ]
    assert [label for label in labels if label not in run.stdout] == [], run.explain()
    promotions = next(line for line in run.stdout.splitlines() if BY_NAME["promotion_rate"].name_zh in line)
    assert "—" not in promotions, run.explain()  # the simulated program promotes someone (issue 16)
    urls = [line for line in run.stdout.splitlines() if "http://" in line]
    assert urls[0].startswith(f"Analyst pages   http://127.0.0.1:{metrics_port}/ "), run.explain()  # announced first
    assert f"Analyst pages   http://127.0.0.1:{metrics_port}/" in urls[1:], run.explain()  # and again with the rest
    assert "stored and 0 rejected of" in run.stderr, run.explain()


def test_an_as_of_in_the_future_is_refused() -> None:
    tomorrow = TODAY + timedelta(days=1)
    run = run_demo(["--as-of", tomorrow.isoformat()], dict(os.environ), timeout_s=60)
    assert run.returncode == 2
    assert f"--as-of {tomorrow} is after today" in run.stderr
