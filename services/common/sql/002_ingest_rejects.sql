-- Every message ingest refused, with the reason; the original bytes are also in the dead-letter destination.
CREATE TABLE IF NOT EXISTS {database}.ingest_rejects
(
    received_at  DateTime64(3, 'UTC'),
    reason_code  LowCardinality(String),
    reason       String,
    field_path   String,
    event_type   String,
    event_id     Nullable(UUID),
    payload      String,
    broker       LowCardinality(String),
    subject      String,
    reject_key   String
)
ENGINE = ReplacingMergeTree
ORDER BY reject_key
SETTINGS non_replicated_deduplication_window = 1000;
