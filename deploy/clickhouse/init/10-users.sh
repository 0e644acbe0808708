#!/bin/bash
# Runs once, on the first start of the ClickHouse container (docker-entrypoint-initdb.d): creates the
# workforce tables and the least-privilege users of ../users.sql with passwords from the environment.
set -euo pipefail

for name in INGEST_CLICKHOUSE_PASSWORD METRICS_CLICKHOUSE_PASSWORD DASHBOARD_READER_PASSWORD; do
    value="${!name:-}"
    if [[ ! "$value" =~ ^[A-Za-z0-9_-]{16,128}$ ]]; then
        echo "10-users.sh: $name must be 16-128 letters, digits, '_' or '-' (e.g. openssl rand -hex 24)" >&2
        exit 1
    fi
done

sed -e "s/{database}/${CLICKHOUSE_DB}/g" \
    -e "s/{ingest_writer_password}/${INGEST_CLICKHOUSE_PASSWORD}/g" \
    -e "s/{metrics_job_password}/${METRICS_CLICKHOUSE_PASSWORD}/g" \
    -e "s/{dashboard_reader_password}/${DASHBOARD_READER_PASSWORD}/g" \
    /workforce/users.sql \
  | clickhouse client --user "${CLICKHOUSE_USER}" --password "${CLICKHOUSE_PASSWORD}" --multiquery
