"""MetricsSettings: everything the metrics service reads from the environment. Only app/cli build it."""

from __future__ import annotations

from datetime import date
from typing import Literal, get_args

from pydantic import Field, field_validator

from schemas.org import UnitLevel
from services.common.settings import ServiceSettings

LEVELS = frozenset(get_args(UnitLevel))


class MetricsSettings(ServiceSettings):
    """Environment variables (case-insensitive)."""

    metrics_http_port: int = Field(8082, ge=0, le=65535, description="port of the API, /health, /ready, /metrics")
    metrics_health_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="a port of its own for /health and /ready, answered by a thread that never waits for the API's "
        "busy event loop (Kubernetes' probes ask it; deploy/k8s sets 8083); 0: none, the probes ask the API port",
    )
    metrics_k: int = Field(5, ge=1, le=100, description="suppress cells with fewer workers than this")
    metrics_as_of: date | None = Field(None, description="compute as of this date (default: today in TIMEZONE)")
    metrics_refresh_seconds: float = Field(2.0, gt=0, le=3600, description="how often to look for new events")
    metrics_api_concurrency: int = Field(
        8,
        ge=1,
        le=64,
        description="ClickHouse queries the read API runs at once (its own threads and connections, apart from the "
        "refresh's); more requests wait for a free one, /health never does",
    )
    metrics_api_cache_mb: int = Field(
        64, ge=0, le=4096, description="memory for answers kept until the next refresh (0: keep none)"
    )
    metrics_api_snapshot_mb: int = Field(
        256,
        ge=0,
        le=65536,
        description="memory for a copy of the published indicators the read API answers pages from, read again "
        "after each publish once the table has settled (44 bytes a cell: 129 MiB at demo scale); a larger table is "
        "not held and every page asks ClickHouse (0: never held)",
    )
    metrics_audit: bool = Field(
        False,
        description="run the disclosure audit on every publish (METRICS.md, Suppression); a table it cannot protect "
        "is not published, and every refresh recomputes every year. Off (the default until the audit is fast enough "
        "for a whole program's history: docs/contract.md, 'Audit'): the suppression rules alone, and refreshes "
        "recompute only the years a batch touches",
    )
    metrics_engine: Literal["reference", "warehouse"] = Field(
        "reference",
        description="what computes the cells: `reference`, the whole corrected log in this process; `warehouse` "
        "(issue 13, `rebuild` and `run`), the log read worker by worker and aggregated in ClickHouse one year at a "
        "time (the same cells, no process holding the log; on a cluster, the facts sharded by worker)",
    )
    metrics_load_processes: int = Field(
        1,
        ge=1,
        le=64,
        description="processes that read and replay the stored log on the warehouse path (its full loads: a rebuild, "
        "a service's first refresh), each over a part of the workers split by a hash of the worker key, at the same "
        "time, each holding one batch of workers (~250 MB). 1: the service's own process alone; more where the "
        "service has cores ClickHouse does not use (on a machine of 2 cores shared with ClickHouse, 2 were no faster)",
    )
    metrics_org_levels: str = Field(
        "district,street",
        description="comma-separated org levels that get `org` slices (district, street, second_tier); workers "
        "still count in the published units above them. Second-tier unions hold one or two workers each, so with "
        "k = 5 every one of their cells would be suppressed; add second_tier to publish them",
    )

    @field_validator("metrics_org_levels")
    @classmethod
    def _known_levels(cls, value: str) -> str:
        levels = [part.strip() for part in value.split(",") if part.strip()]
        unknown = set(levels) - LEVELS
        if not levels or unknown:
            raise ValueError(f"must name levels among {sorted(LEVELS)}, comma-separated; unknown: {sorted(unknown)}")
        return ",".join(levels)

    @property
    def org_levels(self) -> frozenset[str]:
        return frozenset(self.metrics_org_levels.split(","))
