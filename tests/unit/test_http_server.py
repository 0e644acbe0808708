"""The services' HTTP server: its log lines are the service's own JSON lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from services.common.http import build_app, http_server
from services.common.logs import configure


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_uvicorns_error_lines_are_json_lines_of_the_service(
    root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("info", "json")
    http_server(build_app([]), host="127.0.0.1", port=0).config.load()  # sets uvicorn's loggers up as it serves
    logging.getLogger("uvicorn.error").error("Exception in ASGI application")
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines, "the error line went nowhere"
    record = json.loads(lines[-1])  # uvicorn's own formatter wrote "ERROR:    Exception in ASGI application"
    assert record["level"] == "ERROR" and "Exception in ASGI application" in json.dumps(record)


def test_no_access_log_record_per_request() -> None:
    http_server(build_app([]), host="127.0.0.1", port=0).config.load()
    assert not logging.getLogger("uvicorn.access").hasHandlers()
