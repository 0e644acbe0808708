-- The ingest_rejects columns after reject_key, for a table created before them (002 creates them); stored_at comes
-- first: the retention TTL (set at start from INGEST_REJECT_TTL_DAYS, services/ingest/retention.py) reads it.
ALTER TABLE {database}.ingest_rejects ADD COLUMN IF NOT EXISTS stored_at DateTime64(3, 'UTC') DEFAULT now64(3);
ALTER TABLE {database}.ingest_rejects ADD COLUMN IF NOT EXISTS payload_form LowCardinality(String);
ALTER TABLE {database}.ingest_rejects ADD COLUMN IF NOT EXISTS payload_bytes UInt64;
ALTER TABLE {database}.ingest_rejects ADD COLUMN IF NOT EXISTS payload_sha256 String;
ALTER TABLE {database}.ingest_rejects ADD COLUMN IF NOT EXISTS dead_letter LowCardinality(String);
