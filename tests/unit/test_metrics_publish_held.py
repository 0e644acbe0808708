"""Operators see the publish audit: METRICS_AUDIT, the audit gauges, and a held-back table counted, logged and
kept out of readiness by the wiring module (services/metrics/app.py), with a refresher double."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime

import pytest

from services.common.logs import fields_of
from services.metrics.app import build_refresher, indicators_ready, observe, refresh_loop
from services.metrics.engine.audit import AuditReport
from services.metrics.refresh import PublishHeld, RefreshReport
from services.metrics.settings import MetricsSettings
from services.metrics.telemetry import MetricsTelemetry

PASSED = AuditReport(
    cells_checked=1_200, hidden=340, blocks=17, lps=90, rounds=4, relations=5_000, seconds=12.5, reused=900
)
FAILED = AuditReport(
    cells_checked=1_500,
    hidden=610,
    blocks=21,
    lps=400,
    rounds=30,
    relations=6_000,
    seconds=700.0,
    passed=False,
    problem="still leaking after 30 rounds",
    leaks=["hires month 2024-03-01 org=D-1 (v)"],
    leaking=1,
)


def report(audit: AuditReport | None) -> RefreshReport:
    newest = datetime(2024, 6, 1, tzinfo=UTC)
    return RefreshReport(date(2024, 6, 30), 100, 3, (2024,), 50, 0, 20.0, newest, {"pay_median": 5_000.0}, audit)


def sample(telemetry: MetricsTelemetry, name: str) -> float | None:
    return telemetry.registry.get_sample_value(name)


class Refreshes:
    """A refresher double: each refresh takes the next outcome (a report, None, or PublishHeld to raise); the last
    one stops the loop."""

    def __init__(self, stop: asyncio.Event, *outcomes: RefreshReport | PublishHeld | None) -> None:
        self.stop = stop
        self.outcomes = list(outcomes)

    def absorb(self) -> int:
        return 0

    def refresh(self) -> RefreshReport | None:
        outcome = self.outcomes.pop(0)
        if not self.outcomes:
            self.stop.set()
        if isinstance(outcome, PublishHeld):
            raise outcome
        return outcome


class Calls:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def test_the_audit_is_off_by_default_and_reaches_the_refresher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRICS_AUDIT", raising=False)
    assert MetricsSettings().metrics_audit is False  # until it is fast enough for a whole history (docs/contract.md)
    monkeypatch.setenv("METRICS_AUDIT", "true")
    settings = MetricsSettings()
    assert settings.metrics_audit is True
    refresher = build_refresher(settings, None)  # type: ignore[arg-type]  # the refresher only stores it
    assert refresher._audit is True


def test_a_published_report_sets_the_audit_gauges_and_clears_held() -> None:
    telemetry = MetricsTelemetry()
    telemetry.publish_held.set(1)
    observe(telemetry, report(PASSED))
    assert sample(telemetry, "metrics_audit_cells_checked") == 1_200
    assert sample(telemetry, "metrics_audit_cells_hidden") == 340
    assert sample(telemetry, "metrics_audit_blocks") == 17
    assert sample(telemetry, "metrics_audit_rounds") == 4
    assert sample(telemetry, "metrics_audit_cells_reused") == 900
    assert sample(telemetry, "metrics_audit_seconds_count") == 1
    assert sample(telemetry, "metrics_audit_seconds_sum") == 12.5
    assert sample(telemetry, "metrics_publish_held") == 0


def test_without_the_audit_a_report_leaves_the_audit_metrics_alone() -> None:
    telemetry = MetricsTelemetry()
    observe(telemetry, report(None))
    assert sample(telemetry, "metrics_audit_seconds_count") == 0
    assert sample(telemetry, "metrics_publish_held") == 0
    assert sample(telemetry, "metrics_rows_written_total") == 50


async def test_a_held_table_is_counted_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    telemetry, stop, published, completed = MetricsTelemetry(), asyncio.Event(), Calls(), Calls()
    refresher = Refreshes(stop, PublishHeld(FAILED))
    with caplog.at_level(logging.WARNING, logger="workforce.metrics"):
        await refresh_loop(refresher, telemetry, 0.001, stop, published, completed)  # type: ignore[arg-type]
    assert sample(telemetry, "metrics_publish_held") == 1
    assert sample(telemetry, "metrics_publish_held_back_total") == 1
    assert sample(telemetry, "metrics_audit_cells_hidden") == 610
    assert sample(telemetry, "metrics_audit_rounds") == 30
    assert telemetry.registry.get_sample_value("metrics_audit_seconds_bucket", {"le": "1024.0"}) == 1
    assert sample(telemetry, "metrics_refresh_errors_total") == 0
    assert sample(telemetry, "metrics_last_refresh_timestamp_seconds") == 0
    assert (published.count, completed.count) == (0, 0)  # nothing was swapped in: no answer to invalidate
    [record] = [r for r in caplog.records if getattr(r, "event", None) == "publish_held"]
    assert record.levelno == logging.WARNING
    fields = fields_of(record)
    assert fields["reason"] == "still leaking after 30 rounds"
    assert fields["leaks"] == ["hires month 2024-03-01 org=D-1 (v)"]


async def test_a_later_publish_clears_held_and_completes() -> None:
    telemetry, stop, published, completed = MetricsTelemetry(), asyncio.Event(), Calls(), Calls()
    refresher = Refreshes(stop, PublishHeld(FAILED), None, report(PASSED))
    await refresh_loop(refresher, telemetry, 0.001, stop, published, completed)  # type: ignore[arg-type]
    assert sample(telemetry, "metrics_publish_held") == 0
    assert sample(telemetry, "metrics_publish_held_back_total") == 1
    assert sample(telemetry, "metrics_audit_cells_hidden") == 340
    assert sample(telemetry, "metrics_audit_seconds_count") == 2
    assert (published.count, completed.count) == (1, 1)


def test_readiness_waits_for_the_first_refresh_and_a_published_table() -> None:
    refreshed, holding = asyncio.Event(), asyncio.Event()
    assert indicators_ready(refreshed, holding) == (False, "first refresh running")
    refreshed.set()
    holding.set()
    ready, reason = indicators_ready(refreshed, holding)
    assert not ready and "publish held back by the disclosure audit" in reason
    holding.clear()
    assert indicators_ready(refreshed, holding) == (True, "indicators published")
