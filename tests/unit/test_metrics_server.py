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


async def test_a_server_that_fails_stops_the_service_and_one_stopped_on_purpose_does_not() -> None:
    async def fails() -> None:
        raise ImportError("no module named httptools")

    stop = asyncio.Event()
    failures = app.stop_when_ended(asyncio.create_task(fails()), stop)
    await asyncio.wait_for(stop.wait(), 5)
    assert [type(f) for f in failures] == [ImportError]

    stop = asyncio.Event()
    serving = asyncio.Event()

    async def serves() -> None:
        serving.set()
        await stop.wait()

    task = asyncio.create_task(serves())
    failures = app.stop_when_ended(task, stop)
    await serving.wait()
    stop.set()  # the service asks it to end
    await task
    await asyncio.sleep(0)
    assert failures == []

    stop = asyncio.Event()
    task = asyncio.create_task(asyncio.sleep(0))  # returns by itself while the service still runs
    failures = app.stop_when_ended(task, stop)
    await asyncio.wait_for(stop.wait(), 5)
    assert len(failures) == 1 and "by itself" in str(failures[0])
