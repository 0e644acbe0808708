"""Logging set-up shared by the services: one line per record, key=value pairs, UTC timestamps."""

from __future__ import annotations

import logging
import time


class _UtcFormatter(logging.Formatter):
    converter = staticmethod(time.gmtime)


def configure(level: str) -> None:
    """Configure the root logger once; FastStream's per-message access log is kept at WARNING."""
    handler = logging.StreamHandler()
    handler.setFormatter(_UtcFormatter("%(asctime)sZ %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("faststream").setLevel(logging.WARNING)
    logging.getLogger("faststream.access").setLevel(logging.WARNING)
