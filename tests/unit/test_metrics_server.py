"""The metrics API's HTTP server options."""

from __future__ import annotations

import asyncio

import pytest
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from services.common.http import build_app
from services.metrics import app
from services.metrics.app import api_server
from services.metrics.settings import MetricsSettings


def test_the_api_parses_requests_with_httptools() -> None:
    config = api_server(build_app([]), MetricsSettings()).config
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol


def test_the_service_runs_on_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    async def on_uvloop(_: MetricsSettings) -> int:
        return int(isinstance(asyncio.get_running_loop(), uvloop.Loop))

    monkeypatch.setattr(app, "serve", on_uvloop)
    assert app.run(MetricsSettings()) == 1
