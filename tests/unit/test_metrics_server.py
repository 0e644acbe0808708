"""The metrics API's HTTP server options."""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from services.common.http import build_app
from services.metrics.app import api_server
from services.metrics.settings import MetricsSettings


def test_the_api_parses_requests_with_httptools() -> None:
    config = api_server(build_app([]), MetricsSettings()).config
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
