"""File layout of a stack folder: one place that names every pid file, log and data directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackPaths:
    """Paths under one stack folder (absolute)."""

    root: Path

    @property
    def lock(self) -> Path:
        return self.root / "stack.lock"

    @property
    def clickhouse_dir(self) -> Path:
        return self.root / "clickhouse"

    @property
    def clickhouse_pid(self) -> Path:
        return self.root / "clickhouse.pid"

    @property
    def clickhouse_log(self) -> Path:
        return self.root / "clickhouse.log"

    @property
    def nats_store(self) -> Path:
        return self.root / "nats"

    @property
    def nats_pid(self) -> Path:
        return self.root / "nats.pid"

    @property
    def nats_log(self) -> Path:
        return self.root / "nats.log"
