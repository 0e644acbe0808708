"""MetricsSettings: everything the metrics service reads from the environment. Only app/cli build it."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from services.common.settings import ServiceSettings


class MetricsSettings(ServiceSettings):
    """Environment variables (case-insensitive)."""

    metrics_http_port: int = Field(8082, ge=0, le=65535, description="port of the API, /health, /ready, /metrics")
    metrics_k: int = Field(5, ge=1, le=100, description="suppress cells with fewer workers than this")
    metrics_as_of: date | None = Field(None, description="compute as of this date (default: today in TIMEZONE)")
    metrics_refresh_seconds: float = Field(2.0, gt=0, le=3600, description="how often to look for new events")
