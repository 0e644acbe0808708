"""Read API: `GET /indicators` (JSON or CSV), `GET /indicators/catalog`, `GET /openapi.json`.

Request values are always bound as query parameters, never formatted into SQL.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.common.clickhouse import ClickHouse

from .catalog import BY_NAME, CATALOG
from .publish import COLUMNS

FIELDS: Final = COLUMNS[:-1]
"""Every published column but `computed_at`."""
MAX_ROWS: Final = 200_000


class BadRequest(ValueError):
    """A query string the API cannot answer; the message says which parameter and why."""


def build_query(params: Any) -> tuple[str, dict[str, Any]]:
    """Query string → (SQL with placeholders, bound values). Pure: tested without a server."""
    names = params.getlist("indicator")
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise BadRequest(f"unknown indicator(s): {', '.join(unknown)}; see /indicators/catalog")
    where: list[str] = []
    bound: dict[str, Any] = {}
    if names:
        where.append("indicator IN %(indicators)s")
        bound["indicators"] = names
    for key in ("period_kind", "dimension", "slice", "category"):
        values = params.getlist(key)
        if values:
            where.append(f"{key} IN %({key})s")
            bound[key] = values
    for key, op in (("from", ">="), ("to", "<=")):
        if key in params:
            bound[key] = _date(key, params[key])
            where.append(f"period {op} %({key})s")
    limit = _int("limit", params.get("limit", str(MAX_ROWS)), 1, MAX_ROWS)
    sql = (
        f"SELECT {', '.join(FIELDS)} FROM indicators"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY indicator, period_kind, dimension, slice, category, period LIMIT %(limit)s"
    )
    bound["limit"] = limit
    return sql, bound


def _date(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name}: expected a date YYYY-MM-DD, got {raw!r}") from None


def _int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name}: must be between {low} and {high}")
    return value


def as_records(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        record = dict(zip(FIELDS, row, strict=True))
        record["period"] = record["period"].isoformat()
        record["suppressed"] = bool(record["suppressed"])
        out.append(record)
    return out


def as_csv(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: ("" if v is None else v) for k, v in record.items()})
    return buffer.getvalue()


def routes(store: ClickHouse) -> list[Route]:
    import asyncio

    async def indicators(request: Request) -> Response:
        try:
            sql, bound = build_query(request.query_params)
        except BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        rows = await asyncio.to_thread(store.query_rows, sql, bound)
        records = as_records(rows)
        if request.query_params.get("format") == "csv":
            return Response(as_csv(records), media_type="text/csv; charset=utf-8")
        return JSONResponse({"rows": records, "count": len(records)})

    async def catalog(_: Request) -> Response:
        return JSONResponse(
            [
                {
                    "indicator": i.name,
                    "name_zh": i.name_zh,
                    "name_en": i.name_en,
                    "unit": i.unit,
                    "formula": i.formula,
                    "standard": i.standard,
                }
                for i in CATALOG
            ]
        )

    async def openapi(_: Request) -> Response:
        return JSONResponse(OPENAPI)

    return [Route("/indicators", indicators), Route("/indicators/catalog", catalog), Route("/openapi.json", openapi)]


def _param(name: str, description: str, *, many: bool = False, fmt: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if fmt:
        schema["format"] = fmt
    if many:
        schema = {"type": "array", "items": schema}
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **({"explode": True} if many else {}),
    }


OPENAPI: Final[dict[str, Any]] = {
    "openapi": "3.1.0",
    "info": {"title": "workforce-metrics indicators", "version": "1"},
    "paths": {
        "/indicators": {
            "get": {
                "summary": "Indicator cells (suppressed cells have no value)",
                "parameters": [
                    _param("indicator", "indicator name(s) from /indicators/catalog", many=True),
                    _param("period_kind", "month, year, rolling12 or cohort", many=True),
                    _param("dimension", "all, org, service_model, source_channel, gender, age_band", many=True),
                    _param("slice", "slice value(s), e.g. an org unit id", many=True),
                    _param("category", "category, e.g. a separation reason", many=True),
                    _param("from", "first period (inclusive)", fmt="date"),
                    _param("to", "last period (inclusive)", fmt="date"),
                    _param("format", "json (default) or csv"),
                    _param("limit", f"at most this many rows (≤ {MAX_ROWS})"),
                ],
                "responses": {"200": {"description": "rows"}, "400": {"description": "a parameter is invalid"}},
            }
        },
        "/indicators/catalog": {
            "get": {
                "summary": "Every indicator: names zh/en, unit, formula, standard",
                "responses": {"200": {"description": "catalog"}},
            }
        },
        "/health": {"get": {"summary": "liveness", "responses": {"200": {"description": "ok"}}}},
        "/ready": {
            "get": {
                "summary": "ClickHouse reachable and indicators published",
                "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}},
            }
        },
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text"}}}},
    },
}
