"""The in-memory adapter through the contract the real brokers run (tests/broker_contract.py), plus what the
contract leaves to each broker's own tests: redelivery counts, in-flight bound, size limit, dead-letter expiry.

Every item of the contract holds in memory; none is skipped. What services/ingest/brokers/memory.py names as not
holding in memory is outside the contract: durability across a broker restart and subject wildcards (tested for
no broker), redelivery to a consumer's successor after it died without closing (the real brokers:
test_ingest_faults.py, SIGKILL then restart) and Kafka's committed prefix (`prefix_only` in the contract).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from services.ingest.brokers import make_adapter
from services.ingest.brokers.base import BrokerAdapter, Channels
from services.ingest.brokers.memory import MemoryAdapter, MemoryBroker
from services.ingest.deliveries import Delivery
from services.ingest.errors import BrokerSetupError, BrokerUnavailable
from tests.broker_contract import (
    NOW,
    Broker,
    Collector,
    channels,
    clock,
    make_bodies,
    reject,
    run_contract,
    run_nacked_go_to_the_next,
)


def memory_broker(server: MemoryBroker | None = None) -> Broker:
    server = server or MemoryBroker()
    ch = channels(uuid.uuid4().hex[:10])

    async def read() -> list[tuple[bytes, dict[str, str]]]:
        return [(m.body, m.headers) for m in server.read(ch.dead_letter)]

    return Broker(lambda: MemoryAdapter(server, ch, clock=clock), read, prefix_only=False)


async def test_memory_at_least_once_dead_letters_and_replay() -> None:
    await run_contract(memory_broker())


async def test_memory_another_adapter_of_the_group_takes_what_the_first_left() -> None:
    broker = memory_broker()
    await run_contract(broker, broker.make)


async def test_memory_nacked_messages_go_to_the_next_consumer_at_once() -> None:
    broker = memory_broker()
    await run_nacked_go_to_the_next(broker.make(), broker.make())


def test_memory_is_no_broker_url() -> None:
    with pytest.raises(BrokerSetupError, match="memory"):
        make_adapter("memory://", channels("x"), clock=clock)


async def started(adapter: BrokerAdapter, bodies: list[bytes]) -> Collector:
    got = Collector()
    await adapter.publish(bodies)
    adapter.subscribe(got)
    await adapter.start()
    await got.wait_for(len(bodies), deadline=5.0)
    return got


async def test_redelivery_keeps_the_message_id_and_counts_deliveries() -> None:
    server = MemoryBroker()
    ch = channels("count")
    first = MemoryAdapter(server, ch, clock=clock)
    got = await started(first, [b"a", b"b"])
    await first.nack(got.got[:1])
    await got.wait_for(3, deadline=5.0)
    again = got.got[2]
    assert again.body == b"a" and again.message_id == got.got[0].message_id
    assert [first.delivery_count(d) for d in got.got] == [1, 1, 2]
    await first.close()
    second = MemoryAdapter(server, ch, clock=clock)
    more = Collector()
    second.subscribe(more)
    await second.start()
    await more.wait_for(2, deadline=5.0)
    assert sorted((d.body, second.delivery_count(d)) for d in more.got) == [(b"a", 3), (b"b", 2)]
    await first.ack(got.got)  # a closed adapter's acks are stale: the messages stay with the second
    assert await second.pending() == 2
    await second.close()


async def test_at_most_in_flight_unsettled_and_each_ack_lets_more_in() -> None:
    ch = Channels("s", "dlq", "S", "c", fetch_size=2, in_flight=3)
    adapter = MemoryAdapter(MemoryBroker(), ch, clock=clock)
    got = Collector()
    await adapter.publish(make_bodies(10))
    adapter.subscribe(got)
    await adapter.start()
    await got.wait_for(3, deadline=5.0)
    assert len(got.got) == 3
    await adapter.ack(got.got[:2])
    await got.wait_for(5, deadline=5.0)
    assert len(got.got) == 5 and await adapter.pending() == 8
    await adapter.close()


async def test_a_dead_letter_over_the_limit_is_handed_back_and_old_letters_expire() -> None:
    server = MemoryBroker(max_letter=2_000)
    ch = Channels("s", "dlq", "S", "c", fetch_size=10, dead_letter_days=1)
    now = [NOW]
    adapter = MemoryAdapter(server, ch, clock=lambda: now[0])
    small, big = (Delivery(body, None, "s", NOW, "m") for body in (b"x", b"y" * 5_000))
    too_large = await adapter.dead_letter([reject(small), reject(big)])
    assert [r.delivery.body for r in too_large] == [b"y" * 5_000]
    reference = reject(big).by_reference()
    assert await adapter.dead_letter([reference]) == []
    assert [json.loads(m.body)["bytes"] for m in server.read("dlq")[1:]] == [5_000]
    now[0] = NOW + timedelta(days=2)
    await adapter.dead_letter([reject(small)])
    assert len(server.read("dlq")) == 1, "letters older than dead_letter_days went"
    assert await adapter.replay_dead_letters() == 1


async def test_a_broker_away_refuses_dead_letters_and_publishes() -> None:
    server = MemoryBroker()
    adapter = MemoryAdapter(server, channels("away"), clock=clock)
    server.available = False
    assert not await adapter.ping()
    with pytest.raises(BrokerUnavailable):
        await adapter.dead_letter([reject(Delivery(b"x", None, "s", NOW))])
    with pytest.raises(BrokerUnavailable):
        await adapter.publish([b"x"])
