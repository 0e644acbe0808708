"""The messages every measurement consumes: simulator events serialised once, all valid."""

from __future__ import annotations

import itertools
import json

from services.sim.generate import SimConfig, generate

EVENTS_PER_WORKER = 25  # the simulator yields about 30 per worker; ask for a few more workers than needed


def bodies(n: int, *, seed: int = 1) -> list[bytes]:
    """`n` JSON bodies of simulated events (every type, in emission order), deterministic for `seed`."""
    config = SimConfig(workers=max(1_000, n // EVENTS_PER_WORKER), seed=seed)
    events = itertools.islice(generate(config), n)
    out = [json.dumps(event, ensure_ascii=False).encode() for event in events]
    if len(out) < n:
        raise RuntimeError(f"the simulator yielded {len(out)} events, fewer than {n}")
    return out
