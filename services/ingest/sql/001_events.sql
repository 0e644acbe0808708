-- Every accepted event, once per event_id (ReplacingMergeTree collapses redeliveries; read with FINAL).
-- stored_at is set by the server at insert: the metrics service reads new rows by it.
-- non_replicated_deduplication_window makes a retried insert with the same deduplication token a no-op.
-- key_id names the pseudonym key worker_key is under ('' without a worker, or for rows stored before key ids);
-- 003_events_key_id.sql adds it to a table created before it (docs/operations.md, key rotation).
CREATE TABLE IF NOT EXISTS {database}.events
(
    event_id      UUID,
    event_type    LowCardinality(String),
    occurred_at   DateTime64(3, 'UTC'),
    emitted_at    DateTime64(3, 'UTC'),
    received_at   DateTime64(3, 'UTC'),
    source        LowCardinality(String),
    worker_key    String,
    event_date    Date,
    data          String,
    content_hash  String,
    stored_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    key_id        LowCardinality(String)
)
ENGINE = ReplacingMergeTree
ORDER BY event_id
SETTINGS non_replicated_deduplication_window = 1000;
