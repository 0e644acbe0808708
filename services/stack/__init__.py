"""Local ClickHouse (chdb-core) and NATS JetStream servers for the demo, tests and benchmarks."""

from services.stack.api import Origin, ServerStatus, StackUrls, down, ensure_up, status
from services.stack.errors import ExternalServerError, PortTakenError, ServerStartError, StackError
from services.stack.settings import StackSettings

__all__ = [
    "ExternalServerError",
    "Origin",
    "PortTakenError",
    "ServerStartError",
    "ServerStatus",
    "StackError",
    "StackSettings",
    "StackUrls",
    "down",
    "ensure_up",
    "status",
]
