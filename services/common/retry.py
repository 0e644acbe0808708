"""Retry delays with full jitter.

Two or more replicas that lose ClickHouse or the broker at the same moment would, with plain exponential
backoff, come back at the same moments too; drawing each delay at random below its exponential bound
("full jitter") spreads them out.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["DEFAULT_BACKOFF", "Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retry delays: the n-th is drawn uniformly from [0, min(ceiling, first * factor**n)) seconds.

    `uniform` is the random source (a float in [0, 1) per call); the default, the process-wide generator, is
    seeded differently in every process. Inject a seeded `random.Random(...).random` for repeatable delays."""

    first: float = 0.5
    factor: float = 2.0
    ceiling: float = 15.0
    uniform: Callable[[], float] = random.random

    def bounds(self) -> Iterator[float]:
        """The delays' upper bounds, without jitter: first, first * factor, ... up to ceiling, then ceiling."""
        bound = min(self.first, self.ceiling)
        while True:
            yield bound
            bound = min(bound * self.factor, self.ceiling)

    def delays(self) -> Iterator[float]:
        """The delays of one retry loop, endless: take one with `next` before each wait."""
        return (bound * self.uniform() for bound in self.bounds())


DEFAULT_BACKOFF = Backoff()
