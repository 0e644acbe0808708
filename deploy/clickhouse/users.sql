-- Least-privilege users of the workforce database. Placeholders in braces are filled at deploy time by
-- `python -m deploy.clickhouse.render users` or by init/10-users.sh in the ClickHouse container:
-- {database}, {ingest_writer_password}, {metrics_job_password}, {dashboard_reader_password}.
--
-- Both services run `CREATE DATABASE IF NOT EXISTS` and `CREATE TABLE IF NOT EXISTS` for their own tables at
-- start (services/*/app.py connect_store); ClickHouse checks CREATE even when the object exists, so each user
-- holds CREATE on exactly the tables its service declares (and TABLE ENGINE on the engines those use; in the
-- cluster form add Replicated* and Distributed), and nothing that drops, alters or reads others.
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
-- Ingest brings an older ingest_rejects up to date at start (the stored_at column and the retention TTL).
GRANT ALTER ADD COLUMN, ALTER MODIFY TTL ON {database}.ingest_rejects TO ingest_writer;

-- metrics: reads events and reference wages; publishes indicators through indicators_staging
-- (REPLACE PARTITION needs SELECT on the source, INSERT and ALTER DELETE on the target); writes labels and its log.
GRANT CREATE DATABASE ON {database}.* TO metrics_job;
GRANT TABLE ENGINE ON ReplacingMergeTree TO metrics_job;
GRANT TABLE ENGINE ON MergeTree TO metrics_job;
GRANT SELECT, CREATE TABLE ON {database}.events TO metrics_job;
GRANT CREATE TABLE ON {database}.ingest_rejects TO metrics_job;
GRANT SELECT, INSERT, CREATE TABLE ON {database}.reference_wages TO metrics_job;
GRANT SELECT, INSERT, ALTER DELETE, CREATE TABLE ON {database}.indicators TO metrics_job;
GRANT SELECT, INSERT, TRUNCATE, CREATE TABLE ON {database}.indicators_staging TO metrics_job;
GRANT SELECT, INSERT, CREATE TABLE ON {database}.org_units TO metrics_job;
GRANT SELECT, INSERT, CREATE TABLE ON {database}.indicator_catalog TO metrics_job;
GRANT SELECT, INSERT, CREATE TABLE ON {database}.refresh_log TO metrics_job;
-- Metrics brings an older indicators table (and its staging twin) up to date at start (the reason column).
GRANT ALTER ADD COLUMN ON {database}.indicators TO metrics_job;
GRANT ALTER ADD COLUMN ON {database}.indicators_staging TO metrics_job;

-- Grafana: reads the published indicators and their labels, nothing else.
GRANT SELECT ON {database}.indicators TO dashboard_reader;
GRANT SELECT ON {database}.org_units TO dashboard_reader;
GRANT SELECT ON {database}.indicator_catalog TO dashboard_reader;
