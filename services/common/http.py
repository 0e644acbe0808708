"""Operator routes both services expose: `/health` (live), `/ready` (dependencies answer), `/metrics`; the
application they are served by, whose every answer carries `X-Content-Type-Options: nosniff`; and its server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Check = Callable[[], Awaitable[tuple[bool, str]]]


def operator_routes(*, live: Check, ready: Check, registry: CollectorRegistry) -> list[BaseRoute]:
    """Routes answering 200 or 503 with a JSON body saying why."""

    async def health(_: Request) -> Response:
        ok, why = await live()
        return JSONResponse({"status": "ok" if ok else "unhealthy", "detail": why}, status_code=200 if ok else 503)

    async def readiness(_: Request) -> Response:
        ok, why = await ready()
        return JSONResponse({"status": "ready" if ok else "not ready", "detail": why}, status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [Route("/health", health), Route("/ready", readiness), Route("/metrics", metrics)]


class NoSniff:
    """ASGI middleware: every HTTP answer says `X-Content-Type-Options: nosniff`, so a browser never guesses a
    type other than the one declared (a CSV or an error text is never run as HTML or script)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Content-Type-Options"] = "nosniff"
            await send(message)

        await self.app(scope, receive, send_nosniff)


class ServiceApp(Starlette):
    """Starlette with `NoSniff` outside everything, Starlette's own 500 answer included (user middleware sits
    inside the error middleware and would miss it)."""

    def build_middleware_stack(self) -> ASGIApp:
        return NoSniff(super().build_middleware_stack())


def build_app(routes: Sequence[BaseRoute]) -> Starlette:
    return ServiceApp(routes=list(routes))


def http_server(app: ASGIApp, *, host: str, port: int, http: Literal["auto", "httptools"] = "auto") -> uvicorn.Server:
    """A service's HTTP server. uvicorn's own logging set-up is left out (`log_config=None`): its records go to the
    root logger the service configured (services.common.logs), so an error line such as "Exception in ASGI
    application" is JSON like every other line instead of uvicorn's text; warnings and above only, and no access
    log (a record per request, dropped by that level anyway, is work on the event loop every other request waits
    behind)."""
    config = uvicorn.Config(
        app, host=host, port=port, http=http, log_config=None, log_level="warning", access_log=False, lifespan="off"
    )
    return uvicorn.Server(config)
