"""The simulator's program as the metrics engine reads it back from ClickHouse: every envelope validated as ingest
validates it, worker ids pseudonymised with ``key``. For the disclosure bench and the attacker tests, which compute
on the events directly, without a broker or a store."""

from __future__ import annotations

import json
from datetime import datetime

from schemas import parse_event
from services.ingest.pseudonymise import Pseudonymiser
from services.metrics.engine import EventRecord
from services.sim import SimConfig, generate


def simulated_records(config: SimConfig, key: bytes, now: datetime) -> list[EventRecord]:
    """The events of ``config`` as stored records; ``now`` is the validation clock (no event may lie after it)."""
    pseudonymise = Pseudonymiser(key)
    out = []
    for envelope in generate(config):
        event = parse_event(json.dumps(envelope, ensure_ascii=False), now=now)
        worker = pseudonymise(getattr(event, "worker_id", None))
        data = event.data.model_dump(mode="json")
        out.append(
            EventRecord(str(event.event_id), event.event_type, event.occurred_at, event.emitted_at, worker, data)
        )
    return out
