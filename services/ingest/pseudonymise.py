"""Pseudonymise upstream worker ids: HMAC-SHA256 under a secret key, hex encoded. Never log the key."""

from __future__ import annotations

import hashlib
import hmac


class Pseudonymiser:
    """Maps a clear `worker_id` to a stable key; the same id and key always give the same key."""

    __slots__ = ("_cache", "_key")

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the pseudonymisation key must be at least 32 bytes")
        self._key = key
        self._cache: dict[str, str] = {}

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
        return "Pseudonymiser(key=<hidden>)"
