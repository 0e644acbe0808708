"""`GET /openapi.json` of the metrics service, derived from models: the query models of `queries` give each route's
parameters, the answer models below give the response schemas (`models_json_schema`), the package gives the
version. The answer models document what the routes write; the routes do not build their answers through them
(the JSON pages are written by ClickHouse), so the unit and fuzz tests check the answers against them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Final

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from services.common.cli import package_version

from .catalog import REASONS
from .queries import (
    DEFAULT_LIMIT,
    KEY,
    MAX_LIMIT,
    FacetsQuery,
    IndicatorsQuery,
    OneOf,
    OrgUnitsQuery,
    openapi_parameters,
)


class IndicatorRow(BaseModel):
    """One cell; a suppressed cell has no value and no population, and says why."""

    indicator: str
    period_kind: str
    period: date
    dimension: str
    slice: str
    category: str
    value: float | None
    numerator: float | None
    denominator: float | None
    workers: int = Field(description="the cell's population; 0 when suppressed (hidden)")
    suppressed: bool
    reason: Annotated[str, OneOf(("", *REASONS))] = Field(
        description="why a suppressed cell is hidden, '' when published (/indicators/labels)"
    )


class IndicatorPage(BaseModel):
    rows: list[IndicatorRow]
    count: int = Field(description="rows in this page")
    next: str | None = Field(description="relative URL of the next page; null: last")


class CatalogEntry(BaseModel):
    indicator: str
    name_zh: str
    name_en: str
    unit: str
    formula: str
    formula_zh: str
    standard: str
    topic: str


class Names(BaseModel):
    zh: str
    en: str


class PublishedFact(BaseModel):
    indicator: str
    category: str
    value: int
    from_year: int
    to_year: int
    zh: str
    en: str


class Labels(BaseModel):
    """zh/en names by code of every table, and the published facts."""

    topics: dict[str, Names]
    dimensions: dict[str, Names]
    period_kinds: dict[str, Names]
    org_levels: dict[str, Names]
    categories: dict[str, Names]
    slices: dict[str, Names]
    reasons: dict[str, Names]
    published_facts: list[PublishedFact]


class Status(BaseModel):
    as_of: date | None
    refreshed_at: datetime | None
    events_seen_to: datetime | None
    k: int = Field(description="cells with fewer workers than k are suppressed")


class OrgUnit(BaseModel):
    """An org unit as last registered; an empty string is no parent / district / street."""

    unit_id: str
    parent_id: str
    level: str
    name_zh: str
    name_en: str
    service_model: str
    district_id: str
    street_id: str


class Facet(BaseModel):
    dimensions: list[str]
    categories: list[str]
    from_: date = Field(alias="from")
    to: date


class Facets(BaseModel):
    indicator: str
    period_kinds: dict[str, Facet] = Field(description="per period kind: dimensions, categories, period range")


class Error(BaseModel):
    error: str


class BadRequestBody(BaseModel):
    """A refused query string: which parameter, why, and (for a closed list) what it accepts."""

    error: str
    parameter: str
    accepted: list[str] = Field(default=[])


ANSWERS: Final[tuple[type[BaseModel], ...]] = (
    IndicatorPage,
    CatalogEntry,
    Labels,
    Status,
    OrgUnit,
    Facets,
    Error,
    BadRequestBody,
)
_STRING: Final[dict[str, Any]] = {"type": "string"}
INDICATORS_DESCRIPTION: Final = (
    f"Rows in key order ({', '.join(KEY)}), at most `limit` per answer (default {DEFAULT_LIMIT}, at most "
    f"{MAX_LIMIT}); follow `next` (JSON) or the Link rel=next header (CSV) until it is null / absent: no answer is "
    "ever truncated without saying so. Unknown parameter names and unknown values of indicator, period_kind, "
    "dimension and format are a 400 naming the parameter and listing the accepted values. CSV text cells (the key "
    "columns) starting with = + - @ tab or CR are prefixed with ' (CSV injection); numeric columns stay numbers."
)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route the metrics service serves."""
    refs, components = models_json_schema(
        [(model, "serialization") for model in ANSWERS], ref_template="#/components/schemas/{model}"
    )
    ref = {model: refs[(model, "serialization")] for model in ANSWERS}

    def json_answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    def many(model: type[BaseModel]) -> dict[str, Any]:
        return {"type": "array", "items": ref[model]}

    def get(summary: str, responses: dict[str, Any], **more: Any) -> dict[str, Any]:
        return {"get": {"summary": summary, **more, "responses": responses}}

    def page(summary: str, **more: Any) -> dict[str, Any]:
        return get(f"analyst pages (HTML): {summary}", {"200": {"description": "HTML"}}, **more)

    store_errors = {
        "503": {
            **json_answer("ClickHouse is unavailable; retry after Retry-After seconds", ref[Error]),
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
        },
        "500": json_answer("ClickHouse refused the query", ref[Error]),
    }
    refused = json_answer("a parameter is unknown or invalid", ref[BadRequestBody])
    in_path = [{"name": name, "in": "path", "required": True, "schema": _STRING} for name in ("page", "asset")]
    page_headers = {
        "Link": {"schema": _STRING, "description": '<next page URL>; rel="next" (if any)'},
        "Content-Disposition": {"schema": _STRING, "description": "CSV: attachment"},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "workforce-metrics indicators",
            "version": package_version(),
            "description": "Every answer carries X-Content-Type-Options: nosniff.",
        },
        "paths": {
            "/indicators": {
                "get": {
                    "summary": "Indicator cells (a suppressed cell has no value and no population, and says why), "
                    "one page",
                    "description": INDICATORS_DESCRIPTION,
                    "parameters": openapi_parameters(IndicatorsQuery),
                    "responses": {
                        "200": {
                            "description": "one page",
                            "headers": page_headers,
                            "content": {
                                "application/json": {"schema": ref[IndicatorPage]},
                                "text/csv": {"schema": _STRING},
                            },
                        },
                        "400": refused,
                        **store_errors,
                    },
                },
                "head": {
                    "summary": "The headers GET would answer; the parameters are checked, the query is not run",
                    "parameters": openapi_parameters(IndicatorsQuery),
                    "responses": {"200": {"description": "headers"}, "400": {"description": "as GET"}},
                },
            },
            "/indicators/catalog": get(
                "Every indicator: names zh/en, unit, formula, standard, topic",
                {"200": json_answer("catalog", many(CatalogEntry))},
            ),
            "/indicators/labels": get(
                "zh/en labels of topics, dimensions, period kinds, org levels, categories, slice values; "
                "the published facts",
                {"200": json_answer("labels", ref[Labels])},
            ),
            "/indicators/status": get(
                "The latest refresh (nulls before the first) and the suppression threshold k",
                {"200": json_answer("status", ref[Status]), **store_errors},
            ),
            "/org-units": get(
                "Org units as last registered; an empty string is no parent / district / street",
                {"200": json_answer("org units", many(OrgUnit)), "400": refused, **store_errors},
                parameters=openapi_parameters(OrgUnitsQuery),
            ),
            "/openapi.json": get("This document", {"200": {"description": "OpenAPI 3.1"}}),
            "/": page("start page"),
            "/pages/{page}": page("one page by name", parameters=in_path[:1]),
            "/static/{asset}": get(
                "analyst pages: their scripts and styles",
                {"200": {"description": "JavaScript or CSS"}, "404": {"description": "no such file"}},
                parameters=in_path[1:],
            ),
            "/indicators/facets": get(
                "For the analyst pages: per period kind, the dimensions, categories and period range an indicator has",
                {"200": json_answer("facets", ref[Facets]), "400": refused, **store_errors},
                parameters=openapi_parameters(FacetsQuery),
            ),
            "/health": get("liveness; never asks ClickHouse", {"200": {"description": "ok"}}),
            "/ready": get(
                "ClickHouse reachable and indicators published",
                {"200": {"description": "ready"}, "503": {"description": "not ready"}},
            ),
            "/metrics": get("Prometheus metrics", {"200": {"description": "text"}}),
        },
        "components": {"schemas": components["$defs"]},
    }


OPENAPI: Final = openapi_document()
