"""A real metrics service over a real ClickHouse with a simulated program, and Debian's Chromium driven headless.

The servers come from the integration tests' fixtures (testcontainers, given URLs, or the local stack). The
browser is the system's (`/usr/bin/chromium`, installed by `make install`'s system-deps); Playwright's own browser
download is never used. Screenshots land in tests/browser/screenshots/ (an artefact, not committed).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

from services.common.clickhouse import ConnectClickHouse
from services.common.migrations import migrate
from services.ingest.deliveries import Delivery
from services.ingest.pipeline import Pipeline
from services.ingest.pseudonymise import Pseudonymiser
from services.ingest.writer import EventWriter
from services.sim import SimConfig, generate
from services.stack.ports import free_port
from tests.integration.conftest import database, servers  # noqa: F401 - the integration tests' server fixtures
from tests.integration.harness import TEST_KEY, http_status, utc_now_fixed
from tests.integration.servers import Servers

AS_OF = date(2024, 6, 30)
K = 5
SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.path):
            item.add_marker(pytest.mark.integration)


@dataclass(frozen=True)
class Service:
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=30) as response:
            body = response.read()
            if response.headers.get_content_type() == "application/json":
                return json.loads(body)
            return body.decode()

    def rows(self, query: str) -> list[dict[str, Any]]:
        """Every row of an /indicators query, following the pages."""
        out: list[dict[str, Any]] = []
        path: str | None = f"/indicators?{query}"
        while path:
            answer = self.get(path)
            out.extend(answer["rows"])
            path = answer.get("next")
        return out


def _store(store: ConnectClickHouse, events: list[dict[str, Any]]) -> None:
    now = utc_now_fixed(AS_OF)
    pipeline = Pipeline(
        EventWriter(store),
        Pseudonymiser(TEST_KEY.encode()),
        zone=ZoneInfo("Asia/Shanghai"),
        broker="test",
        clock=lambda: now,
    )
    for start in range(0, len(events), 5_000):
        batch = events[start : start + 5_000]
        deliveries = [
            Delivery(json.dumps(e, ensure_ascii=False).encode(), None, "test", now, str(start + i))
            for i, e in enumerate(batch)
        ]
        outcome = pipeline.store(deliveries)
        assert not outcome.rejected, outcome.rejected[:3]


@pytest.fixture(scope="session")
def service(servers: Servers, database: str) -> Iterator[Service]:  # noqa: F811 - the imported fixtures
    """The metrics service (k = 5) over 400 simulated workers, 2019 → 2024-06-30, with reference wages loaded."""
    store = ConnectClickHouse.connect(servers.clickhouse_url, database=database, user="default", password="")
    migrate(store, "ingest", database=database)
    _store(store, list(generate(SimConfig(workers=400, start_year=2019, end=AS_OF, seed=7, scenario=False))))
    store.close()
    port = free_port()
    env = {
        **os.environ,
        "CLICKHOUSE_URL": servers.clickhouse_url,
        "CLICKHOUSE_DATABASE": database,
        "METRICS_HTTP_PORT": str(port),
        "METRICS_AS_OF": AS_OF.isoformat(),
        "METRICS_K": str(K),
    }
    wages = Path(__file__).parents[2] / "deploy" / "reference_wages" / "shanghai.csv"
    cli = [sys.executable, "-m", "services.metrics.cli"]
    subprocess.run([*cli, "load-reference-wages", str(wages)], env=env, check=True, stdout=subprocess.DEVNULL)
    proc = subprocess.Popen([*cli, "run"], env=env)
    try:
        deadline = time.monotonic() + 180
        while http_status(port, "/ready") != 200:
            assert proc.poll() is None, "the metrics service exited"
            assert time.monotonic() < deadline, "the metrics service was not ready within 180 s"
            time.sleep(0.5)
        yield Service(port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make install` installs Debian's package (scripts/system-deps.sh)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        yield launched
        launched.close()


@dataclass
class Visit:
    """A page with what it asked for and what it complained about."""

    page: Page
    requests: list[str]
    errors: list[str]

    def check_clean(self, base: str) -> None:
        outside = [url for url in self.requests if not url.startswith(base + "/") and not url.startswith("data:")]
        assert not outside, f"requests leaving {base}: {outside[:5]}"
        assert not self.errors, f"console errors: {self.errors[:5]}"

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.wait_ready()

    def wait_ready(self) -> None:
        self.page.wait_for_selector("#main[data-ready='1']", timeout=30_000)

    def wait_drawn(self) -> None:
        """Until every chart is drawn (those below the first screen are drawn after data-ready, in idle time)."""
        self.page.wait_for_selector("#main[data-ready='1'][data-drawn='1']", timeout=30_000)

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.wait_drawn()
        self.page.wait_for_timeout(300)  # let the last charts' frame paint
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def visit(browser: Browser) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    found = Visit(page, [], [])

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            found.errors.append(message.text)

    def on_request(request: Request) -> None:
        found.requests.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: found.errors.append(str(exc)))
    page.on("request", on_request)
    yield found
    context.close()
