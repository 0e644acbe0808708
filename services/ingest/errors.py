"""Ingest errors. A bad message is settled (dead-lettered) and never retried; a transient error is retried.

    IngestError
     ├── RejectLimitExceeded   too many bad messages in the window: stop consuming, report unhealthy
     ├── BrokerSetupError      BROKER_URL names no supported broker, or the broker refused set-up
     ├── StoreSetupError       ClickHouse refused to bring ingest_rejects to the configured retention
     └── BrokerUnavailable     the broker could not take dead letters now (transient: retried, never acked)
StoreUnavailable / StoreRejected (services.common.errors) come from the ClickHouse port.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base of ingest's own errors."""


class RejectLimitExceeded(IngestError):
    """The share of rejected messages in the recent window passed the configured limit."""


class BrokerSetupError(IngestError):
    """The broker URL is not supported or the broker refused to declare what ingest needs."""


class StoreSetupError(IngestError):
    """The ClickHouse user may not alter `ingest_rejects` to the configured columns and TTL."""


class BrokerUnavailable(IngestError):
    """The broker did not take a publish (connection lost, timeout, server error); retrying may succeed."""
