-- indicators.reason for tables created before it, in the same place in both tables (REPLACE PARTITION needs one
-- structure); 001 has the same statements, for a database adopted at version 1 that never ran them.
ALTER TABLE {database}.indicators ADD COLUMN IF NOT EXISTS reason LowCardinality(String) AFTER suppressed;
ALTER TABLE {database}.indicators_staging ADD COLUMN IF NOT EXISTS reason LowCardinality(String) AFTER suppressed;
