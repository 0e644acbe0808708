"""Prometheus config and rules checked by promtool, the alert unit tests run by promtool, and a real Prometheus
scraping the real operator routes of ingest (`services.common.http.operator_routes`) served by uvicorn."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml

from services.common.http import build_app, operator_routes
from services.ingest.telemetry import IngestMetrics
from services.stack.ports import free_port

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
DEADLINE_S = 30.0


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"`{name}` not installed (Debian package `prometheus`: apt-get install -y prometheus)")
    return path


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary("promtool"), *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=120, check=False
    )


def test_config_is_valid() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_are_valid() -> None:
    result = promtool("check", "rules", *(str(p.relative_to(PROMETHEUS_DIR)) for p in RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_unit_tests_pass() -> None:
    result = promtool("test", "rules", *(str(p.relative_to(PROMETHEUS_DIR)) for p in RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    alerts = {
        rule["alert"]
        for path in RULES
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    assert alerts - firing == set(), "alerts never tested firing"
    assert alerts - quiet == set(), "alerts never tested staying quiet"


@pytest.fixture
def ingest_metrics() -> Iterator[tuple[IngestMetrics, int]]:
    """The ingest operator routes on uvicorn in a thread, with a registry the test writes to."""
    metrics = IngestMetrics()

    async def ok() -> tuple[bool, str]:
        return True, "test"

    port = free_port()
    app = build_app(operator_routes(live=ok, ready=ok, registry=metrics.registry))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "uvicorn did not start")
    yield metrics, port
    server.should_exit = True
    thread.join(10)


def wait_for(condition: Any, message: str) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(message)


@pytest.fixture
def prometheus(tmp_path: Path, ingest_metrics: tuple[IngestMetrics, int]) -> Iterator[str]:
    """A real Prometheus scraping the routes every second, with the workforce rules loaded."""
    executable = binary("prometheus")
    _, target_port = ingest_metrics
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in RULES],
        "scrape_configs": [{"job_name": "ingest", "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    with (tmp_path / "prometheus.log").open("w") as log:
        process = subprocess.Popen(
            [
                executable,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def api(base: str, path: str, **params: str) -> Any:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}" if params else f"{base}{path}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return None


def instant(base: str, query: str) -> list[Any]:
    answer = api(base, "/api/v1/query", query=query)
    return [] if answer is None else list(answer["data"]["result"])


def test_real_prometheus_scrapes_the_ingest_routes(prometheus: str, ingest_metrics: tuple[IngestMetrics, int]) -> None:
    metrics, _ = ingest_metrics
    metrics.stored.labels(event_type="staffing.hired.v1").inc(7)
    metrics.rejected.labels(reason="schema_invalid").inc(2)
    metrics.pending.set(42)

    stored = wait_for(
        lambda: instant(prometheus, 'ingest_events_stored_total{event_type="staffing.hired.v1"}'), "no scrape"
    )
    assert float(stored[0]["value"][1]) == 7.0
    assert float(instant(prometheus, 'up{job="ingest"}')[0]["value"][1]) == 1.0
    assert float(instant(prometheus, "sum(ingest_consumer_pending)")[0]["value"][1]) == 42.0
    assert float(instant(prometheus, 'ingest_rejected_total{reason="schema_invalid"}')[0]["value"][1]) == 2.0


def test_real_prometheus_loads_and_evaluates_the_rules(prometheus: str) -> None:
    def groups() -> list[Any]:
        answer = api(prometheus, "/api/v1/rules")
        loaded = [] if answer is None else answer["data"]["groups"]
        evaluated = all(rule.get("lastEvaluation", "").startswith("2") for g in loaded for rule in g["rules"])
        return loaded if loaded and evaluated else []

    loaded = wait_for(groups, "rules not loaded and evaluated")
    names = {rule["name"] for group in loaded for rule in group["rules"]}
    assert {"IngestStalled", "TurnoverRateJump", "workforce:ingest_reject_share:ratio_rate15m"} <= names
    assert all(rule["health"] == "ok" for group in loaded for rule in group["rules"])
