"""Accumulate deliveries into batches by size or by age; bounded, so a slow store slows the consumer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from .deliveries import Delivery


class Buffer:
    """`put` waits while `capacity` deliveries are held; `take` returns a batch when `max_size` are held,
    when the oldest has waited `max_wait` seconds, or (possibly empty) once closed."""

    def __init__(
        self, *, max_size: int, max_wait: float, capacity: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_size = max_size
        self._max_wait = max_wait
        self._capacity = max(capacity, max_size)
        self._clock = clock
        self._items: list[Delivery] = []
        self._first_at: float | None = None
        self._changed = asyncio.Condition()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    async def put(self, deliveries: list[Delivery]) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._closed or len(self._items) < self._capacity)
            if not self._items:
                self._first_at = self._clock()
            self._items.extend(deliveries)
            self._changed.notify_all()

    async def take(self) -> list[Delivery]:
        async with self._changed:
            while not self._ready():
                timeout = None if self._first_at is None else max(0.0, self._first_at + self._max_wait - self._clock())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)
            batch, self._items = self._items[: self._max_size], self._items[self._max_size :]
            self._first_at = self._clock() if self._items else None
            self._changed.notify_all()
            return batch

    async def close(self) -> None:
        async with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _ready(self) -> bool:
        if self._closed or len(self._items) >= self._max_size:
            return True
        return self._first_at is not None and self._clock() - self._first_at >= self._max_wait
