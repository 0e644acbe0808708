-- Every message ingest refused, with the reason. No clear worker id: `payload` is the message with its worker ids
-- pseudonymised (payload_form 'json') or only its structure (payload_form 'skeleton'), see
-- services/ingest/rejects.py; the bytes as sent go to the dead-letter destination (dead_letter 'original'), or,
-- when they do not fit the broker, a reference to this row does (dead_letter 'reference').
-- Rows expire 90 days after they were stored; ingest sets the TTL from INGEST_REJECT_TTL_DAYS at start
-- (services/ingest/retention.py); 004_ingest_rejects_columns.sql adds the columns from stored_at to an older table.
CREATE TABLE IF NOT EXISTS {database}.ingest_rejects
(
    received_at     DateTime64(3, 'UTC'),
    reason_code     LowCardinality(String),
    reason          String,
    field_path      String,
    event_type      String,
    event_id        Nullable(UUID),
    payload         String,
    broker          LowCardinality(String),
    subject         String,
    reject_key      String,
    stored_at       DateTime64(3, 'UTC') DEFAULT now64(3),
    payload_form    LowCardinality(String),
    payload_bytes   UInt64,
    payload_sha256  String,
    dead_letter     LowCardinality(String)
)
ENGINE = ReplacingMergeTree
ORDER BY reject_key
TTL toDateTime(stored_at) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 1000;
