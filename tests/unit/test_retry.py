"""Retry delays with full jitter (issue 14), and the ingest loops that wait them."""

from __future__ import annotations

import asyncio
import random
from itertools import islice
from statistics import mean
from typing import cast

from services.common.clickhouse import ConnectClickHouse
from services.common.errors import StoreUnavailable
from services.common.retry import Backoff
from services.ingest import app
from services.ingest.settings import IngestSettings


def seeded(seed: int) -> Backoff:
    return Backoff(first=0.5, factor=2.0, ceiling=15.0, uniform=random.Random(seed).random)


def test_the_bounds_grow_by_the_factor_up_to_the_ceiling() -> None:
    assert list(islice(Backoff().bounds(), 8)) == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0]


def test_every_delay_stays_within_its_bound() -> None:
    backoff = seeded(1)
    for delay, bound in zip(islice(backoff.delays(), 200), backoff.bounds(), strict=False):
        assert 0.0 <= delay < bound <= backoff.ceiling


def test_the_delays_grow_with_the_attempt() -> None:
    draws = [list(islice(seeded(seed).delays(), 6)) for seed in range(300)]
    means = [mean(run[attempt] for run in draws) for attempt in range(6)]
    assert means == sorted(means) and means[-1] > 10 * means[0]
    assert list(islice(Backoff(uniform=lambda: 0.5).delays(), 6)) == [0.25, 0.5, 1.0, 2.0, 4.0, 7.5]


def test_two_sources_give_two_schedules_and_one_seed_one_schedule() -> None:
    first, second = (list(islice(seeded(seed).delays(), 10)) for seed in (1, 2))
    assert all(a != b for a, b in zip(first, second, strict=True))
    assert list(islice(seeded(1).delays(), 10)) == first


def test_each_loop_starts_from_the_first_bound() -> None:
    backoff = Backoff(uniform=lambda: 0.99)
    used = list(islice(backoff.delays(), 5))
    assert next(backoff.delays()) == used[0] < used[-1]


async def test_ingest_waits_jittered_delays_until_clickhouse_answers() -> None:
    attempts: list[int] = []
    store = cast(ConnectClickHouse, object())

    def connect(_: IngestSettings) -> ConnectClickHouse:
        attempts.append(1)
        if len(attempts) < 4:
            raise StoreUnavailable("refused")
        return store

    draws = iter([0.0, 0.5, 0.25])
    backoff = Backoff(first=0.004, factor=2.0, ceiling=0.01, uniform=lambda: next(draws))
    settings = cast(IngestSettings, None)  # never read: `connect` is the test's own
    got = await app.connect_store_with_retry(settings, asyncio.Event(), backoff, connect)
    assert got is store and len(attempts) == 4


async def test_ingest_stops_retrying_when_told_to_stop() -> None:
    stop = asyncio.Event()

    def connect(_: IngestSettings) -> ConnectClickHouse:
        stop.set()
        raise StoreUnavailable("refused")

    settings = cast(IngestSettings, None)
    assert await app.connect_store_with_retry(settings, stop, Backoff(first=60.0, ceiling=60.0), connect) is None
