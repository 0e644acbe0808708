"""Measurements that need pieces still being built: each is one function returning its targets.

Each function reports "not measured yet" while its piece is missing; adding a measurement means replacing
that branch with the measuring code, nothing else in the runner changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .report import Report, Target

ROOT = Path(__file__).resolve().parent.parent
METRICS_APP = ROOT / "services" / "metrics" / "app.py"
DASHBOARDS = ROOT / "deploy" / "grafana"
# The pieces exist; these say what the missing runner would do.
WAITING_METRICS = (
    "not measured yet: services/metrics exists, runner not written"
    " (run `python -m services.metrics.cli run` on an ingested database, read VmHWM / stamp-to-visible lag)"
)
WAITING_PANELS = (
    "not measured yet: deploy/grafana exists, runner not written"
    " (time `generate.clickhouse_queries()` expanded as tests/integration/test_dashboards.py does)"
)


@dataclass(frozen=True, slots=True)
class Context:
    clickhouse_url: str
    broker_url: str
    events: int


def _missing(path: Path) -> str:
    return f"not measured yet: {path.relative_to(ROOT)} does not exist"


def metrics_rss(ctx: Context, report: Report) -> None:
    """Peak RSS of the metrics service while it refreshes the indicators over the benchmark's events."""
    reason = _missing(METRICS_APP) if not METRICS_APP.exists() else WAITING_METRICS
    report.targets.append(Target("metrics service peak RSS", None, "<=", 250, "MB", reason))


def freshness(ctx: Context, report: Report) -> None:
    """p99 of (indicator visible in ClickHouse) − (event published), with ingest and metrics running."""
    reason = _missing(METRICS_APP) if not METRICS_APP.exists() else WAITING_METRICS
    report.targets.append(Target("freshness p99", None, "<=", 10, "s", reason))


def panel_latency(ctx: Context, report: Report) -> None:
    """p95 latency of every dashboard panel's query against the benchmark's data."""
    reason = _missing(DASHBOARDS) if not DASHBOARDS.exists() else WAITING_PANELS
    report.targets.append(Target("dashboard panel query p95", None, "<=", 100, "ms", reason))


MEASUREMENTS: tuple[Callable[[Context, Report], None], ...] = (metrics_rss, freshness, panel_latency)
