"""The NATS pull loop against a real JetStream: every message once, open requests topped up and settled."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from services.ingest.brokers.nats import stream_sequence
from services.ingest.brokers.nats_pull import Puller, PullSettings

from .harness import publish_nats, wait_for
from .servers import Servers


@contextlib.asynccontextmanager
async def _stream(servers: Servers) -> AsyncIterator[tuple[Client, str, str]]:
    """A fresh stream with durable consumer "c" (explicit acks): (client, stream, subject); deleted after."""
    tag = uuid.uuid4().hex[:8]
    stream, subject = f"P{tag}", f"p{tag}.events"
    client = await nats.connect(servers.nats_url)
    js = client.jetstream()
    await js.add_stream(StreamConfig(name=stream, subjects=[subject]))
    await js.add_consumer(stream, ConsumerConfig(durable_name="c", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=-1))
    try:
        yield client, stream, subject
    finally:
        await js.delete_stream(stream)
        await client.close()


async def test_puller_receives_each_message_once_and_keeps_pulling_after_requests_expire(servers: Servers) -> None:
    received: list[Msg] = []

    async def sink(msgs: list[Msg]) -> None:
        received.extend(msgs)
        for msg in msgs:
            await msg.ack()

    settings = PullSettings(batch=100, in_flight=3, expires=1.0, heartbeat=0.5, chunk=50)
    async with _stream(servers) as (client, stream, subject):
        puller = Puller(client, stream, "c", sink, settings)
        try:
            await puller.start()
            await publish_nats(servers.nats_url, subject, [b"%d" % i for i in range(2_000)])
            await wait_for(lambda: len(received) >= 2_000, timeout=30, what="the first 2,000 messages")
            assert puller.owed <= settings.in_flight * settings.batch
            await asyncio.sleep(2.5)  # every open request expires (408) and is replaced
            await publish_nats(servers.nats_url, subject, [b"%d" % i for i in range(2_000, 2_500)])
            await wait_for(
                lambda: len(received) >= 2_500, timeout=30, what="messages published after the requests expired"
            )
        finally:
            await puller.stop()
    bodies = [int(m.data) for m in received]
    assert sorted(bodies) == list(range(2_500))
    assert {stream_sequence(m.reply) for m in received} == {f"{stream}:{n}" for n in range(1, 2_501)}


async def test_a_lone_message_reaches_the_sink_without_waiting_for_a_heartbeat(servers: Servers) -> None:
    """Freshness: one message into an idle puller is handed over after `linger`, not held until the next
    heartbeat interval (60 s here, past the 10 s deadline)."""
    received: list[Msg] = []

    async def sink(msgs: list[Msg]) -> None:
        received.extend(msgs)

    async with _stream(servers) as (client, stream, subject):
        puller = Puller(client, stream, "c", sink, PullSettings(batch=100, in_flight=2, expires=120, heartbeat=60))
        try:
            await puller.start()
            for n in range(3):
                await asyncio.sleep(0.3)  # the puller is idle, waiting on its open requests
                await publish_nats(servers.nats_url, subject, [b"%d" % n])
                await wait_for(lambda: len(received) > n, timeout=10, what=f"lone message {n}")  # noqa: B023
        finally:
            await puller.stop()
    assert [int(m.data) for m in received] == [0, 1, 2]


def test_stream_sequence_reads_both_ack_subject_forms() -> None:
    assert stream_sequence("$JS.ACK.S.c.1.42.7.1700000000.0") == "S:42"
    assert stream_sequence("$JS.ACK.dom.acchash.S.c.1.42.7.1700000000.0.rnd") == "S:42"
    assert stream_sequence("_INBOX.x") == ""
