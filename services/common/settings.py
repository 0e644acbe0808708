"""Settings shared by the services: each service declares one settings class deriving from these."""

from __future__ import annotations

import ipaddress
import re
from typing import Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.logs import LogFormat

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class ServiceSettings(BaseSettings):
    """Connection settings every service needs, read from the environment (no prefix)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    clickhouse_url: str = Field("http://127.0.0.1:18123", description="ClickHouse HTTP endpoint")
    clickhouse_database: str = Field("workforce", description="database holding every table")
    clickhouse_user: str = Field("default", description="ClickHouse user")
    clickhouse_password: SecretStr = Field(
        SecretStr(""), description="ClickHouse password; empty only for the embedded local stack"
    )
    clickhouse_cluster: str = Field(
        "",
        description="cluster (remote_servers name) the event tables are sharded over by worker: `<t>_local` on every "
        "shard behind a Distributed `<t>`; inserts wait for every shard; empty: one server",
    )
    clickhouse_shard_urls: str = Field(
        "",
        description="HTTP endpoints of every shard of CLICKHOUSE_CLUSTER, comma-separated: migrations create the "
        "shard-local tables there (the local stack, whose servers cannot run ON CLUSTER); empty on a cluster: an "
        "operator applies deploy/clickhouse's cluster DDL",
    )
    broker_url: str = Field("nats://127.0.0.1:4222", description="nats://, amqp://, redis:// or kafka://")
    timezone: str = Field("Asia/Shanghai", description="the program's time zone for calendar dates")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_format: LogFormat = Field("json", description="json (one object per line) or text (key=value)")
    http_host: str = Field("127.0.0.1", description="address of the health/metrics HTTP server")

    @field_validator("clickhouse_database")
    @classmethod
    def _database_is_identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError("must be a plain identifier (letters, digits, underscore)")
        return value

    @field_validator("clickhouse_cluster")
    @classmethod
    def _cluster_is_identifier(cls, value: str) -> str:
        if value and not _IDENTIFIER.match(value):
            raise ValueError("must be empty or a plain identifier (letters, digits, underscore)")
        return value

    @field_validator("clickhouse_shard_urls")
    @classmethod
    def _shard_urls_are_http(cls, value: str) -> str:
        for url in split_urls(value):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s)://host:port endpoint: {url!r}")
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_in_lower_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @model_validator(mode="after")
    def _password_outside_loopback(self) -> Self:
        for url in (self.clickhouse_url, *self.shard_urls):
            if not self.clickhouse_password.get_secret_value() and not on_loopback(url):
                raise ValueError(
                    "CLICKHOUSE_PASSWORD is empty: allowed only for a ClickHouse on this machine's loopback "
                    f"(the local stack), not for {urlsplit(url).hostname!r}"
                )
        return self

    @model_validator(mode="after")
    def _shards_of_a_cluster(self) -> Self:
        if self.shard_urls and not self.clickhouse_cluster:
            raise ValueError("CLICKHOUSE_SHARD_URLS names the shards of a cluster: set CLICKHOUSE_CLUSTER too")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def shard_urls(self) -> tuple[str, ...]:
        return split_urls(self.clickhouse_shard_urls)


def split_urls(value: str) -> tuple[str, ...]:
    """`a, b,` → ("a", "b")."""
    return tuple(url.strip() for url in value.split(",") if url.strip())


def on_loopback(url: str) -> bool:
    """True when the URL's host is `localhost` or a loopback address (127.0.0.0/8, ::1)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
