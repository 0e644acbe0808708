"""Every Prometheus metric the metrics service exposes, named in one place with its kind."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

HEADLINES = ("separation_rate_annual", "stability_index", "pay_median")


class MetricsTelemetry:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.refresh_seconds = Histogram(
            "metrics_refresh_seconds",
            "Time to load new events, recompute and publish changed years",
            buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128),
            registry=r,
        )
        self.refresh_lag = Gauge(
            "metrics_refresh_lag_seconds", "Now minus the newest event's stored_at at the last refresh", registry=r
        )
        self.rows_written = Counter("metrics_rows_written", "Indicator rows written", registry=r)
        self.last_refresh = Gauge("metrics_last_refresh_timestamp_seconds", "Unix time of the last refresh", registry=r)
        self.errors = Counter("metrics_refresh_errors", "Failed refreshes", registry=r)
        self.events_cached = Gauge("metrics_events_cached", "Distinct events held for recomputation", registry=r)
        self.anomalies = Gauge("metrics_anomalies", "Events that count nowhere (see refresh log)", registry=r)
        self.audit_cells_checked = Gauge(
            "metrics_audit_cells_checked", "Suppressed cells the last disclosure audit checked", registry=r
        )
        self.audit_cells_hidden = Gauge(
            "metrics_audit_cells_hidden", "Cells the audit hid (reason audit) in the last audited table", registry=r
        )
        self.audit_blocks = Gauge("metrics_audit_blocks", "Independent blocks of the last audit's LPs", registry=r)
        self.audit_rounds = Gauge("metrics_audit_rounds", "Hide-and-check rounds of the last audit", registry=r)
        self.audit_cells_reused = Gauge(
            "metrics_audit_cells_reused",
            "Hidden cells the last audit proved with the points of the audit before it (no LP)",
            registry=r,
        )
        self.audit_seconds = Histogram(
            "metrics_audit_seconds",
            "Time the disclosure audit took on a refresh (part of metrics_refresh_seconds when it publishes)",
            buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
            registry=r,
        )
        self.publish_held = Gauge(
            "metrics_publish_held",
            "1 while the last audited table was held back (the published one is older), 0 once one is published",
            registry=r,
        )
        self.publish_held_back = Counter(
            "metrics_publish_held_back", "Tables the disclosure audit held back from publishing", registry=r
        )
        self.headline = Gauge(
            "metrics_headline", "Program-wide headline indicators (latest period)", ["indicator"], registry=r
        )
