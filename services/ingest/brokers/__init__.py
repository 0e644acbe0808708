"""Broker URL → adapter. The scheme chooses: nats://, amqp://, redis://, kafka://."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from ..errors import BrokerSetupError
from .base import BrokerAdapter, Channels

__all__ = ["BrokerAdapter", "Channels", "make_adapter"]


def make_adapter(url: str, channels: Channels, *, clock: Callable[[], datetime]) -> BrokerAdapter:
    """Build the adapter for `url`; the import is lazy so a deployment needs only its broker's client."""
    scheme = urlsplit(url).scheme
    if scheme in ("nats", "tls"):
        from .nats import NatsAdapter

        return NatsAdapter(url, channels, clock=clock)
    if scheme in ("amqp", "amqps"):
        from .rabbit import RabbitAdapter

        return RabbitAdapter(url, channels, clock=clock)
    if scheme in ("redis", "rediss"):
        from .redis import RedisAdapter

        return RedisAdapter(url, channels, clock=clock)
    if scheme == "kafka":
        from .kafka import KafkaAdapter

        return KafkaAdapter(url, channels, clock=clock)
    raise BrokerSetupError(f"BROKER_URL scheme {scheme!r} is not supported (use nats, amqp, redis or kafka)")
