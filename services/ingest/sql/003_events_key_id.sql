-- events.key_id (key rotation, docs/operations.md) for a table created before it; 001 creates it with the column.
ALTER TABLE {database}.events ADD COLUMN IF NOT EXISTS key_id LowCardinality(String);
