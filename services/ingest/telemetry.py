"""Every Prometheus metric ingest exposes, named in one place with its kind."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IngestMetrics:
    """Operator metrics of one ingest process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.consumed = Counter("ingest_messages_consumed", "Messages received from the broker", registry=r)
        self.stored = Counter("ingest_events_stored", "Events newly stored in ClickHouse", ["event_type"], registry=r)
        self.duplicates = Counter("ingest_duplicates", "Redelivered or repeated events absorbed", registry=r)
        self.rejected = Counter("ingest_rejected", "Messages refused and dead-lettered", ["reason"], registry=r)
        self.batch_size = Histogram(
            "ingest_batch_size",
            "Messages per flushed batch",
            buckets=(1, 10, 100, 500, 1_000, 2_500, 5_000, 10_000, 25_000),
            registry=r,
        )
        self.insert_seconds = Histogram(
            "ingest_insert_seconds",
            "Time to validate, resolve and store one batch",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.insert_errors = Counter("ingest_insert_errors", "Failed store attempts", ["kind"], registry=r)
        self.buffered = Gauge("ingest_buffer_messages", "Messages held, not yet stored nor acknowledged", registry=r)
        self.pending = Gauge("ingest_consumer_pending", "Messages waiting in the broker for this consumer", registry=r)
        self.last_stored = Gauge(
            "ingest_last_stored_timestamp_seconds", "Unix time of the last batch stored", registry=r
        )
        self.consuming = Gauge("ingest_consuming", "1 while taking messages, 0 when stopped or paused", registry=r)
        self.store_ready = Gauge("ingest_store_ready", "1 when the last ClickHouse call succeeded", registry=r)
