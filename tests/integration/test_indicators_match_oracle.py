"""A random event log through broker → ingest → ClickHouse → metrics matches the independent oracle, cell by cell."""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

import pytest

from schemas import parse_event
from services.common.clickhouse import ConnectClickHouse
from services.common.migrations import migrate
from services.ingest.pseudonymise import Pseudonymiser
from services.metrics.engine import EventRecord
from services.metrics.publish import COLUMNS
from services.metrics.refresh import Refresher
from services.sim import SimConfig, generate
from tests.oracle import oracle_compute
from tests.oracle.compare import cells, differences

from .harness import TEST_KEY, count, ingest_settings, publish_nats, running, utc_now_fixed, wait_for
from .servers import Servers

AS_OF = date(2024, 6, 30)
NOW = utc_now_fixed(AS_OF)


def _records(bodies: list[bytes]) -> list[EventRecord]:
    """The log as the oracle sees it: the same pseudonyms ingest gives, payloads as validated."""
    pseudonymise = Pseudonymiser(TEST_KEY.encode())
    out = []
    for body in bodies:
        event = parse_event(body, now=NOW)
        out.append(
            EventRecord(
                str(event.event_id),
                event.event_type,
                event.occurred_at,
                event.emitted_at,
                pseudonymise(getattr(event, "worker_id", None)),
                event.data.model_dump(mode="json"),
            )
        )
    return out


@pytest.mark.slow
async def test_every_indicator_matches_the_oracle(servers: Servers, store: ConnectClickHouse, database: str) -> None:
    config = SimConfig(workers=60, start_year=2022, end=AS_OF, seed=11, scenario=False)
    bodies = [json.dumps(e, ensure_ascii=False).encode() for e in generate(config)]
    settings = ingest_settings(servers.clickhouse_url, database, servers.nats_url)
    async with running(settings, store, clock=lambda: NOW):
        await publish_nats(servers.nats_url, settings.ingest_subject.replace(">", "events"), bodies)
        await wait_for(
            lambda: count(store, "SELECT uniqExact(event_id) FROM events") == len(bodies),
            timeout=120,
            what="the whole log stored",
        )
    migrate(store, "ingest", "metrics", database=database)
    store.command("TRUNCATE TABLE indicators")
    # the oracle implements the rules; the audit's further cells are checked by tests/unit/test_disclosure_attack.py
    refresher = Refresher(store, k=3, as_of=lambda: AS_OF, clock=lambda: NOW, audit=False)
    report = refresher.refresh(force=True)
    assert report is not None and report.rows_written > 0
    published = [
        SimpleNamespace(**dict(zip(COLUMNS, row, strict=False)))
        for row in store.query_rows(f"SELECT {', '.join(COLUMNS[:-1])} FROM indicators")
    ]
    expected = cells(oracle_compute(_records(bodies), as_of=AS_OF, k=3))
    problems = differences(expected, cells(published))
    assert not problems, "\n".join(problems)
