"""Operator routes both services expose: `/health` (live), `/ready` (dependencies answer), `/metrics`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

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


def build_app(routes: Sequence[BaseRoute]) -> Starlette:
    return Starlette(routes=list(routes))
