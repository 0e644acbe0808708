"""Key rotation: re-keying stored worker keys from previous keys to the current one
(`events.key_id`, added to an older table by migration services/ingest/sql/003_events_key_id.sql).

Ingest never stores a clear worker id, so a stored pseudonym cannot be re-keyed from the store alone: `plan` takes
the clear ids from the operator (every worker id upstream has sent, e.g. from the HR system or the history files)
and maps each id's pseudonym under every previous key to its pseudonym under the current key. `rekey` applies the
map with `ALTER TABLE events UPDATE` (deterministic, chunked, waited for), setting `key_id` on the rows it changes;
run again it changes nothing. `content_hash` is left as first computed: ingest checks a redelivery against it under
the current and every previous key (`pipeline.Pipeline`), which is why a previous key stays configured for as long
as events stored under it may be sent again. The procedure is in docs/operations.md, "Rotating the pseudonym key".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from services.common.clickhouse import ClickHouse

from .pseudonymise import Pseudonymiser

CHUNK: Final = 1_000
"""Pairs per mutation: 1,000 pairs of 64-hex keys are ~135 kB of SQL, under max_query_size (256 kB)."""
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_UPDATE: Final = (
    "ALTER TABLE events UPDATE worker_key = transform(worker_key, %(old)s, %(new)s, worker_key), key_id = %(key_id)s "
    "WHERE has(%(old)s, worker_key) SETTINGS mutations_sync = 2"
)
_COUNT: Final = "SELECT count() FROM events WHERE has(%(old)s, worker_key)"
_LEFT: Final = (
    "SELECT key_id, uniqExact(worker_key), count() FROM events "
    "WHERE worker_key != '' AND key_id != %(key_id)s GROUP BY key_id ORDER BY key_id"
)


def read_worker_ids(lines: Iterable[str]) -> set[str]:
    """Clear worker ids, one a line, as ingest stores them: NFC, without surrounding white space."""
    return {unicodedata.normalize("NFC", line.strip()) for line in lines if line.strip()}


def plan(worker_ids: Iterable[str], current: Pseudonymiser, previous: Sequence[Pseudonymiser]) -> dict[str, str]:
    """Pseudonym under a previous key → pseudonym under the current key, for every id and previous key."""
    return {old(worker_id): current(worker_id) for old in previous for worker_id in worker_ids}


def chunks(mapping: dict[str, str], size: int = CHUNK) -> Iterator[tuple[list[str], list[str]]]:
    """(old keys, new keys) in chunks of `size`, in a stable order; anything but 64 hex digits is refused."""
    pairs = sorted(mapping.items())
    for old, new in pairs:
        if not (_HEX64.fullmatch(old) and _HEX64.fullmatch(new)):
            raise ValueError("worker keys must be 64 lower-case hex digits")
    for start in range(0, len(pairs), size):
        part = pairs[start : start + size]
        yield [old for old, _ in part], [new for _, new in part]


@dataclass(frozen=True, slots=True)
class Rekeyed:
    """What `rekey` did: rows rewritten, and (key id, workers, rows) still under another key than the current."""

    key_id: str
    rows: int
    left: tuple[tuple[str, int, int], ...]

    def lines(self) -> list[str]:
        out = [f"re-keyed {self.rows} rows to key {self.key_id}"]
        for key_id, workers, rows in self.left:
            out.append(
                f"still under key {key_id or '(unrecorded)'}: {workers} workers, {rows} rows "
                "(their ids were not in the list; see docs/operations.md)"
            )
        if not self.left:
            out.append("still under an earlier key: 0 workers, 0 rows")
        return out


def rekey(store: ClickHouse, mapping: dict[str, str], key_id: str, *, size: int = CHUNK) -> Rekeyed:
    """Rewrite stored worker keys per `mapping` and set their `key_id`. Safe to interrupt and to run again."""
    rows = 0
    for old, new in chunks(mapping, size):
        found = int(store.query_rows(_COUNT, {"old": old})[0][0])
        if found:
            store.command(_UPDATE, {"old": old, "new": new, "key_id": key_id})
            rows += found
    left = tuple((str(k), int(w), int(r)) for k, w, r in store.query_rows(_LEFT, {"key_id": key_id}))
    return Rekeyed(key_id, rows, left)
