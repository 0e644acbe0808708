"""The insert path: the project's writer and pipeline against a bare clickhouse-connect insert of the same rows.

Each variant writes the same rows, in batches of the ingest default size, into an `events` table of its own
fresh database (created by the project's DDL), so every insert lands in an empty identical table.
"""

from __future__ import annotations

import json
import secrets
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from services.common.clickhouse import ConnectClickHouse
from services.ingest.deliveries import Delivery
from services.ingest.pipeline import Pipeline
from services.ingest.pseudonymise import Pseudonymiser
from services.ingest.rows import EVENT_COLUMNS, EventRow
from services.ingest.writer import EventWriter

from .brokers import now
from .ingest import fresh_database

BATCH = 10_000  # IngestSettings.ingest_batch_size default
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class InsertFigures:
    rows: int
    bare_tuples: float
    bare_json_each_row: float
    writer: float
    pipeline_store: float
    validate_only: float


def _batches(items: Sequence[T]) -> list[Sequence[T]]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def _bare_client(clickhouse_url: str, database: str) -> Client:
    parts = urlsplit(clickhouse_url)
    return clickhouse_connect.get_client(
        host=parts.hostname or "127.0.0.1", port=parts.port or 8123, database=database, autogenerate_session_id=False
    )


def _json_each_row(rows: Sequence[EventRow]) -> bytes:
    lines = []
    for r in rows:
        record = {
            "event_id": r.event_id,
            "event_type": r.event_type,
            "occurred_at": r.occurred_at.timestamp(),
            "emitted_at": r.emitted_at.timestamp(),
            "received_at": r.received_at.timestamp(),
            "source": r.source,
            "worker_key": r.worker_key,
            "event_date": r.event_date.isoformat(),
            "data": r.data,
            "content_hash": r.content_hash,
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode()


def measure_inserts(clickhouse_url: str, bodies: Sequence[bytes], repeats: int = 3) -> InsertFigures:
    """rows/s (median of `repeats`) of five ways to store `bodies`; the bare ones are the baselines."""
    received = now()
    deliveries = [Delivery(body, None, "bench", received, str(i)) for i, body in enumerate(bodies)]
    batches = _batches(deliveries)
    started = time.perf_counter()
    rows = [row for batch in batches for _, row in _pipeline(None).validate(batch)[0]]
    validate_rate = len(deliveries) / (time.perf_counter() - started)
    tuples = [row.as_tuple() for row in rows]
    columns = list(EVENT_COLUMNS)

    def bare(client: Client, _: ConnectClickHouse) -> None:
        for batch in _batches(tuples):
            client.insert("events", batch, column_names=columns)

    def json_each_row(client: Client, _: ConnectClickHouse) -> None:
        for batch in _batches(rows):
            client.raw_insert("events", columns, _json_each_row(batch), fmt="JSONEachRow")

    def writer(_: Client, store: ConnectClickHouse) -> None:
        for batch in _batches(rows):
            EventWriter(store).write_events(batch)

    def pipeline(_: Client, store: ConnectClickHouse) -> None:
        for batch in batches:
            _pipeline(EventWriter(store)).store(batch)

    variants = (bare, json_each_row, writer, pipeline)
    seconds: dict[str, list[float]] = {v.__name__: [] for v in variants}
    for _ in range(repeats):  # round-robin, so a change in the machine's load hits every variant alike
        for variant in variants:
            seconds[variant.__name__].append(_timed(clickhouse_url, variant, len(rows)))

    def rate(name: str) -> float:
        return len(rows) / statistics.median(seconds[name])

    return InsertFigures(
        len(rows), rate("bare"), rate("json_each_row"), rate("writer"), rate("pipeline"), validate_rate
    )


def _pipeline(writer: EventWriter | None) -> Pipeline:
    key = Pseudonymiser(secrets.token_bytes(32))
    return Pipeline(writer, key, zone=ZoneInfo("Asia/Shanghai"), broker="bench", clock=now)  # type: ignore[arg-type]


def _timed(clickhouse_url: str, run: Callable[[Client, ConnectClickHouse], None], expected: int) -> float:
    """Seconds of one `run` into a fresh database, after a one-row warm-up insert there."""
    with fresh_database(clickhouse_url) as (database, store):
        client = _bare_client(clickhouse_url, database)
        client.command("CREATE TABLE warm AS events")
        warm = [(str(uuid.UUID(int=1)), "x", now(), now(), now(), "", "", now().date(), "", "")]
        client.insert("warm", warm, column_names=list(EVENT_COLUMNS))
        started = time.perf_counter()
        run(client, store)
        seconds = time.perf_counter() - started
        stored = int(store.query_rows("SELECT count() FROM events")[0][0])
        client.close()
    if stored != expected:
        raise RuntimeError(f"insert benchmark stored {stored} rows, expected {expected}")
    return seconds
