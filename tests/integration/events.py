"""Synthetic event streams for the ingest tests: good events, exact duplicates and bad messages."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field

BAD_MESSAGES: tuple[bytes, ...] = (
    b"\xff\xfe not utf-8",
    b'{"event_id": "truncated',
    b'{"event_type": "staffing.fired.v1"}',
    b'{"event_type": "staffing.hired.v9"}',
    json.dumps({"event_type": "staffing.hired.v1", "event_id": str(uuid.UUID(int=7)), "data": {}}).encode(),
    b'{"text": "\'; DROP TABLE events; --"}',
)


def hire(n: int, *, namespace: uuid.UUID) -> bytes:
    """A valid hire of worker n; the same n always gives the same bytes."""
    payload = {
        "event_id": str(uuid.uuid5(namespace, f"hire-{n}")),
        "event_type": "staffing.hired.v1",
        "occurred_at": "2024-03-01T09:00:00+08:00",
        "emitted_at": "2024-03-01T09:00:05+08:00",
        "source": "test-hr",
        "worker_id": f"W{n:07d}",
        "data": {
            "org_unit_id": f"U{n % 97:03d}",
            "hire_date": "2024-03-01",
            "source_channel": "graduate",
            "contract_type": "fixed_term",
            "gender": "female" if n % 2 else "male",
            "birth_year": 1990 + n % 15,
        },
    }
    return json.dumps(payload, ensure_ascii=False).encode()


@dataclass
class Stream:
    """What was sent and what ClickHouse must end up holding."""

    bodies: list[bytes] = field(default_factory=list)
    good_ids: set[str] = field(default_factory=set)
    bad: int = 0


def mixed_stream(total: int, *, duplicate_share: float, bad_share: float, seed: int = 7) -> Stream:
    """`total` messages: good hires, some repeated verbatim, some bad; shuffled deterministically."""
    rng = random.Random(seed)
    namespace = uuid.UUID(int=rng.getrandbits(128))
    out = Stream()
    n_bad = int(total * bad_share)
    n_dup = int(total * duplicate_share)
    goods = [hire(n, namespace=namespace) for n in range(total - n_bad - n_dup)]
    out.good_ids = {str(uuid.uuid5(namespace, f"hire-{n}")) for n in range(len(goods))}
    out.bodies = goods + [rng.choice(goods) for _ in range(n_dup)]
    out.bodies += [BAD_MESSAGES[i % len(BAD_MESSAGES)] for i in range(n_bad)]
    out.bad = n_bad
    rng.shuffle(out.bodies)
    return out
