"""Pseudonymise upstream worker ids: HMAC-SHA256 under a secret key, hex encoded. Never log the key.

Each key has a public `key_id` (stored with every row it made): the first 8 hex digits of HMAC(key, KEY_ID_LABEL),
which names the key without saying anything about it. See docs/operations.md, "Rotating the pseudonym key".
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

KEY_ID_LABEL: Final = b"workforce-metrics pseudonym key id"


def key_id(key: bytes) -> str:
    """The public name of `key`: 8 hex digits, the same for the same key."""
    return hmac.new(key, KEY_ID_LABEL, hashlib.sha256).hexdigest()[:8]


class Pseudonymiser:
    """Maps a clear `worker_id` to a stable key; the same id and key always give the same key."""

    __slots__ = ("_cache", "_key", "key_id")

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the pseudonymisation key must be at least 32 bytes")
        self._key = key
        self._cache: dict[str, str] = {}
        self.key_id = key_id(key)

    def __call__(self, worker_id: str | None) -> str:
        if not worker_id:
            return ""
        found = self._cache.get(worker_id)
        if found is None:
            found = hmac.new(self._key, worker_id.encode("utf-8"), hashlib.sha256).hexdigest()
            if len(self._cache) < 1_000_000:
                self._cache[worker_id] = found
        return found

    def __repr__(self) -> str:
        return f"Pseudonymiser(key=<hidden>, key_id={self.key_id})"
