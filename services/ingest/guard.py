"""A cap on dead-lettering (after arroyo's DlqLimit): a bad deploy upstream must not empty the stream
into the dead-letter destination. Pure: feed it counts, ask it whether to stop."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RejectLimit:
    """Stop when more than `max_share` of the last `window` messages were rejected (and at least `min_rejects`)."""

    max_share: float = 0.5
    window: int = 10_000
    min_rejects: int = 100


class RejectGuard:
    """Sliding window over recent batches of (messages, rejects)."""

    def __init__(self, limit: RejectLimit) -> None:
        self._limit = limit
        self._batches: deque[tuple[int, int]] = deque()
        self._messages = 0
        self._rejects = 0

    def would_exceed(self, messages: int, rejects: int) -> bool:
        """Whether accepting this batch's rejects would pass the limit."""
        total_messages = self._messages + messages
        total_rejects = self._rejects + rejects
        return total_rejects >= self._limit.min_rejects and total_rejects > self._limit.max_share * total_messages

    def record(self, messages: int, rejects: int) -> None:
        self._batches.append((messages, rejects))
        self._messages += messages
        self._rejects += rejects
        while self._batches and self._messages - self._batches[0][0] >= self._limit.window:
            old_messages, old_rejects = self._batches.popleft()
            self._messages -= old_messages
            self._rejects -= old_rejects

    def explain(self, messages: int, rejects: int) -> str:
        total = self._messages + messages
        bad = self._rejects + rejects
        return (
            f"{bad} of the last {total} messages were rejected (limit {self._limit.max_share:.0%}); "
            "consumption stopped: fix the producer, then restart ingest (bad messages stay in the broker)"
        )
