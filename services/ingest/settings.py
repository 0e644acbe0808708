"""IngestSettings: everything ingest reads from the environment. Only `app.py` and `cli.py` build it."""

from __future__ import annotations

import math
from collections import Counter
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator

from services.common.settings import ServiceSettings

_PLACEHOLDERS = ("changeme", "change-me", "secret", "placeholder", "xxxx", "default")
KEY_MIN_LENGTH = 32
KEY_MIN_BITS = 96.0
"""A key's estimated strength: its length times the Shannon entropy of its own character frequencies. A random
hex key of 32 characters scores ~118 bits, of 64 ~245; `a` × 32 or spaces score 0, `password` × 4 scores 88."""


def key_bits(key: str) -> float:
    """The estimated strength of `key` in bits (see KEY_MIN_BITS)."""
    counts, n = Counter(key), len(key)
    return -n * sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def key_problem(key: str) -> str | None:
    """Why `key` cannot be a pseudonymisation key, or None when it can."""
    if len(key) < KEY_MIN_LENGTH:
        return f"must be at least {KEY_MIN_LENGTH} characters (e.g. `openssl rand -hex 32`)"
    if any(word in key.lower() for word in _PLACEHOLDERS):
        return "looks like a placeholder; generate a random key (`openssl rand -hex 32`)"
    if key_bits(key) < KEY_MIN_BITS:
        return (
            f"is too predictable: about {key_bits(key):.0f} bits estimated, at least {KEY_MIN_BITS:.0f} needed "
            "(length × entropy of its characters); generate one with `openssl rand -hex 32`"
        )
    return None


class IngestSettings(ServiceSettings):
    """Environment variables (case-insensitive): PSEUDONYM_KEY is required and has no default."""

    pseudonym_key: SecretStr = Field(
        ...,
        description="HMAC-SHA256 key for worker ids: ≥ 32 characters, never logged; see docs/operations.md to rotate",
    )
    pseudonym_keys_previous: SecretStr = Field(
        SecretStr(""),
        description="earlier PSEUDONYM_KEYs, comma-separated: redeliveries of rows they made are duplicates",
    )
    ingest_subject: str = Field("workforce.>", description="NATS subject (wildcards) consumed")
    ingest_topic: str = Field("workforce.events", description="RabbitMQ queue / Redis stream / Kafka topic consumed")
    ingest_dead_letter: str = Field("workforce_dlq", description="dead-letter subject prefix / queue / stream / topic")
    ingest_stream: str = Field("WORKFORCE", description="JetStream stream name")
    ingest_consumer: str = Field("workforce-ingest", description="durable consumer / consumer group name")
    ingest_batch_size: int = Field(10_000, ge=1, le=200_000, description="flush after this many messages")
    ingest_batch_seconds: float = Field(1.0, gt=0, le=60, description="or after the oldest waited this long")
    ingest_fetch_size: int = Field(1_000, ge=1, le=50_000, description="messages per broker fetch")
    ingest_reject_max_share: float = Field(0.5, gt=0, le=1, description="stop when rejects pass this share")
    ingest_reject_window: int = Field(10_000, ge=100, description="…of this many recent messages")
    ingest_reject_min: int = Field(100, ge=1, description="…and at least this many rejects")
    ingest_http_port: int = Field(8081, ge=0, le=65535, description="port of /health, /ready, /metrics")
    ingest_reject_ttl_days: int = Field(
        90,
        ge=1,
        le=3650,
        description="days ClickHouse keeps a reject row (TTL on stored_at) and the dead-letter destination a letter",
    )

    @field_validator("pseudonym_key")
    @classmethod
    def _real_key(cls, value: SecretStr) -> SecretStr:
        problem = key_problem(value.get_secret_value())
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("pseudonym_keys_previous")
    @classmethod
    def _real_previous_keys(cls, value: SecretStr) -> SecretStr:
        keys = split_keys(value.get_secret_value())
        for number, key in enumerate(keys, 1):
            problem = key_problem(key)
            if problem is not None:
                raise ValueError(f"key {number} of {len(keys)} {problem}")  # names the key by position, never by value
        if len(set(keys)) != len(keys):
            raise ValueError("names one key twice")
        return value

    @model_validator(mode="after")
    def _previous_not_current(self) -> Self:
        if self.pseudonym_key.get_secret_value() in self.previous_keys:
            raise ValueError("PSEUDONYM_KEYS_PREVIOUS holds the current PSEUDONYM_KEY")
        return self

    @property
    def previous_keys(self) -> tuple[str, ...]:
        return split_keys(self.pseudonym_keys_previous.get_secret_value())


def split_keys(text: str) -> tuple[str, ...]:
    """The keys of a comma-separated list, without surrounding spaces or empty entries."""
    return tuple(key.strip() for key in text.split(",") if key.strip())
