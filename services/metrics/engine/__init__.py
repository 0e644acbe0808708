"""Production indicator engine: a pure transform from corrected events to suppressed indicator rows.

``compute(events, as_of=..., k=..., reference_wages=...)`` is the entry point; the value types in ``model`` are
the contract shared with the oracle (docs/contract.md sections 3-4, ../shared/METRICS.md).
"""

from .compute import ComputeResult, compute
from .model import Anomaly, EventRecord, IndicatorRow, ReferenceWage

__all__ = ["Anomaly", "ComputeResult", "EventRecord", "IndicatorRow", "ReferenceWage", "compute"]
