"""The `ingest_rejects` retention statement ingest runs at start (the columns are migration 004). No server."""

from __future__ import annotations

from services.ingest.retention import changes, ttl_days

OLD_TABLE = (
    "CREATE TABLE db.ingest_rejects (`received_at` DateTime64(3, 'UTC'), `reject_key` String) "
    "ENGINE = ReplacingMergeTree ORDER BY reject_key SETTINGS index_granularity = 8192"
)
NEW_TABLE = OLD_TABLE.replace(" SETTINGS", " TTL toDateTime(stored_at) + toIntervalDay(90) SETTINGS")


def test_retention_changes_only_what_differs() -> None:
    assert ttl_days(NEW_TABLE) == 90 and ttl_days(OLD_TABLE) is None
    assert changes("ReplacingMergeTree", NEW_TABLE, 90) == []
    assert changes("ReplacingMergeTree", NEW_TABLE, 30) == [
        "ALTER TABLE ingest_rejects MODIFY TTL toDateTime(stored_at) + INTERVAL 30 DAY"
    ]
    assert changes("ReplacingMergeTree", OLD_TABLE, 90) == [
        "ALTER TABLE ingest_rejects MODIFY TTL toDateTime(stored_at) + INTERVAL 90 DAY"
    ]
    assert changes("Distributed", OLD_TABLE, 90) == []
