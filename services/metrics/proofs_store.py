"""The last passed audit's proofs beside the table they proved (``audit_proofs``, migration 003).

A running service hands each audit's points to the next in memory (``Refresher``); stored, they also reach the first
audit after a restart, which then costs what a refresh's does instead of solving every hidden cell again. They are an
aid, not a fact: the next audit checks every point against its own relations and truth, so a missing, old or
unreadable row costs time, never a wrong table.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from services.common.clickhouse import ClickHouse

from .engine.audit import Proofs
from .engine.proofs_codec import decode, encode

COLUMNS = ("id", "written_at", "as_of", "points", "figures", "body")


@dataclass(frozen=True, slots=True)
class StoredProofs:
    """The proofs read back, with when they were written and the as-of date of the table they proved."""

    proofs: Proofs
    written_at: datetime
    as_of: date


class ProofStore:
    """Owns ``audit_proofs``: one row, the proofs of the last audited publish."""

    def __init__(self, store: ClickHouse) -> None:
        self._store = store

    def save(self, proofs: Proofs, as_of: date, at: datetime) -> int:
        """Keep ``proofs`` (of the table as of ``as_of``, published ``at``) in place of any older; returns the bytes
        stored. The new row is in before the old ones go, so a failure leaves some proofs, never none."""
        body = base64.b64encode(encode(proofs)).decode("ascii")
        row = (uuid.uuid4().hex, at, as_of, len(proofs.moves), proofs.entries, body)
        self._store.insert_rows("audit_proofs", [row], COLUMNS)
        self._store.command("DELETE FROM audit_proofs WHERE id != %(id)s", {"id": row[0]})
        return len(body)

    def load(self) -> StoredProofs | None:
        """The newest stored proofs (None: none stored); ``ValueError`` if they cannot be read."""
        rows = self._store.query_rows(
            "SELECT written_at, as_of, body FROM audit_proofs ORDER BY written_at DESC LIMIT 1"
        )
        if not rows:
            return None
        written_at, as_of, body = rows[0]
        return StoredProofs(decode(base64.b64decode(body, validate=True)), written_at, as_of)
