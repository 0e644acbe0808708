"""Errors of the local stack.

StackError                  anything `up`, `down` or `status` cannot do; the message says what to do
 ├── PortTakenError         a port is held by something that is not this stack's server
 ├── ServerStartError       a server we started died or did not answer in time (carries the log tail)
 └── ExternalServerError    a server given by URL does not answer
"""

from __future__ import annotations


class StackError(Exception):
    """Base class of the stack's errors."""


class PortTakenError(StackError):
    """A port the stack needs is held by a process the stack did not start."""

    def __init__(self, service: str, port: int) -> None:
        super().__init__(
            f"{service}: port {port} on 127.0.0.1 is taken by a process this stack did not start; "
            f"stop it or choose another port (see STACK_* settings)"
        )
        self.service = service
        self.port = port


class ServerStartError(StackError):
    """A server the stack started exited, or did not answer before the deadline."""

    def __init__(self, service: str, reason: str, log_tail: str) -> None:
        super().__init__(f"{service}: {reason}\n--- last lines of the log ---\n{log_tail}")
        self.service = service
        self.log_tail = log_tail


class ExternalServerError(StackError):
    """A server named by URL in the settings does not answer."""
