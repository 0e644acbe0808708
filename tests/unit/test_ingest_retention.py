"""The `ingest_rejects` retention statements ingest runs at start. No server needed."""

from __future__ import annotations

from services.ingest.retention import changes, ttl_days

OLD_TABLE = (
    "CREATE TABLE db.ingest_rejects (`received_at` DateTime64(3, 'UTC'), `reject_key` String) "
    "ENGINE = ReplacingMergeTree ORDER BY reject_key SETTINGS index_granularity = 8192"
)
NEW_TABLE = OLD_TABLE.replace(" SETTINGS", " TTL toDateTime(stored_at) + toIntervalDay(90) SETTINGS")
ALL_COLUMNS = {
    "received_at",
    "reject_key",
    "stored_at",
    "payload_form",
    "payload_bytes",
    "payload_sha256",
    "dead_letter",
}


def test_retention_changes_only_what_differs() -> None:
    assert ttl_days(NEW_TABLE) == 90 and ttl_days(OLD_TABLE) is None
    assert changes("ReplacingMergeTree", NEW_TABLE, ALL_COLUMNS, 90) == []
    assert changes("ReplacingMergeTree", NEW_TABLE, ALL_COLUMNS, 30) == [
        "ALTER TABLE ingest_rejects MODIFY TTL toDateTime(stored_at) + INTERVAL 30 DAY"
    ]
    old = changes("ReplacingMergeTree", OLD_TABLE, {"received_at", "reject_key"}, 90)
    assert (
        old[0] == "ALTER TABLE ingest_rejects ADD COLUMN IF NOT EXISTS stored_at DateTime64(3, 'UTC') DEFAULT now64(3)"
    )
    assert len(old) == 6 and old[-1].endswith("MODIFY TTL toDateTime(stored_at) + INTERVAL 90 DAY")
    assert changes("Distributed", OLD_TABLE, set(), 90) == []
