"""File layout of a stack folder: one place that names every pid file, log and data directory."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_SHARD_PID = re.compile(r"^clickhouse(?:-(\d+))?\.pid$")


@dataclass(frozen=True)
class ShardPaths:
    """Data directory, pid file and log of one ClickHouse server (shard `number`, from 1)."""

    number: int
    dir: Path
    pid: Path
    log: Path


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

    def shard(self, number: int) -> ShardPaths:
        """Shard 1 is the one server of a stack without a cluster (`clickhouse/`, `clickhouse.pid`); shard k > 1
        lives in `clickhouse-k/`, `clickhouse-k.pid`, `clickhouse-k.log`."""
        if number == 1:
            return ShardPaths(1, self.clickhouse_dir, self.clickhouse_pid, self.clickhouse_log)
        name = f"clickhouse-{number}"
        return ShardPaths(number, self.root / name, self.root / f"{name}.pid", self.root / f"{name}.log")

    def shards_with_pid_files(self) -> list[int]:
        """The shard numbers that have a pid file, in order (a stack may have been started with more shards)."""
        found = (_SHARD_PID.match(path.name) for path in self.root.glob("clickhouse*.pid"))
        return sorted(int(match[1] or 1) for match in found if match)

    @property
    def nats_store(self) -> Path:
        return self.root / "nats"

    @property
    def nats_pid(self) -> Path:
        return self.root / "nats.pid"

    @property
    def nats_log(self) -> Path:
        return self.root / "nats.log"
