"""Rotating PSEUDONYM_KEY on real NATS and ClickHouse (issue 15, item 7): events stored under key A, ingest restarted
under key B with A as previous key, the same events sent again, stored rows re-keyed, new events for the same workers.
No redelivery becomes a conflict, nothing is lost, and the metrics read each worker under one key."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter

from services.common.clickhouse import ConnectClickHouse
from services.ingest.app import Ingest, pseudonymisers
from services.ingest.rekey import plan, rekey
from services.ingest.settings import IngestSettings
from services.metrics.loader import load_events

from .events import hire
from .harness import count, exact_once, ingest_settings, nats_consumer_state, publish_nats, running, wait_for
from .servers import Servers

KEY_A = "5e1b6f3f0a9c41d2b7e85f6a1c3d9e0b4f7a2c8d"
KEY_B = "c8d5e1b6f3f0a9c41d2b7e85f6a1c3d9e0b4f7a2"
WORKERS = 500
NAMESPACE = uuid.UUID("6f1c2d34-5e6f-4a7b-8c9d-0e1f2a3b4c5d")


def pay(n: int, month: int) -> bytes:
    """A pay of worker n effective in `month` of 2024; the same n and month give the same bytes."""
    day = f"2024-{month:02d}-01"
    payload = {
        "event_id": str(uuid.uuid5(NAMESPACE, f"pay-{n}-{month}")),
        "event_type": "staffing.pay_set.v1",
        "occurred_at": f"{day}T09:00:00+08:00",
        "emitted_at": f"{day}T09:00:05+08:00",
        "source": "test-hr",
        "worker_id": f"W{n:07d}",
        "data": {
            "effective_date": day,
            "monthly_base": 6000 + month,
            "allowances": 500,
            "currency": "CNY",
            "weekly_hours": 40,
        },
    }
    return json.dumps(payload).encode()


def under_b(a: IngestSettings, database: str, servers: Servers) -> IngestSettings:
    """The same broker names as `a` (the same durable consumer), with key B current and key A previous."""
    return ingest_settings(
        servers.clickhouse_url,
        database,
        servers.nats_url,
        pseudonym_key=KEY_B,
        pseudonym_keys_previous=KEY_A,
        **{name: getattr(a, name) for name in ("ingest_subject", "ingest_stream", "ingest_consumer")},
        ingest_dead_letter=a.ingest_dead_letter,
    )


def duplicates(ingest: Ingest) -> float:
    return ingest.metrics.registry.get_sample_value("ingest_duplicates_total") or 0.0


async def drained(servers: Servers, settings: IngestSettings) -> bool:
    return await nats_consumer_state(servers.nats_url, settings.ingest_stream, settings.ingest_consumer) == (0, 0)


async def test_a_rotation_turns_no_redelivery_into_a_conflict_and_keeps_each_worker_one(
    servers: Servers, store: ConnectClickHouse, database: str
) -> None:
    before = [hire(n, namespace=NAMESPACE) for n in range(WORKERS)] + [pay(n, 3) for n in range(WORKERS)]
    after = [pay(n, 6) for n in range(WORKERS)]
    a = ingest_settings(servers.clickhouse_url, database, servers.nats_url, pseudonym_key=KEY_A)
    subject = a.ingest_subject.replace(">", "events")
    async with running(a, store):
        await publish_nats(servers.nats_url, subject, before)
        await wait_for(lambda: count(store, "SELECT count() FROM events") >= len(before), timeout=30, what="A")

    b = under_b(a, database, servers)
    current, previous = pseudonymisers(b)
    async with running(b, store) as ingest:
        await publish_nats(servers.nats_url, subject, before)  # every event again, now under key B
        await wait_for(lambda: duplicates(ingest) >= len(before), timeout=30, what="the redeliveries")
        mapping = plan({f"W{n:07d}" for n in range(WORKERS)}, current, previous)
        done = await asyncio.to_thread(rekey, store, mapping, current.key_id)
        await publish_nats(servers.nats_url, subject, after + before)  # new events of the same workers, and again
        await wait_for(
            lambda: count(store, "SELECT count() FROM events") >= len(before) + len(after),
            timeout=30,
            what="the new events",
        )
        await wait_for(lambda: duplicates(ingest) >= 2 * len(before), timeout=30, what="the second redeliveries")
        assert await drained(servers, b)

    assert done.rows == len(before) and done.left == ()
    assert count(store, "SELECT count() FROM ingest_rejects") == 0  # no conflict, no reject of any kind
    assert exact_once(store) == (len(before) + len(after),) * 2  # nothing lost, nothing twice
    key_ids = dict(store.query_rows("SELECT key_id, count() FROM events GROUP BY key_id"))
    assert key_ids == {current.key_id: len(before) + len(after)}

    per_worker = Counter(record.worker_key for _, record in load_events(store))  # what the metrics engine reads
    assert per_worker == {current(f"W{n:07d}"): 3 for n in range(WORKERS)}  # hire, pay before and pay after
