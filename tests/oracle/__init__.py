"""Independent, deliberately naive reference implementation of the indicator catalog (METRICS.md)."""

from .compute import oracle_compute

__all__ = ["oracle_compute"]
