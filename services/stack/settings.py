"""Settings of the local stack, the only place in ``services.stack`` that reads the environment.

Every field can be set with an environment variable prefixed ``STACK_``:
``STACK_DIR``, ``STACK_CLICKHOUSE_HTTP_PORT``, ``STACK_CLICKHOUSE_TCP_PORT``, ``STACK_NATS_PORT``,
``STACK_CLICKHOUSE_URL``, ``STACK_NATS_URL``, ``STACK_START_TIMEOUT_S``, ``STACK_STOP_TIMEOUT_S``,
``STACK_SHARDS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK = "127.0.0.1"
CLUSTER = "workforce"
"""The cluster (remote_servers) the ClickHouse servers of a stack with several shards form."""


def default_stack_dir() -> Path:
    """``<repo>/.stack``: pid files, logs and server data of the stack started from this checkout."""
    return Path(__file__).resolve().parents[2] / ".stack"


class StackSettings(BaseSettings):
    """Where the local servers keep their state and which loopback ports they use."""

    model_config = SettingsConfigDict(env_prefix="STACK_", env_file=None, extra="ignore", frozen=True)

    dir: Path = Field(default_factory=default_stack_dir, description="pid files, logs, server data")
    clickhouse_http_port: int = Field(18123, ge=1, le=65535, description="ClickHouse HTTP port")
    clickhouse_tcp_port: int = Field(19000, ge=1, le=65535, description="ClickHouse native port")
    nats_port: int = Field(4222, ge=1, le=65535, description="NATS client port, used if free")
    clickhouse_url: str | None = Field(None, description="use this ClickHouse instead of starting one")
    nats_url: str | None = Field(None, description="use this NATS server instead of starting one")
    start_timeout_s: float = Field(60.0, gt=0, description="how long `up` waits for a server to answer")
    stop_timeout_s: float = Field(10.0, gt=0, description="how long `down` waits before SIGKILL")
    shards: int = Field(
        1,
        ge=1,
        le=8,
        description=f"ClickHouse servers to start, one shard each of the cluster `{CLUSTER}` when more than one; "
        "shard k listens on the HTTP and native ports + k - 1",
    )

    @model_validator(mode="after")
    def _shard_ports_in_range(self) -> Self:
        if max(self.shard_ports(self.shards)) > 65535:
            raise ValueError(f"{self.shards} shards need ports up to {max(self.shard_ports(self.shards))}")
        return self

    @property
    def root(self) -> Path:
        """The stack folder as an absolute path (the ClickHouse child changes its working directory)."""
        return self.dir.expanduser().resolve()

    def shard_ports(self, number: int) -> tuple[int, int]:
        """(HTTP, native) ports of shard `number` (from 1)."""
        return self.clickhouse_http_port + number - 1, self.clickhouse_tcp_port + number - 1
