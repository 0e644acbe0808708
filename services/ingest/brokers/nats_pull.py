"""A JetStream pull consumer kept busy: several pull requests stay open on one durable consumer.

nats-py's `fetch` waits for every message with a task and a timeout of its own, and FastStream's batch
subscriber has one fetch open at a time; both stall near 10-16k messages/s. Here one plain subscription on
an inbox receives the messages and status replies of every request, and a pump hands what arrived to the
sink in chunks, then tops the requests up. Messages owed by open requests are counted: a data message
settles one, a 408/409 status settles what its `Nats-Pending-Messages` header says. If the server goes
silent (no message and no idle heartbeat for two intervals, e.g. across a reconnect), the requests are
presumed lost and issued again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError

log = logging.getLogger("workforce.ingest")
NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class PullSettings:
    """How many messages each request asks for, how many requests stay open, and their timing (seconds)."""

    batch: int = 1_000
    in_flight: int = 4
    expires: float = 30.0
    heartbeat: float = 5.0
    chunk: int = 500
    linger: float = 0.02
    pause_after_error: float = 1.0


MessagesSink = Callable[[list[Msg]], Awaitable[None]]


class Puller:
    """Keeps `in_flight` pull requests open on `stream`/`consumer` and passes their messages to `sink`."""

    def __init__(
        self, client: Client, stream: str, consumer: str, sink: MessagesSink, settings: PullSettings = PullSettings()
    ) -> None:
        self._nc = client
        self._subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._sink = sink
        self._s = settings
        self._request = json.dumps(
            {
                "batch": settings.batch,
                "expires": int(settings.expires * NS),
                "idle_heartbeat": int(settings.heartbeat * NS),
            }
        ).encode()
        self._inbox = ""
        self._sub: Subscription | None = None
        self._pump: asyncio.Task[None] | None = None
        self._received: list[Msg] = []
        self._handing: list[Msg] = []
        self._arrived = asyncio.Event()
        self._chunk_ready = asyncio.Event()
        self._owed = 0
        self._last_heard = time.monotonic()
        self._pause_until = 0.0

    @property
    def owed(self) -> int:
        """Messages the open requests may still deliver."""
        return self._owed

    async def start(self) -> None:
        self._inbox = self._nc.new_inbox()
        self._sub = await self._nc.subscribe(self._inbox, cb=self._on_message)
        self._last_heard = time.monotonic()
        self._pump = asyncio.create_task(self._run(), name="nats-pull")

    async def stop(self) -> None:
        """No new requests or messages. What arrived but is not yet in the sink is given back (nak) for
        redelivery: the sink may be full and waiting for the very caller that stops consuming."""
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(NatsError):  # a closed connection has no subscription left to drain
                await sub.drain()  # type: ignore[no-untyped-call]  # nats-py leaves drain() unannotated
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
            self._pump = None
        leftover, self._handing, self._received = self._handing + self._received, [], []
        for msg in leftover:
            with contextlib.suppress(NatsError):  # unacknowledged anyway: redelivered after ack_wait
                await msg.nak()

    async def _run(self) -> None:
        """Sleep until a message arrives (or a heartbeat interval passes), linger briefly for a fuller chunk,
        hand over. A lone message is handed over after `linger`, not after the next heartbeat."""
        while True:
            await self._top_up()
            try:
                await asyncio.wait_for(self._arrived.wait(), self._s.heartbeat)
            except TimeoutError:
                self._check_alive()
                continue
            self._arrived.clear()
            if len(self._received) < self._s.chunk:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._chunk_ready.wait(), self._s.linger)
            self._chunk_ready.clear()
            await self._hand_over()

    async def _on_message(self, msg: Msg) -> None:
        self._last_heard = time.monotonic()
        if not msg.reply:  # only JetStream data messages carry an ack subject; the rest are statuses
            self._on_status(msg.headers or {})
            return
        self._owed = max(self._owed - 1, 0)
        self._received.append(msg)
        if len(self._received) == 1:
            self._arrived.set()
        if len(self._received) >= self._s.chunk:
            self._chunk_ready.set()

    def _on_status(self, headers: dict[str, str]) -> None:
        status = headers.get("Status", "")
        if status == "100":  # idle heartbeat: the requests are alive
            return
        pending = headers.get("Nats-Pending-Messages")
        if status in ("408", "409") and pending is not None and pending.isdigit():
            self._owed = max(self._owed - int(pending), 0)
            return
        log.warning(
            "NATS pull request ended: %s %s; pulling again",
            status,
            headers.get("Description", ""),
            extra={"event": "pull_ended", "status": status, "reason": headers.get("Description", "")},
        )
        self._reset()

    def _check_alive(self) -> None:
        silent = time.monotonic() - self._last_heard
        if self._owed and silent > 2 * self._s.heartbeat:
            log.warning(
                "no word from NATS for %.0fs with %d messages requested; pulling again",
                silent,
                self._owed,
                extra={"event": "pull_silent", "seconds": silent, "count": self._owed},
            )
            self._reset()

    def _reset(self) -> None:
        self._owed = 0
        self._last_heard = time.monotonic()
        self._pause_until = time.monotonic() + self._s.pause_after_error

    async def _top_up(self) -> None:
        if self._sub is None or time.monotonic() < self._pause_until:
            return
        while self._owed <= (self._s.in_flight - 1) * self._s.batch:
            await self._nc.publish(self._subject, self._request, reply=self._inbox)
            self._owed += self._s.batch

    async def _hand_over(self) -> None:
        if self._received:
            self._handing, self._received = self._received, []
            await self._sink(self._handing)
            self._handing = []
