"""IngestSettings: everything ingest reads from the environment. Only `app.py` and `cli.py` build it."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from services.common.settings import ServiceSettings

_PLACEHOLDERS = ("changeme", "change-me", "secret", "placeholder", "xxxx", "default")


class IngestSettings(ServiceSettings):
    """Environment variables (case-insensitive): PSEUDONYM_KEY is required and has no default."""

    pseudonym_key: SecretStr = Field(
        ...,
        description="HMAC-SHA256 key for worker ids: ≥ 32 characters, never logged; rotating it re-keys workers",
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

    @field_validator("pseudonym_key")
    @classmethod
    def _real_key(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value()
        if len(key) < 32:
            raise ValueError("must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        if any(word in key.lower() for word in _PLACEHOLDERS):
            raise ValueError("looks like a placeholder; generate a random key")
        return value
