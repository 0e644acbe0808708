"""History from JSON Lines files through the same validation, dedup and storage path as live events."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .deliveries import Delivery
from .pipeline import Pipeline


@dataclass
class BackfillSummary:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0

    def line(self) -> str:
        return f"stored={self.stored} duplicates={self.duplicates} rejected={self.rejected}"


def read_lines(paths: Iterable[Path], clock: Callable[[], datetime]) -> Iterator[Delivery]:
    """One delivery per non-empty line; the subject names the file and line for the rejects table."""
    for path in paths:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                body = line.rstrip(b"\r\n")
                if body.strip():
                    yield Delivery(body, None, f"file:{path.name}", clock(), str(number))


def backfill(
    deliveries: Iterable[Delivery],
    pipeline: Pipeline,
    *,
    batch_size: int,
    progress: Callable[[int], None] = lambda _: None,
) -> BackfillSummary:
    """Store in batches of `batch_size`; rejects go to `ingest_rejects`. Re-running stores nothing twice."""
    summary = BackfillSummary()
    batch: list[Delivery] = []
    for delivery in deliveries:
        batch.append(delivery)
        if len(batch) >= batch_size:
            _flush(batch, pipeline, summary, progress)
            batch = []
    if batch:
        _flush(batch, pipeline, summary, progress)
    return summary


def _flush(
    batch: list[Delivery], pipeline: Pipeline, summary: BackfillSummary, progress: Callable[[int], None]
) -> None:
    outcome = pipeline.store(batch)
    summary.stored += len(outcome.stored)
    summary.duplicates += len(outcome.duplicates)
    summary.rejected += len(outcome.rejected)
    progress(len(batch))
