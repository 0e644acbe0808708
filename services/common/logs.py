"""Logging set-up shared by the services: one line per record, UTC timestamps, JSON (default) or key=value text.

A record's structured fields come from ``extra=``: ``event`` (a short stable name such as ``batch_stored``) and
whatever applies (``event_type``, ``batch``, ``reason``, ``seconds``, ``counts``…). Every JSON line carries
``ts``, ``level``, ``logger``, ``event`` and ``message``; records without an ``event`` (third-party libraries)
get ``event: "log"``. Fields whose name looks secret are replaced by ``[redacted]``, and a URL's password is
masked wherever it appears, as defence in depth: secrets are SecretStr and should never reach a log at all.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

__all__ = [
    "REDACTED",
    "JsonFormatter",
    "LogFormat",
    "TextFormatter",
    "configure",
    "fields_of",
    "looks_secret",
    "scrub",
]

LogFormat = Literal["json", "text"]

REDACTED = "[redacted]"
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_SECRET_WORDS = frozenset({"password", "passwd", "pwd", "secret", "secrets", "token", "key", "keys", "dsn"})
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+@")


def looks_secret(name: str) -> bool:
    """True for names such as ``password``, ``pseudonym_key`` or ``api-token``; ``key_id`` names, never reveals."""
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]
    if words and words[-1] in {"id", "ids"}:
        return False
    return any(w in _SECRET_WORDS for w in words)


def scrub(text: str) -> str:
    """Mask the password of every ``scheme://user:password@`` in the text."""
    return _URL_PASSWORD.sub(r"\g<head>***@", text)


def _clean(value: object) -> object:
    if isinstance(value, Mapping):
        return {str(k): REDACTED if looks_secret(str(k)) else _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # NaN and inf are not JSON
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(repr(value))


def fields_of(record: logging.LogRecord) -> dict[str, object]:
    """The record's ``extra=`` fields, secret-looking names redacted, values made JSON-safe (repr otherwise)."""
    return {
        name: REDACTED if looks_secret(name) else _clean(value)
        for name, value in record.__dict__.items()
        if name not in _STANDARD and name != "event" and not name.startswith("_")
    }


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event(record: logging.LogRecord) -> str:
    event = getattr(record, "event", None)
    return str(event) if event else "log"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event, message, the extra fields, then exc if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "event": _event(record),
            "message": scrub(record.getMessage()),
        }
        line.update((k, v) for k, v in fields_of(record).items() if k not in line)
        if record.exc_info:
            line["exc"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = scrub(record.exc_text)
        if record.stack_info:
            line["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=repr)


class TextFormatter(logging.Formatter):
    """A human line: ``<ts> <LEVEL> <logger> <message> event=… key=value…``; a traceback follows on its own lines."""

    converter = staticmethod(time.gmtime)

    def format(self, record: logging.LogRecord) -> str:
        pairs = [f"event={_event(record)}"] if getattr(record, "event", None) else []
        pairs += [f"{k}={_text(v)}" for k, v in fields_of(record).items()]
        line = f"{_timestamp(record)} {record.levelname} {record.name} {scrub(record.getMessage())}"
        if pairs:
            line += " " + " ".join(pairs)
        if record.exc_info:
            line += "\n" + scrub(self.formatException(record.exc_info))
        if record.stack_info:
            line += "\n" + scrub(self.formatStack(record.stack_info))
        return line


def _text(value: object) -> str:
    if isinstance(value, str) and value and not any(c.isspace() or c in '"=' for c in value):
        return value
    if isinstance(value, str | dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)
    return str(value)


def configure(level: str, fmt: LogFormat = "json") -> None:
    """Configure the root logger once; FastStream's per-message access log is kept at WARNING."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("faststream").setLevel(logging.WARNING)
    logging.getLogger("faststream.access").setLevel(logging.WARNING)
