"""The warehouse rebuild pauses the cyclic collector while it builds the cells, then leaves what is alive (the rows
above all) out of the collector's later passes (``gc.freeze``); the collector is left running as it was found, also
after an error, and a caller that had paused it gets nothing frozen."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from services.metrics.engine.compute import no_cyclic_gc


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    gc.unfreeze()  # what a test froze goes back to the oldest generation
    (gc.enable if was else gc.disable)()


@pytest.mark.usefixtures("collector_on")
def test_paused_inside_then_what_is_alive_is_frozen() -> None:
    frozen = gc.get_freeze_count()
    with no_cyclic_gc(keep_frozen=True):
        assert not gc.isenabled()
        left = weakref.ref(Node())
        for _ in range(100_000):
            Node()  # cyclic garbage enough for many automatic passes: none runs
        assert left() is not None
        kept = [Node() for _ in range(1_000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(kept)


@pytest.mark.usefixtures("collector_on")
def test_an_error_inside_still_restarts_the_collector() -> None:
    with pytest.raises(RuntimeError), no_cyclic_gc(keep_frozen=True):
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_paused_collector_stays_paused_and_nothing_is_frozen() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        frozen = gc.get_freeze_count()
        with no_cyclic_gc(keep_frozen=True):
            kept = [Node() for _ in range(1_000)]
        assert not gc.isenabled()
        assert gc.get_freeze_count() == frozen and len(kept) == 1_000
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.usefixtures("collector_on")
def test_the_reference_engines_pause_leaves_nothing_frozen() -> None:
    frozen = gc.get_freeze_count()
    with no_cyclic_gc():
        assert not gc.isenabled()
        kept = [Node() for _ in range(1_000)]
    assert gc.isenabled() and gc.get_freeze_count() == frozen and len(kept) == 1_000


@pytest.mark.usefixtures("collector_on")
def test_leave_young_keeps_a_frozen_heap_frozen_and_freezes_nothing_more() -> None:
    """The service's refresh: the heap its first refresh froze must not be thawed into every later full pass."""
    heap = [Node() for _ in range(1_000)]
    gc.freeze()
    frozen = gc.get_freeze_count()
    with no_cyclic_gc(leave_young=True):
        assert not gc.isenabled()
        kept = [Node() for _ in range(1_000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen and len(heap) == len(kept)
