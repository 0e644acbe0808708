"""The consumer loop: buffer → validate → store → dead-letter → acknowledge, two batches in flight.

Batch N+1 is validated (in a worker thread) while batch N is stored; batches are stored and settled one at
a time, in order, so each lookup of duplicates sees every earlier batch in the store. Order per batch, never
changed: store events and rejects in ClickHouse, publish dead letters, then acknowledge. A crash anywhere
before the ack means redelivery, which the pipeline absorbs as duplicates.

No message stops the loop: a dead letter that does not fit the broker goes by reference (its row says so), one the
broker refuses as too large is sent again by reference, and a reference it refuses is not sent (row: "none").
A broker that takes no dead letter at all (BrokerUnavailable) is retried with backoff (jittered: services.common.retry)
and nothing is acknowledged meanwhile; a retried publish may repeat letters already sent.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from services.common.errors import StoreRejected, StoreUnavailable
from services.common.retry import DEFAULT_BACKOFF, Backoff

from .brokers.base import BrokerAdapter, letter, letter_size
from .buffer import Buffer
from .deliveries import Delivery
from .errors import BrokerUnavailable
from .guard import RejectGuard
from .pipeline import Outcome, Pipeline, Prepared
from .telemetry import IngestMetrics
from .writer import RejectRecord

__all__ = ["Backoff", "Consumer"]

log = logging.getLogger("workforce.ingest")
T = TypeVar("T")


class Consumer:
    """Runs one adapter's deliveries through the pipeline until stopped."""

    def __init__(
        self,
        adapter: BrokerAdapter,
        pipeline: Pipeline,
        buffer: Buffer,
        guard: RejectGuard,
        metrics: IngestMetrics,
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        self.adapter = adapter
        self._pipeline = pipeline
        self._buffer = buffer
        self._guard = guard
        self._metrics = metrics
        self._backoff = backoff
        self._stopping = asyncio.Event()
        self.store_ready = True
        self.stopped_because: str | None = None

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    async def accept(self, deliveries: list[Delivery]) -> None:
        """The adapter's sink: waits while the buffer is full (backpressure)."""
        self._metrics.consumed.inc(len(deliveries))
        await self._buffer.put(deliveries)
        self._metrics.buffered.set(len(self._buffer))

    async def run(self) -> None:
        """Flush batches until the buffer is closed and drained."""
        storing: asyncio.Task[None] | None = None
        while True:
            batch = await self._next_batch(storing)
            self._metrics.buffered.set(len(self._buffer))
            if not batch:
                if self._buffer.closed:
                    break
                continue
            prepared = await asyncio.to_thread(self._pipeline.validate, batch)
            if storing is not None:
                await storing
            storing = asyncio.create_task(self._settle(batch, prepared))
        if storing is not None:
            await storing

    async def _next_batch(self, storing: asyncio.Task[None] | None) -> list[Delivery]:
        """The buffer's next batch; raises as soon as the batch being stored fails."""
        if storing is None or storing.done():
            if storing is not None:
                storing.result()
            return await self._buffer.take()
        taking = asyncio.create_task(self._buffer.take())
        await asyncio.wait({taking, storing}, return_when=asyncio.FIRST_COMPLETED)
        if storing.done() and storing.exception() is not None:
            taking.cancel()  # a batch already taken stays unacknowledged: the broker redelivers it
            storing.result()
        return await taking

    async def _settle(self, batch: list[Delivery], prepared: Prepared) -> None:
        if self.stopped_because is not None:
            await self.adapter.nack(batch)  # consumption stopped: what was buffered goes back untouched
            return
        await self._flush(batch, prepared)

    async def stop(self) -> None:
        """Graceful stop: no new messages, then everything buffered is flushed and acknowledged."""
        self._stopping.set()
        await self.adapter.stop_consuming()
        self._metrics.consuming.set(0)
        await self._buffer.close()

    async def _flush(self, batch: list[Delivery], prepared: Prepared) -> None:
        started = time.perf_counter()
        outcome = await self._store_with_retry(batch, prepared)
        if outcome is None:
            await self.adapter.nack(batch)
            return
        rejects = outcome.rejected
        if rejects and self._guard.would_exceed(len(batch), len(rejects)):
            await self._trip(batch, outcome)
            return
        self._guard.record(len(batch), len(rejects))
        if rejects and not await self._refuse(rejects):
            await self.adapter.nack(batch)  # stopping with the store or the broker away: redelivered, absorbed
            return
        await self.adapter.ack(batch)
        self._observe(batch, outcome, time.perf_counter() - started)

    async def _refuse(self, rejects: list[RejectRecord]) -> bool:
        """Record the rejects in ClickHouse, then dead-letter them; False if stopping before both are done."""
        limit = await self._broker_retry(self.adapter.dead_letter_limit)
        if limit is None:
            return False
        pending = [
            r if r.dead_letter != "original" or letter_size(*letter(r)) <= limit else r.by_reference() for r in rejects
        ]
        if not await self._write_rejects(pending):
            return False
        pending = [r for r in pending if r.dead_letter != "none"]
        while pending:
            too_large = await self._broker_retry(functools.partial(self.adapter.dead_letter, pending))
            if too_large is None:
                return False
            if not too_large:
                break
            log.warning(
                "the broker refused %d dead letters as too large; sending them by reference",
                len(too_large),
                extra={"event": "dead_letters_too_large", "count": len(too_large)},
            )
            pending = [
                r.by_reference() if r.dead_letter == "original" else replace(r, dead_letter="none") for r in too_large
            ]
            if not await self._write_rejects(pending):
                return False
            pending = [r for r in pending if r.dead_letter != "none"]
        log.info(
            "%d messages rejected and dead-lettered",
            len(rejects),
            extra={
                "event": "dead_lettered",
                "count": len(rejects),
                "counts": dict(Counter(r.reject.code for r in rejects)),
            },
        )
        return True

    async def _write_rejects(self, records: list[RejectRecord]) -> bool:
        def write() -> bool:
            self._pipeline.write_rejects(records)
            return True

        return await self._with_retry(write, len(records)) is not None

    async def _broker_retry(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """Await a dead-letter call until the broker takes it; None if stopping while it does not."""
        delays = self._backoff.delays()
        while True:
            try:
                return await call()
            except BrokerUnavailable as exc:
                if self._stopping.is_set():
                    log.error(
                        "broker refuses dead letters while stopping; the batch is left for redelivery: %s",
                        exc,
                        extra={"event": "dead_letter_abandoned", "reason": str(exc)},
                    )
                    return None
                delay = next(delays)
                log.warning(
                    "broker refuses dead letters, retrying in %.1fs: %s",
                    delay,
                    exc,
                    extra={"event": "dead_letter_retry", "seconds": delay, "reason": str(exc)},
                )
                await asyncio.sleep(delay)

    async def _store_with_retry(self, batch: Sequence[Delivery], prepared: Prepared) -> Outcome | None:
        return await self._with_retry(lambda: self._pipeline.commit(batch, prepared, write_rejects=False), len(batch))

    async def _with_retry(self, call: Callable[[], T], size: int = 0) -> T | None:
        """Run a store call in a worker thread until it succeeds; None if the store is away while stopping."""
        delays = self._backoff.delays()
        while True:
            try:
                outcome = await asyncio.to_thread(call)
            except StoreUnavailable as exc:
                self._metrics.insert_errors.labels("unavailable").inc()
                self._set_store_ready(False)
                if self._stopping.is_set():
                    log.error(
                        "ClickHouse unavailable while stopping; %d messages left for redelivery",
                        size,
                        extra={"event": "store_abandoned", "count": size},
                    )
                    return None
                delay = next(delays)
                log.warning(
                    "ClickHouse unavailable, retrying in %.1fs: %s",
                    delay,
                    exc,
                    extra={"event": "store_retry", "seconds": delay, "reason": str(exc)},
                )
                await asyncio.sleep(delay)
                continue
            except StoreRejected:
                self._metrics.insert_errors.labels("rejected").inc()
                raise
            self._set_store_ready(True)
            return outcome

    async def _trip(self, batch: list[Delivery], outcome: Outcome) -> None:
        reason = self._guard.explain(len(batch), len(outcome.rejected))
        log.error("reject limit reached: %s", reason, extra={"event": "reject_limit_reached", "reason": reason})
        self.stopped_because = reason
        bad = {id(record.delivery) for record in outcome.rejected}
        await self.adapter.ack(outcome.settled)
        await self.adapter.nack([d for d in batch if id(d) in bad])
        await self.adapter.stop_consuming()
        self._metrics.consuming.set(0)

    def _set_store_ready(self, ready: bool) -> None:
        self.store_ready = ready
        self._metrics.store_ready.set(1 if ready else 0)

    def _observe(self, batch: list[Delivery], outcome: Outcome, seconds: float) -> None:
        m = self._metrics
        m.batch_size.observe(len(batch))
        m.insert_seconds.observe(seconds)
        m.duplicates.inc(len(outcome.duplicates))
        for event_type, count in Counter(row.event_type for row in outcome.stored).items():
            m.stored.labels(event_type).inc(count)
        for reason, count in Counter(r.reject.code for r in outcome.rejected).items():
            m.rejected.labels(reason).inc(count)
        if outcome.stored:
            m.last_stored.set(time.time())
        log.debug(
            "batch stored=%d duplicates=%d rejected=%d in %.3fs",
            len(outcome.stored),
            len(outcome.duplicates),
            len(outcome.rejected),
            seconds,
            extra={
                "event": "batch_stored",
                "batch": len(batch),
                "seconds": seconds,
                "counts": {
                    "stored": len(outcome.stored),
                    "duplicates": len(outcome.duplicates),
                    "rejected": len(outcome.rejected),
                },
            },
        )
