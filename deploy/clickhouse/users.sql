-- Least-privilege users of the workforce database. Placeholders in braces are filled at deploy time by
-- `python -m deploy.clickhouse.render users` or by init/10-users.sh in the ClickHouse container:
-- {database}, {ingest_writer_password}, {metrics_job_password}, {dashboard_reader_password}.
--
-- Both services run `CREATE DATABASE IF NOT EXISTS` and their pending schema migrations at start
-- (services/common/migrations.py; services/<service>/sql), recording them in schema_migrations. ClickHouse checks
-- CREATE and ALTER even when the object or column exists, so each user holds CREATE and ALTER ADD COLUMN on exactly
-- the tables its service owns, SELECT, INSERT and CREATE on schema_migrations (and TABLE ENGINE on the engines those
-- use; in the cluster form add Replicated* and Distributed), and nothing that drops or reads others.
CREATE USER IF NOT EXISTS ingest_writer IDENTIFIED WITH sha256_password BY '{ingest_writer_password}'
    DEFAULT DATABASE {database};
CREATE USER IF NOT EXISTS metrics_job IDENTIFIED WITH sha256_password BY '{metrics_job_password}'
    DEFAULT DATABASE {database};
CREATE USER IF NOT EXISTS dashboard_reader IDENTIFIED WITH sha256_password BY '{dashboard_reader_password}'
    DEFAULT DATABASE {database};

-- ingest: writes events and rejects; reads event ids back to absorb redeliveries.
GRANT CREATE DATABASE ON {database}.* TO ingest_writer;
GRANT TABLE ENGINE ON ReplacingMergeTree TO ingest_writer;
GRANT SELECT, INSERT, CREATE TABLE ON {database}.events TO ingest_writer;
GRANT SELECT, INSERT, CREATE TABLE ON {database}.ingest_rejects TO ingest_writer;
-- Ingest brings older tables up to date at start: events.key_id (migration 003), ingest_rejects' columns and TTL.
GRANT ALTER ADD COLUMN ON {database}.events TO ingest_writer;
GRANT ALTER ADD COLUMN, ALTER MODIFY TTL ON {database}.ingest_rejects TO ingest_writer;
GRANT SELECT, INSERT, CREATE TABLE ON {database}.schema_migrations TO ingest_writer;

-- metrics: reads events and reference wages; publishes indicators through indicators_staging
-- (REPLACE PARTITION needs SELECT on the source, INSERT and ALTER DELETE on the target); writes labels and its log.
GRANT CREATE DATABASE ON {database}.* TO metrics_job;
GRANT TABLE ENGINE ON ReplacingMergeTree TO metrics_job;
GRANT TABLE ENGINE ON MergeTree TO metrics_job;
GRANT SELECT ON {database}.events TO metrics_job;
GRANT SELECT, INSERT, CREATE TABLE ON {database}.reference_wages TO metrics_job;
GRANT SELECT, INSERT, ALTER DELETE, CREATE TABLE ON {database}.indicators TO metrics_job;
GRANT SELECT, INSERT, TRUNCATE, CREATE TABLE ON {database}.indicators_staging TO metrics_job;
GRANT SELECT, INSERT, CREATE TABLE ON {database}.org_units TO metrics_job;
GRANT SELECT, INSERT, CREATE TABLE ON {database}.indicator_catalog TO metrics_job;
GRANT SELECT, INSERT, CREATE TABLE ON {database}.refresh_log TO metrics_job;
-- The last publish audit's proofs (003): derived from true figures, so the metrics job's alone; a publish deletes
-- the row before its own.
GRANT SELECT, INSERT, ALTER DELETE, CREATE TABLE ON {database}.audit_proofs TO metrics_job;
-- Metrics brings an older indicators table (and its staging twin) up to date at start (the reason column, 002).
GRANT ALTER ADD COLUMN ON {database}.indicators TO metrics_job;
GRANT ALTER ADD COLUMN ON {database}.indicators_staging TO metrics_job;
GRANT SELECT, INSERT, CREATE TABLE ON {database}.schema_migrations TO metrics_job;

-- Grafana: reads the published indicators and their labels, nothing else.
GRANT SELECT ON {database}.indicators TO dashboard_reader;
GRANT SELECT ON {database}.org_units TO dashboard_reader;
GRANT SELECT ON {database}.indicator_catalog TO dashboard_reader;
